/**
 * The CSV records of the MySQL passthrough being written (`csv_stream.ts`): one byte buffer that
 * the cell writers (`csv_cells.ts`) fill in place, and where each record ends. It is handed to the
 * consumer as a `CsvChunk` once it holds about {@link CHUNK_BYTES}, and reused, from its start,
 * when the consumer asks for the next chunk; it grows only for a record that alone is larger, and
 * shrinks back after it.
 *
 * @module
 */
import { ByteBuffer } from "../../util/byte_buffer.ts";

/** Bytes of records a chunk holds before it is handed over. */
export const CHUNK_BYTES = 1 << 20;

/** Largest buffer kept between chunks: four times the usual size. */
const KEEP_BYTES = 4 * CHUNK_BYTES;

const LF = 10;

/** Records in the making. */
export class CsvChunkBuffer extends ByteBuffer {
  /** Records ended so far. */
  rows = 0;
  #ends = new Int32Array(1 << 14);

  /** An empty chunk with room for {@link CHUNK_BYTES} and a record's worth more. */
  constructor() {
    super(CHUNK_BYTES + (1 << 16));
  }

  /** `ends[r]`: the index just past record `r`. */
  get ends(): Int32Array {
    return this.#ends;
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

  /**
   * Starts over: the records handed over are no longer needed. A buffer that grew for one
   * outsized record (past {@link KEEP_BYTES}) is let go for one of the usual size, rather than
   * held for the rest of the export.
   */
  clear(): void {
    this.at = 0;
    this.rows = 0;
    this.shrink(KEEP_BYTES);
  }
}
