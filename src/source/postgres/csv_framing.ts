/**
 * Cuts PostgreSQL's `COPY ... (FORMAT csv)` stream into whole records: network chunks end
 * anywhere, so the incomplete last record of a chunk is held back until the chunk that ends it.
 *
 * A line feed ends a record unless it is inside a quoted field. PostgreSQL quotes whole fields
 * only and doubles a quote inside one, so a position is inside quotes exactly when an odd number of
 * quotes has gone before it in the record: the parity, carried from chunk to chunk, is all the
 * state there is. Each byte is looked at once (with native searches), however many chunks a record
 * spans.
 *
 * @module
 */
import { TypeMappingError } from "../../errors.ts";

const QUOTE = 34;
const LF = 10;

/** Whole records taken from the stream. */
export interface Records {
  /** The records, each ending in LF. Valid until the next {@link CsvFraming.push}. */
  bytes: Uint8Array;
  /** How many records `bytes` holds. */
  rows: number;
  /** `ends[r]` is the index just past record `r`'s LF (valid for `r < rows`). */
  ends: Int32Array;
}

/** The record framing of one COPY csv stream. */
export class CsvFraming {
  /** The incomplete record: `#held[0..#heldLength)`. */
  #held = new Uint8Array(1 << 16);
  #heldLength = 0;
  /** Inside a quoted field at the end of what was scanned. */
  #quoted = false;
  /** Where the whole records of the last chunk are joined to the record held before them. */
  #joined = new Uint8Array(1 << 16);
  #ends = new Int32Array(1 << 12);

  /** The records `chunk` completes; undefined when it completes none. */
  push(chunk: Uint8Array): Records | undefined {
    const rows = this.#scan(chunk);
    if (rows === 0) {
      this.#hold(chunk, 0);
      return undefined;
    }
    const ends = this.#ends;
    const last = ends[rows - 1];
    const held = this.#heldLength;
    let bytes: Uint8Array;
    if (held === 0) {
      bytes = chunk.subarray(0, last);
    } else {
      if (this.#joined.length < held + last) {
        this.#joined = new Uint8Array(Math.max(held + last, 2 * this.#joined.length));
      }
      this.#joined.set(this.#held.subarray(0, held));
      this.#joined.set(chunk.subarray(0, last), held);
      bytes = this.#joined.subarray(0, held + last);
      for (let r = 0; r < rows; r++) ends[r] += held;
      this.#heldLength = 0;
    }
    this.#hold(chunk, last);
    return { bytes, rows, ends };
  }

  /** Fails unless the stream ended on a record boundary. */
  end(): void {
    if (this.#heldLength > 0) {
      throw new TypeMappingError(
        `PostgreSQL's COPY output ended inside a record (${this.#heldLength} bytes left over)`,
      );
    }
  }

  /** Finds the record ends in `chunk` (into `#ends`, relative to `chunk`); returns how many. */
  #scan(chunk: Uint8Array): number {
    let quoted = this.#quoted;
    let rows = 0;
    let quote = chunk.indexOf(QUOTE);
    let lf = chunk.indexOf(LF);
    while (lf >= 0) {
      if (quote >= 0 && quote < lf) {
        quoted = !quoted;
        quote = chunk.indexOf(QUOTE, quote + 1);
        continue;
      }
      if (!quoted) {
        if (rows === this.#ends.length) {
          const grown = new Int32Array(2 * rows);
          grown.set(this.#ends);
          this.#ends = grown;
        }
        this.#ends[rows++] = lf + 1;
      }
      lf = chunk.indexOf(LF, lf + 1);
    }
    // Quotes after the last line feed still count for the record that goes on in the next chunk.
    while (quote >= 0) {
      quoted = !quoted;
      quote = chunk.indexOf(QUOTE, quote + 1);
    }
    this.#quoted = quoted;
    return rows;
  }

  /** Appends `chunk[from..)` to the held record. */
  #hold(chunk: Uint8Array, from: number): void {
    const more = chunk.length - from;
    if (more === 0) return;
    const need = this.#heldLength + more;
    if (need > this.#held.length) {
      const grown = new Uint8Array(Math.max(need, 2 * this.#held.length));
      grown.set(this.#held.subarray(0, this.#heldLength));
      this.#held = grown;
    }
    this.#held.set(chunk.subarray(from), this.#heldLength);
    this.#heldLength = need;
  }
}
