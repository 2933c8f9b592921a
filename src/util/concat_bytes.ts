/**
 * Byte arrays joined into one new array of its own: a buffer nothing else shares, so it can be
 * transferred to another thread or released (`release_buffer.ts`) by whoever holds it.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { concatBytes } from "./concat_bytes.ts";
 *
 * const whole = concatBytes([Uint8Array.of(1, 2), new Uint8Array(0), Uint8Array.of(3)]);
 * assert.deepEqual(whole, Uint8Array.of(1, 2, 3));
 * assert.equal(whole.buffer.byteLength, 3);
 * ```
 *
 * @module
 */

/** `parts`, in order, copied into one new array. */
export function concatBytes(parts: readonly Uint8Array[]): Uint8Array<ArrayBuffer> {
  let length = 0;
  for (const part of parts) length += part.length;
  const out = new Uint8Array(length);
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}
