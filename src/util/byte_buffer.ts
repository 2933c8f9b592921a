/**
 * A growable byte buffer that byte-level writers fill in place: they ask for room once, then
 * index {@link ByteBuffer.bytes} directly, with no call and no bounds check per byte.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ByteBuffer } from "./byte_buffer.ts";
 *
 * const buffer = new ByteBuffer(2);
 * buffer.reserve(3); // grows, keeping what is written
 * buffer.bytes[buffer.at++] = 0x68;
 * buffer.bytes[buffer.at++] = 0x69;
 * assert.equal(new TextDecoder().decode(buffer.bytes.subarray(0, buffer.at)), "hi");
 *
 * buffer.at = 0; // spent
 * buffer.shrink(2);
 * assert.equal(buffer.bytes.length, 2); // the starting size again
 * ```
 *
 * @module
 */

/** Bytes written so far, then room for the next. */
export class ByteBuffer {
  /** What is written, `[0, at)`, then free room; replaced by a larger array when it grows. */
  bytes: Uint8Array;
  /** Where the next byte goes. */
  at = 0;
  readonly #size: number;

  /** A buffer of `size` bytes to start with. */
  constructor(size: number) {
    this.#size = size;
    this.bytes = new Uint8Array(size);
  }

  /**
   * Goes back to an array of the starting size when this one grew past `keepBytes`, which one
   * outsized value does: kept, it would hold that memory for as long as the buffer is used. Only
   * for when nothing written is needed any more.
   */
  shrink(keepBytes: number): void {
    if (this.bytes.length > keepBytes) this.bytes = new Uint8Array(this.#size);
  }

  /** Makes room for `more` bytes after {@link at}, keeping what is written. */
  reserve(more: number): void {
    const needed = this.at + more;
    if (needed <= this.bytes.length) return;
    const next = new Uint8Array(Math.max(needed, 2 * this.bytes.length));
    next.set(this.bytes.subarray(0, this.at));
    this.bytes = next;
  }
}
