/**
 * The Parquet encoder workers (`parquet_encoder.ts`), kept between files: starting one loads the
 * Parquet engine's WebAssembly into a fresh isolate (about 0.2 s), which a chunked export would
 * otherwise pay per window and per part.
 *
 * A worker that finished its file cleanly goes back to the pool, unless that file left its
 * WebAssembly memory outsized ({@link keepsEncoder}); one that failed is terminated, since its
 * encoder may be in any state. An idle worker keeps the process alive, so idle workers
 * are terminated after {@link IDLE_MS}, and at once by {@link closeEncoders} when a run ends.
 *
 * @module
 */
import { fileURLToPath as fromFileUrl } from "node:url";

/** How long an idle worker waits for its next file. */
export const IDLE_MS = 2_000;

const idle: Worker[] = [];
let timer: ReturnType<typeof setTimeout> | undefined;

/** An encoder worker, idle or new; the caller owns it until it releases or discards it. */
export function acquireEncoder(): Worker {
  const reused = idle.pop();
  if (reused) return reused;
  requireModuleRead();
  return new Worker(new URL("./parquet_encoder.ts", import.meta.url), { type: "module" });
}

/**
 * Deno reads a worker's modules under the read permission when they are local files (run from a
 * checkout, not from JSR or a compiled binary). Without it the worker dies as it starts, naming
 * one file; this names the program's `src/` directory, which holds all of them.
 */
function requireModuleRead(): void {
  const src = new URL("../", import.meta.url);
  if (src.protocol !== "file:") return;
  const path = fromFileUrl(src).replace(/[\\/]+$/, "");
  if (Deno.permissions.requestSync({ name: "read", path }).state === "granted") return;
  throw new Deno.errors.NotCapable(
    `Requires read access to "${path}", run again with the --allow-read flag (the Parquet encoder worker's modules)`,
  );
}

/**
 * Starts a worker ahead of the first file when none is idle, so that loading the Parquet engine
 * overlaps with connecting and planning instead of delaying the first batch. It waits in the idle
 * pool, with the same timeout as any released worker.
 */
export function prepareEncoder(): void {
  if (idle.length > 0) return;
  park(acquireEncoder());
}

/**
 * Returns a worker whose file finished cleanly, for the next file, unless its WebAssembly memory
 * (`wasmBytes`, as the encoder reported it) grew past what files with row groups of
 * `rowGroupBytes` leave ({@link keepsEncoder}): then it is terminated, which frees that memory.
 */
export function releaseEncoder(worker: Worker, wasmBytes: number, rowGroupBytes: number): void {
  worker.onmessage = null;
  worker.onerror = null;
  if (keepsEncoder(wasmBytes, rowGroupBytes)) park(worker);
  else worker.terminate();
}

/** Puts `worker` in the idle pool, for at most {@link IDLE_MS}. */
function park(worker: Worker): void {
  idle.push(worker);
  clearTimeout(timer);
  timer = setTimeout(closeEncoders, IDLE_MS);
  // Waiting for a next file that may never come must not keep the process alive.
  Deno.unrefTimer(timer);
}

/**
 * Whether a worker whose WebAssembly memory grew to `wasmBytes` is worth keeping. That memory
 * never shrinks: it grows to a few row groups' worth (36-75 MB with the default 8 MiB row groups),
 * but a file with an outsized row, whose value arrow-rs copies several times over, leaves it far
 * larger (a 95 MB text value: 574 MB), and a kept worker would hold that for the rest of the
 * run. Past the larger of 128 MiB and 16 row groups, the next file starts a fresh worker instead
 * (about 0.2 s).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { keepsEncoder } from "./encoder_pool.ts";
 *
 * const MiB = 1024 * 1024;
 * assert.ok(keepsEncoder(75 * MiB, 8 * MiB));
 * assert.ok(!keepsEncoder(574 * MiB, 8 * MiB));
 * assert.ok(keepsEncoder(574 * MiB, 64 * MiB)); // row groups that large need that much
 * ```
 */
export function keepsEncoder(wasmBytes: number, rowGroupBytes: number): boolean {
  return wasmBytes <= Math.max(MAX_KEPT_WASM_BYTES, 16 * rowGroupBytes);
}

/** See {@link keepsEncoder}. */
const MAX_KEPT_WASM_BYTES = 128 * 1024 * 1024;

/** Terminates a worker that failed, or whose file was abandoned. */
export function discardEncoder(worker: Worker): void {
  worker.terminate();
}

/** Terminates every idle worker (when a run ends, so that the process can exit at once). */
export function closeEncoders(): void {
  clearTimeout(timer);
  timer = undefined;
  for (const worker of idle.splice(0)) worker.terminate();
}
