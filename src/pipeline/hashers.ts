/**
 * The xxHash hashers behind `meta_columns.row_hash` (XXH128) and the `unique_columns` checks
 * (XXH64), loaded only by the exports that use them: hash-wasm instantiates its WebAssembly when
 * a hasher is created, start-up time and memory every other run would pay for.
 *
 * An export that hashes awaits {@link loadHashers} as it starts; the hot paths then take a hasher
 * synchronously. Each is shared by every piece: its users hash one value from `init` to `digest`
 * without awaiting, so concurrent pieces never interleave on it.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { loadHashers, xxHash64 } from "./hashers.ts";
 *
 * await loadHashers();
 * const hasher = xxHash64();
 * hasher.init();
 * hasher.update("rivet");
 * assert.equal(hasher.digest("hex").length, 16);
 * ```
 *
 * @module
 */
import type { IHasher } from "hash-wasm";
import type { ExportConfig } from "../config/types.ts";

let xx64: IHasher | undefined;
let xx128: IHasher | undefined;

/** Whether `exp` hashes rows or values (`row_hash`, or a `unique_columns` check). */
export function hashesValues(exp: ExportConfig): boolean {
  return exp.metaColumns.rowHash || (exp.quality?.uniqueColumns.length ?? 0) > 0;
}

/** Loads hash-wasm and creates both hashers, once per process. */
export async function loadHashers(): Promise<void> {
  if (xx64 && xx128) return;
  const { createXXHash64, createXXHash128 } = await import("hash-wasm");
  [xx64, xx128] = await Promise.all([createXXHash64(), createXXHash128()]);
}

/** The shared XXH64 hasher; {@link loadHashers} must have resolved. */
export function xxHash64(): IHasher {
  return xx64 ?? notLoaded();
}

/** The shared XXH128 hasher; {@link loadHashers} must have resolved. */
export function xxHash128(): IHasher {
  return xx128 ?? notLoaded();
}

function notLoaded(): never {
  throw new Error("hash-wasm is not loaded: await loadHashers() as the export starts");
}
