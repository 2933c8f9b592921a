/**
 * Streams one query's rows into Arrow record batches with bounded memory (the read itself, its
 * backpressure and its statement timeout: `read.ts`).
 *
 * Rows are decoded straight from their packets into the column builders as they arrive
 * (`text_row.ts`), and a batch is full at `batchRows` rows or, with a memory budget, once one more
 * row of the mean width would take its column data past the budget (see `batch_budget.ts`); the
 * socket then stays paused until the consumer asks for the next batch and the throttle has passed.
 * Memory stays at about one batch plus one socket read, however large the result.
 *
 * @module
 */
import type { RecordBatch, Schema } from "apache-arrow";
import { type ColumnBuilder, finishBatch, pendingBytes } from "../../arrow/mod.ts";
import { BatchBudget } from "../batch_budget.ts";
import type { ResultStream, StreamOptions } from "../source.ts";
import type { MysqlSession } from "./connect.ts";
import { type ColumnDecoder, createDecoders } from "./decode.ts";
import { binaryDecoder } from "./binary_values.ts";
import { MysqlRead, type RowSink } from "./read.ts";
import { sleep } from "../../util/sleep.ts";
import { TextRowDecoder } from "./text_row.ts";
import { BinaryRowDecoder } from "./binary_row.ts";
import { binaryWire, type MysqlColumn, type MysqlField } from "./types.ts";

/**
 * Column bytes a cell may take beyond its bytes on the wire: a text or binary cell is copied as
 * it came, plus a 4-byte offset; any other is at most a 16-byte value (DECIMAL); and a validity
 * bit.
 */
const CELL_EXTRA_BYTES = 21;

/** The decoder of binary rows into the builders of `decoders`. */
function binaryRows(
  columns: readonly MysqlColumn[],
  fields: readonly MysqlField[],
  decoders: readonly ColumnDecoder[],
): BinaryRowDecoder {
  const wires = fields.map(binaryWire);
  const targets = decoders.map((d, i) => ({
    builder: d.builder,
    decode: binaryDecoder(columns[i], wires[i], d),
  }));
  return new BinaryRowDecoder(columns, wires, targets);
}

/** The rows of the batch being filled. */
class BatchSink implements RowSink {
  readonly schema: Schema;
  readonly builders: ColumnBuilder[];
  readonly #row: TextRowDecoder | BinaryRowDecoder;
  readonly #batchRows: number;
  readonly #budget: BatchBudget | undefined;
  /** Rows decoded into the builders since the last batch was cut. */
  pending = 0;
  /** At least the pending rows' column bytes; exact as of the last time they were summed. */
  #bound = 0;
  /** Most column bytes a row adds beyond its size on the wire. */
  readonly #perRow: number;

  /** `fields` are the columns' definitions, which say how binary rows carry them. */
  constructor(
    columns: readonly MysqlColumn[],
    fields: readonly MysqlField[],
    options: StreamOptions,
    protocol: "text" | "binary",
  ) {
    const { schema, decoders } = createDecoders(columns);
    this.schema = schema;
    this.builders = decoders.map((d) => d.builder);
    this.#row = protocol === "text"
      ? new TextRowDecoder(columns, decoders)
      : binaryRows(columns, fields, decoders);
    this.#batchRows = options.batchRows;
    this.#budget = BatchBudget.of(options);
    this.#perRow = CELL_EXTRA_BYTES * columns.length;
  }

  /**
   * Decodes one row; true when the batch is full. The builders' bytes are summed only once the
   * bound says the batch may be full: summing every builder after every row took ~8% of the
   * reading thread on 17 columns, and the answer is the same.
   */
  take(bytes: Uint8Array, start: number, end: number): boolean {
    this.#row.decode(bytes, start, end);
    this.pending++;
    const budget = this.#budget;
    if (budget === undefined) return this.pending === this.#batchRows;
    this.#bound += end - start + this.#perRow;
    // Fullness only grows with the bytes, so a batch not full at the bound is not full.
    if (!budget.full(this.pending, this.#bound)) return false;
    this.#bound = pendingBytes(this.builders);
    return budget.full(this.pending, this.#bound);
  }

  /** The pending rows as one batch; the builders start the next. */
  cut(): RecordBatch {
    this.#budget?.measure(this.pending, pendingBytes(this.builders));
    const batch = finishBatch(this.schema, this.builders);
    this.pending = 0;
    this.#bound = 0;
    this.#budget?.report();
    return batch;
  }
}

/** One running query: its schema, its batches, and how to stop it. */
export class MysqlStream {
  readonly #read: MysqlRead<BatchSink>;
  readonly #options: StreamOptions;

  private constructor(read: MysqlRead<BatchSink>, options: StreamOptions) {
    this.#read = read;
    this.#options = options;
  }

  /**
   * Sends `sql` and waits for its column definitions. Fails before any row is read when a column
   * has no exact Arrow mapping (the query is stopped on the server). Over the `binary` protocol
   * (see `MysqlSession.stream`) every value arrives exact; over `text`, `widened` holds the FLOAT
   * definitions of the columns `sql` reads as `col * 1e0`, by position.
   */
  static async start(
    session: MysqlSession,
    sql: string,
    options: StreamOptions,
    protocol: "text" | "binary",
    widened: ReadonlyMap<number, MysqlField> = new Map(),
  ): Promise<{ stream: MysqlStream; result: ResultStream }> {
    if (!Number.isInteger(options.batchRows) || options.batchRows < 1) {
      throw new RangeError(`batchRows must be a positive integer, got ${options.batchRows}`);
    }
    const read = await MysqlRead.start(
      session,
      sql,
      options.signal,
      widened,
      (columns, fields) => new BatchSink(columns, fields, options, protocol),
      protocol,
    );
    const stream = new MysqlStream(read, options);
    return { stream, result: { schema: read.sink.schema, batches: stream.#batches() } };
  }

  /** The result columns, resolved (known once {@link start} has returned). */
  get columns(): readonly MysqlColumn[] {
    return this.#read.columns;
  }

  /** Stops the query on the server unless it already finished; safe to call twice. */
  async stop(): Promise<void> {
    await this.#read.stop();
  }

  async *#batches(): AsyncGenerator<RecordBatch> {
    const { throttleMs, signal } = this.#options;
    const read = this.#read;
    const sink = read.sink;
    try {
      for (;;) {
        const ended = await read.next();
        if (sink.pending > 0) yield sink.cut();
        if (ended) return;
        // The socket stays paused while the throttle runs: the server waits, not our memory.
        if (throttleMs > 0) await sleep(throttleMs, signal);
      }
    } finally {
      await read.stop();
    }
  }
}
