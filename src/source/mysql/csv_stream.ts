/**
 * The MySQL CSV passthrough (`Source.copyCsv`): the binary rows of a streamed read (`read.ts`,
 * the same backpressure, start deadline and stopping as the batches' read) written as CSV records
 * straight from their packets (`binary_row.ts`), each value by its column's cell writer
 * (`csv_cells.ts`) into a chunk buffer (`csv_chunk.ts`). No Arrow batch is built, and no JS value
 * per cell on the common types.
 *
 * A chunk is handed over once it holds about a megabyte of records (the socket pauses until the
 * consumer asks for the next, which reuses the buffer). The watched column's last non-NULL field of
 * each chunk is read back from the chunk, unquoted: the CSV writer's text, which is what the Arrow
 * path's cursor reads (`pipeline/typed_value.ts`).
 *
 * @module
 */
import type { Schema } from "apache-arrow";
import type { CsvChunk, CsvStream } from "../source.ts";
import type { MysqlSession } from "./connect.ts";
import { CELL_SLACK, cellTargets } from "./csv_cells.ts";
import { CHUNK_BYTES, CsvChunkBuffer } from "./csv_chunk.ts";
import { createDecoders } from "./decode.ts";
import { MysqlRead, type RowSink } from "./read.ts";
import { BinaryRowDecoder } from "./binary_row.ts";
import { binaryWire, type MysqlColumn, type MysqlField } from "./types.ts";

const QUOTE = 34;
// ignoreBOM: a value that starts with U+FEFF keeps it (by default a decoder drops it).
const utf8 = new TextDecoder("utf-8", { ignoreBOM: true });

/** The records of the chunk being filled. */
class CsvSink implements RowSink {
  readonly schema: Schema;
  readonly #buffer = new CsvChunkBuffer();
  readonly #row: BinaryRowDecoder;
  /** Room a row needs beyond twice its packet (see `csv_cells.ts`). */
  readonly #slack: number;
  /** The watched column's last non-NULL field in the chunk: `#buffer.bytes[from, to)`. */
  #watchedFrom = -1;
  #watchedTo = -1;

  /** `fields` are the columns' definitions, which say how the rows carry them. */
  constructor(
    columns: readonly MysqlColumn[],
    fields: readonly MysqlField[],
    watch: string | undefined,
  ) {
    const { schema } = createDecoders(columns);
    this.schema = schema;
    const wires = fields.map(binaryWire);
    const targets = cellTargets(columns, wires, schema, this.#buffer);
    const w = watch === undefined ? -1 : columns.findIndex((c) => c.name === watch);
    if (w >= 0) {
      const write = targets[w].decode;
      const comma = w > 0 ? 1 : 0;
      targets[w].decode = (v, s, e) => {
        const from = this.#buffer.at + comma;
        write(v, s, e);
        this.#watchedFrom = from;
        this.#watchedTo = this.#buffer.at;
      };
    }
    this.#row = new BinaryRowDecoder(columns, wires, targets);
    this.#slack = CELL_SLACK * columns.length + 1;
  }

  /** Records written since the last chunk was handed over. */
  get rows(): number {
    return this.#buffer.rows;
  }

  take(bytes: Uint8Array, start: number, end: number): boolean {
    const buffer = this.#buffer;
    buffer.reserve(2 * (end - start) + this.#slack);
    this.#row.decode(bytes, start, end);
    buffer.endRecord();
    return buffer.at >= CHUNK_BYTES;
  }

  /** The records written so far, valid until {@link clear}. */
  chunk(): CsvChunk {
    const { bytes, at, rows, ends } = this.#buffer;
    const chunk: CsvChunk = { bytes: bytes.subarray(0, at), rows, ends };
    if (this.#watchedFrom >= 0) {
      const text = utf8.decode(bytes.subarray(this.#watchedFrom, this.#watchedTo));
      chunk.watched = text.charCodeAt(0) === QUOTE ? text.slice(1, -1).replaceAll('""', '"') : text;
    }
    return chunk;
  }

  /** Starts the next chunk over the same buffer. */
  clear(): void {
    this.#buffer.clear();
    this.#watchedFrom = -1;
  }
}

/** A running passthrough read: how to stop it, and its records. */
export interface CsvRead {
  /** Stops the query on the server unless it already finished; safe to call twice. */
  stop(): Promise<void>;
  /** The result columns, resolved. */
  readonly columns: readonly MysqlColumn[];
}

/**
 * Prepares and executes `sql` and waits for its column definitions; the records are read as the
 * chunks are iterated. `watch` names the column whose last value each chunk reports.
 */
export async function startCsvRead(
  session: MysqlSession,
  sql: string,
  options: { signal?: AbortSignal; watch?: string },
): Promise<{ read: CsvRead; result: CsvStream }> {
  const read = await MysqlRead.start(
    session,
    sql,
    options.signal,
    new Map(),
    (columns, fields) => new CsvSink(columns, fields, options.watch),
    "binary",
  );
  return { read, result: { schema: read.sink.schema, chunks: chunks(read) } };
}

async function* chunks(read: MysqlRead<CsvSink>): AsyncGenerator<CsvChunk> {
  const sink = read.sink;
  try {
    for (;;) {
      const ended = await read.next();
      if (sink.rows > 0) {
        yield sink.chunk();
        sink.clear();
      }
      if (ended) return;
    }
  } finally {
    await read.stop();
  }
}
