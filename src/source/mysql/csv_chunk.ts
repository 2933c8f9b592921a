/**
 * The CSV records of the MySQL passthrough being written (`csv_stream.ts`): one byte buffer that
 * the cell writers (`csv_cells.ts`) fill in place, and where each record ends. It is handed to the
 * consumer as a `CsvChunk` once it holds about {@link CHUNK_BYTES}, and reused, from its start,
 * when the consumer asks for the next chunk; it grows only for a record that alone is larger.
 *
 * @module
 */

/** Bytes of records a chunk holds before it is handed over. */
export const CHUNK_BYTES = 1 << 20;

const LF = 10;

/** Records in the making. */
export class CsvChunkBuffer {
  /** The records written so far, then the space for the next; read and written in place. */
  bytes = new Uint8Array(CHUNK_BYTES + (1 << 16));
  /** Where the next byte goes. */
  at = 0;
  /** Records ended so far. */
  rows = 0;
  #ends = new Int32Array(1 << 14);

  /** `ends[r]`: the index just past record `r`. */
  get ends(): Int32Array {
    return this.#ends;
  }

  /** Makes room for `more` bytes after {@link at}, keeping what is written. */
  reserve(more: number): void {
    const needed = this.at + more;
    if (needed <= this.bytes.length) return;
    const next = new Uint8Array(Math.max(needed, 2 * this.bytes.length));
    next.set(this.bytes.subarray(0, this.at));
    this.bytes = next;
  }

  /** Ends the record being written with its LF. */
  endRecord(): void {
    this.bytes[this.at++] = LF;
    if (this.rows === this.#ends.length) {
      const ends = new Int32Array(2 * this.rows);
      ends.set(this.#ends);
      this.#ends = ends;
    }
    this.#ends[this.rows++] = this.at;
  }

  /** Starts over: the records handed over are no longer needed. */
  clear(): void {
    this.at = 0;
    this.rows = 0;
  }
}
