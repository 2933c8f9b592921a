/**
 * Column memory passed from written batches back to the builders of the next ones.
 *
 * A builder used to hand each batch an exact copy of its arrays (a `slice` per column), so every
 * batch cost a copy of its bytes plus freshly allocated memory, whose first touch is a page fault
 * per 4 KB; the written batch's memory was then freed (`release.ts`). Now a builder hands its
 * arrays themselves to the batch ({@link handOver}), as views of the rows it holds, and goes on in
 * memory of the same size that a written batch gave back ({@link recycleBuffer}). On 1 M mixed
 * rows → Parquet that took 5-6% of the CPU time, 8% on TPC-H `lineitem` and on 2 KB text rows.
 *
 * Recycled memory holds the old batch's bytes: builders write every slot they hand out (a NULL's
 * too) and must not rely on zeroes. Memory kept for reuse is bounded ({@link MAX_KEPT_BYTES});
 * past it, the oldest is freed.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { handOver, recycleBuffer } from "./recycle.ts";
 *
 * const values = new Float64Array(16_384).fill(2.5); // 128 KB: recycled
 * const [batch, next] = handOver(values, 10);
 * assert.equal(batch.length, 10); // the batch's rows, in the builder's own memory
 * assert.equal(next.length, values.length); // the builder goes on in memory of the same size
 *
 * recycleBuffer(batch.buffer as ArrayBuffer); // the batch was written
 * assert.equal(batch.length, 0); // every view of it is left empty
 * const [, reused] = handOver(next, 0);
 * assert.equal(reused[0], 2.5); // the written batch's memory, with its old bytes
 * ```
 *
 * @module
 */

/**
 * Arrays below this are copied out and kept by their builder, as before: small copies cost little,
 * and `release.ts` leaves small buffers to the garbage collector (a library may share them).
 */
export const MIN_RECYCLED_BYTES = 64 * 1024;

/**
 * Most bytes kept for reuse: about two batches of the default 4 MiB budget with their builders'
 * room to grow, which is what is in flight between building a batch and writing the one before.
 */
const MAX_KEPT_BYTES = 16 * 1024 * 1024;

/** Buffers given back, oldest first. */
const kept: ArrayBuffer[] = [];
let keptBytes = 0;

/** The typed arrays builders keep their columns in. */
export type ColumnArray =
  | Uint8Array
  | Int16Array
  | Int32Array
  | Uint32Array
  | Float32Array
  | Float64Array
  | BigInt64Array
  | BigUint64Array;

/**
 * A builder's batch: the view of `array`'s first `used` elements, and the array to go on with.
 * A small array is copied out and kept; a large one goes to the batch, and the builder goes on in
 * recycled memory of the size {@link nextByteLength} picks (or new memory when none of that size
 * was given back), whose contents are not zeroes.
 */
export function handOver<A extends ColumnArray>(array: A, used: number): [A, A] {
  if (array.byteLength < MIN_RECYCLED_BYTES) return [array.slice(0, used) as A, array];
  const Make = array.constructor as new (buffer: ArrayBuffer) => A;
  const next = nextByteLength(array.byteLength, used * array.BYTES_PER_ELEMENT);
  return [array.subarray(0, used) as A, new Make(takeBuffer(next))];
}

/**
 * The size of the array a builder goes on in, after handing over one of `byteLength` bytes that
 * held `usedBytes` of the batch: the same size, so that batches of a steady width never regrow
 * and reuse each other's memory; but when the array outgrew all that is kept for reuse, a size
 * fitting the batch just handed over (twice its bytes, in the same power-of-two steps the
 * builders grow by), if that is smaller.
 *
 * One outsized value (a 50 MB document among rows of 100 bytes) grows its builder's array to
 * match, and memory that large never comes back from the pool: kept at that size, the array was
 * allocated anew for every later batch, and the collector ran a full collection every few
 * batches for the external memory they announced. On 1 M rows of 96-byte text after one 50 MB
 * value, PostgreSQL → CSV took 4.1 s of CPU instead of 1.4 s, → Parquet 5.8 s instead of 2.8 s.
 * Two batches after the outlier, the array is back to the size the rows need.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { nextByteLength } from "./recycle.ts";
 *
 * const MiB = 1024 * 1024;
 * assert.equal(nextByteLength(8 * MiB, 10), 8 * MiB); // kept for reuse: same size
 * assert.equal(nextByteLength(64 * MiB, 50 * MiB), 64 * MiB); // the outlier's own batch
 * assert.equal(nextByteLength(64 * MiB, 3 * MiB), 8 * MiB); // the batch after it
 * ```
 */
export function nextByteLength(byteLength: number, usedBytes: number): number {
  if (byteLength <= MAX_KEPT_BYTES) return byteLength;
  let fitting = MIN_RECYCLED_BYTES;
  while (fitting < 2 * usedBytes) fitting *= 2;
  return Math.min(byteLength, fitting);
}

/**
 * {@link handOver} for an offsets array (Utf8, Binary, List): the one the builder goes on with
 * starts at offset 0, which recycled memory does not hold and appending never writes.
 */
export function handOverOffsets<A extends Int32Array>(offsets: A, used: number): [A, A] {
  const [view, next] = handOver(offsets, used);
  next[0] = 0;
  return [view, next];
}

/**
 * Takes back `buffer`, which nothing may use any more (a written batch's), for the builders'
 * next arrays; every view of it is left empty, as `util/release_buffer.ts` leaves them. Buffers
 * that builders cannot reuse (resizable ones, or ones larger than all that is kept) are freed.
 */
export function recycleBuffer(buffer: ArrayBuffer): void {
  const length = buffer.byteLength;
  if (buffer.resizable || length > MAX_KEPT_BYTES) {
    buffer.transfer(0);
    return;
  }
  while (keptBytes + length > MAX_KEPT_BYTES) {
    const oldest = kept.shift()!;
    keptBytes -= oldest.byteLength;
    oldest.transfer(0);
  }
  // The same memory, now owned by a new buffer object: the batch's views are detached.
  kept.push(buffer.transfer());
  keptBytes += length;
}

/**
 * Frees every kept buffer (when a run ends, so that a program running exports in a long-lived
 * process does not keep the last batches' memory).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { dropRecycled, handOver, recycleBuffer } from "./recycle.ts";
 *
 * const [batch, next] = handOver(new Int32Array(32_768).fill(7), 100);
 * recycleBuffer(batch.buffer as ArrayBuffer);
 * dropRecycled();
 * const [, fresh] = handOver(next, 0);
 * assert.equal(fresh[0], 0); // new memory: the written batch's was freed
 * ```
 */
export function dropRecycled(): void {
  for (const buffer of kept.splice(0)) buffer.transfer(0);
  keptBytes = 0;
}

/** A kept buffer of exactly `byteLength` bytes (the most recent), else a new one. */
function takeBuffer(byteLength: number): ArrayBuffer {
  for (let i = kept.length - 1; i >= 0; i--) {
    if (kept[i].byteLength === byteLength) {
      const [buffer] = kept.splice(i, 1);
      keptBytes -= byteLength;
      return buffer;
    }
  }
  return new ArrayBuffer(byteLength);
}
