/**
 * A CSV file made of records rendered elsewhere (PostgreSQL's CSV passthrough): the header row as
 * the CSV writer writes it (`csv.ts`), then the records as they come, gathered into writes of
 * about a megabyte. The records must already follow rivet's CSV conventions; this writer only
 * places and counts them.
 *
 * @module
 */
import { csvHeader } from "./csv.ts";

/** Bytes gathered before they are handed to the sink. */
const FLUSH_BYTES = 1 << 20;

/** An open file of CSV records. */
export interface CsvRecordsWriter {
  /** Appends whole records (`rows` of them, each ending in LF). */
  write(records: Uint8Array, rows: number): Promise<void>;
  /** Bytes accepted so far, header included (for `max_file_size`). */
  bytesWritten(): number;
  /** Flushes and closes the sink. */
  finish(): Promise<{ rows: number; bytes: number }>;
  /** Aborts the sink; a no-op once finished or aborted. */
  abort(reason?: unknown): Promise<void>;
}

/** Opens a records writer on `sink` and writes the header row of `names`. */
export async function createCsvRecordsWriter(
  names: readonly string[],
  sink: WritableStream<Uint8Array>,
): Promise<CsvRecordsWriter> {
  const writer = new RecordsWriter(sink.getWriter());
  try {
    await writer.write(csvHeader(names), 0);
  } catch (err) {
    await writer.abort(err);
    throw err;
  }
  return writer;
}

class RecordsWriter implements CsvRecordsWriter {
  readonly #sink: WritableStreamDefaultWriter<Uint8Array>;
  readonly #pending = new Uint8Array(FLUSH_BYTES);
  #fill = 0;
  #rows = 0;
  #bytes = 0;
  #failure: unknown;
  #state: "open" | "finished" | "aborted" = "open";

  constructor(sink: WritableStreamDefaultWriter<Uint8Array>) {
    this.#sink = sink;
  }

  async write(records: Uint8Array, rows: number): Promise<void> {
    this.#usable();
    try {
      if (this.#fill + records.length > this.#pending.length) await this.#flush();
      if (records.length >= this.#pending.length) {
        await this.#sink.write(records);
      } else {
        this.#pending.set(records, this.#fill);
        this.#fill += records.length;
      }
    } catch (err) {
      // Part of the records may already be in the file: nothing more may be appended to it.
      this.#failure ??= err;
      throw err;
    }
    this.#rows += rows;
    this.#bytes += records.length;
  }

  bytesWritten(): number {
    return this.#bytes;
  }

  async finish(): Promise<{ rows: number; bytes: number }> {
    this.#usable();
    this.#state = "finished";
    try {
      await this.#flush();
      await this.#sink.close();
    } catch (err) {
      this.#failure = err;
      throw err;
    }
    return { rows: this.#rows, bytes: this.#bytes };
  }

  async abort(reason?: unknown): Promise<void> {
    if (this.#state !== "open") return;
    this.#state = "aborted";
    await this.#sink.abort(reason).catch(() => {});
  }

  async #flush(): Promise<void> {
    if (this.#fill === 0) return;
    const full = this.#pending.subarray(0, this.#fill);
    this.#fill = 0;
    // A write resolves once the sink is done with the bytes, so the buffer is free again after.
    await this.#sink.write(full);
  }

  #usable(): void {
    if (this.#failure !== undefined) throw this.#failure;
    if (this.#state !== "open") throw new Error(`CSV writer already ${this.#state}`);
  }
}
