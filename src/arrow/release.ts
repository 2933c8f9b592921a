/**
 * Gives a written batch's column buffers back at once, for the builders' next arrays
 * (`recycle.ts`), instead of leaving them to the garbage collector.
 *
 * Every batch a source yields holds 4 MiB or so of buffers, and the main thread allocates few
 * objects of its own, so V8 collected dead batches rarely: they piled up to ~50 MB of the
 * process's memory on a 1 M-row mixed table, and the fresh memory of each new batch cost page
 * faults. Given back as soon as the batch is written, the same memory holds the next batches.
 * Only the one holder of the batch may call this: every view of a released buffer is left empty.
 * Buffers below `MIN_RECYCLED_BYTES` are left to the collector: they cost it little, and a small
 * buffer is the kind a library might share between batches (an empty bitmap, a constant).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { tableFromArrays } from "apache-arrow";
 * import { releaseBatch } from "./release.ts";
 *
 * const [batch] = tableFromArrays({ id: new Int32Array(100_000) }).batches;
 * releaseBatch(batch);
 * assert.equal(batch.numRows, 100_000);
 * assert.equal(batch.getChild("id")?.data[0].values.length, 0);
 * ```
 *
 * @module
 */
import type { Data, RecordBatch } from "apache-arrow";
import { MIN_RECYCLED_BYTES, recycleBuffer } from "./recycle.ts";

/** Releases the buffers behind `batch`'s columns, which nothing may read afterwards. */
export function releaseBatch(batch: RecordBatch): void {
  release(batch.data);
}

function release(data: Data): void {
  for (const view of [data.values, data.valueOffsets, data.nullBitmap, data.typeIds]) {
    // A buffer two views share is released by the first; a view over a SharedArrayBuffer (never
    // made by rivet's builders) cannot be.
    const buffer = view?.buffer;
    if (
      buffer instanceof ArrayBuffer && !buffer.detached && buffer.byteLength >= MIN_RECYCLED_BYTES
    ) {
      recycleBuffer(buffer);
    }
  }
  for (const child of data.children) release(child);
}
