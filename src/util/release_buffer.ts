/**
 * Frees the memory behind a byte array at once, instead of when the garbage collector next gets
 * to it.
 *
 * V8 frees an ArrayBuffer's memory only when it collects the buffer object, and an isolate that
 * allocates few objects of its own (the Parquet encoder worker; the main thread streaming the
 * server's CSV) collects rarely, while large buffers pass through it quickly: dead batches and
 * socket chunks piled up to tens of MB each time, and the memory they left behind stayed in the
 * process. Detaching the buffer (`ArrayBuffer.prototype.transfer(0)`) hands its memory back
 * immediately and leaves every view of it empty, so only the one holder of the buffer may call
 * this, once it is done with the bytes.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { releaseBuffer } from "./release_buffer.ts";
 *
 * const bytes = new Uint8Array(1 << 20);
 * releaseBuffer(bytes);
 * assert.equal(bytes.length, 0);
 * assert.ok(bytes.buffer.detached);
 * ```
 *
 * @module
 */

/** Releases the whole buffer behind `bytes` (any typed array), which nothing else may still use. */
export function releaseBuffer(bytes: ArrayBufferView): void {
  (bytes.buffer as ArrayBuffer).transfer(0);
}
