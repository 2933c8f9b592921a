/**
 * The Parquet encoder workers (`parquet_encoder.ts`), kept between files: starting one loads the
 * Parquet engine's WebAssembly into a fresh isolate (about 0.2 s), which a chunked export would
 * otherwise pay per window and per part.
 *
 * A worker that finished its file cleanly goes back to the pool; one that failed is terminated,
 * since its encoder may be in any state. An idle worker keeps the process alive, so idle workers
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
  releaseEncoder(acquireEncoder());
}

/** Returns a worker whose file finished cleanly, for the next file. */
export function releaseEncoder(worker: Worker): void {
  worker.onmessage = null;
  worker.onerror = null;
  idle.push(worker);
  clearTimeout(timer);
  timer = setTimeout(closeEncoders, IDLE_MS);
  // Waiting for a next file that may never come must not keep the process alive.
  Deno.unrefTimer(timer);
}

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
