/**
 * Arrow IPC streams written straight into buffers that are used again, batch after batch.
 *
 * apache-arrow's `tableToIPC` gathers the pieces of a batch and joins them into a new array per
 * batch. On this project's machines first touching fresh memory (a page fault per 4 KiB) costs
 * several times the copy itself: joining took ~0.5 s of the main thread per 1 M rows of a mixed
 * table, where the encoder's copy of the same bytes into memory it already touched took 0.15 s,
 * and every dead array then waited for the garbage collector while the process's memory grew.
 * Here the library's own stream writer serializes the batch (its message layout, padding and
 * end-of-stream marker), but each piece it emits is copied into a buffer from a small pool: the
 * Parquet encoder hands every buffer back once the batch is in its WASM memory, so after the
 * first batches the same few buffers go back and forth and no new memory is touched.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { tableFromArrays, tableFromIPC } from "apache-arrow";
 * import { IpcBuffers } from "./ipc_buffers.ts";
 *
 * const pool = new IpcBuffers();
 * const [batch] = tableFromArrays({ n: Float64Array.of(1, 2, 3) }).batches;
 * const ipc = pool.serialize(batch);
 * assert.deepEqual(tableFromIPC(ipc).getChild("n")?.toArray(), Float64Array.of(1, 2, 3));
 *
 * // Once the bytes are used up, their buffer serves the next batch.
 * pool.giveBack(ipc.buffer as ArrayBuffer);
 * assert.equal(pool.serialize(batch).buffer, ipc.buffer);
 * ```
 *
 * @module
 */
import { type RecordBatch, RecordBatchStreamWriter } from "apache-arrow";

/** Buffers kept for reuse; the writer and the encoder each hold at most one at a time. */
const POOL_SIZE = 2;

/** Smallest buffer worth keeping: below it a fresh allocation is cheap. */
const MIN_CAPACITY = 64 * 1024;

/**
 * Largest buffer kept. The Parquet writer feeds batches in slices of at most 8 MiB, whose
 * streams fit in 16 MiB; a larger buffer grew for one outsized row (a value of tens of MB), and
 * kept as a spare it would hold that much memory for the rest of the file, for no later batch.
 */
const MAX_CAPACITY = 16 * 1024 * 1024;

/** A pool of reusable buffers that Arrow batches are serialized into as IPC streams. */
export class IpcBuffers {
  readonly #spare: ArrayBuffer[] = [];

  /**
   * `batch` as one Arrow IPC stream (schema, batch, end of stream), in a buffer of the pool or,
   * when none is spare or big enough, a new one. The bytes start at offset 0 of their buffer;
   * the caller owns the buffer until it gives it back.
   */
  serialize(batch: RecordBatch): Uint8Array {
    const writer = new PooledStreamWriter(this.#take());
    writer.write(batch);
    writer.finish();
    return writer.bytes();
  }

  /**
   * Returns a buffer whose bytes are no longer needed, for a later batch; one larger than any
   * slice needs is freed instead.
   */
  giveBack(buffer: ArrayBuffer): void {
    if (buffer.detached || buffer.byteLength < MIN_CAPACITY) return;
    if (buffer.byteLength > MAX_CAPACITY) {
      buffer.transfer(0);
      return;
    }
    this.#spare.push(buffer);
    // The largest buffers fit the most batches; the smallest are the ones let go.
    this.#spare.sort((a, b) => b.byteLength - a.byteLength);
    this.#spare.length = Math.min(this.#spare.length, POOL_SIZE);
  }

  #take(): Uint8Array {
    const spare = this.#spare.shift();
    return spare ? new Uint8Array(spare) : new Uint8Array(MIN_CAPACITY);
  }
}

/**
 * apache-arrow's stream writer with its one output method replaced: instead of queueing each
 * piece for a later join, it copies it into the target buffer, growing that (by doubling) when a
 * batch outgrows it.
 */
class PooledStreamWriter extends RecordBatchStreamWriter {
  #target: Uint8Array;
  #used = 0;

  constructor(target: Uint8Array) {
    super();
    this.#target = target;
  }

  /** The stream written so far. */
  bytes(): Uint8Array {
    return this.#target.subarray(0, this.#used);
  }

  protected override _write(chunk: ArrayBufferView): this {
    // Like the base method: nothing is emitted before the schema message starts the stream.
    if (!this._started) return this;
    const piece = new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    this.#reserve(piece.byteLength);
    this.#target.set(piece, this.#used);
    this.#used += piece.byteLength;
    this._position += piece.byteLength;
    return this;
  }

  /** Zeroes in place: a reused buffer holds an earlier batch's bytes. */
  protected override _writePadding(bytes: number): this {
    if (!this._started || bytes <= 0) return this;
    this.#reserve(bytes);
    this.#target.fill(0, this.#used, this.#used + bytes);
    this.#used += bytes;
    this._position += bytes;
    return this;
  }

  #reserve(bytes: number): void {
    const needed = this.#used + bytes;
    if (needed <= this.#target.byteLength) return;
    let capacity = Math.max(this.#target.byteLength * 2, MIN_CAPACITY);
    while (capacity < needed) capacity *= 2;
    const grown = new Uint8Array(capacity);
    grown.set(this.#target.subarray(0, this.#used));
    this.#target = grown;
  }
}
