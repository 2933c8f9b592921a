/**
 * Streams one query's rows into Arrow record batches with bounded memory.
 *
 * MySQL has no server-side cursor for a plain query: the server pushes every row down the socket
 * as fast as the client reads. Backpressure is therefore TCP flow control: rows are decoded
 * straight into the column builders as they arrive, and the moment a batch is full the connection
 * stops reading the socket until the consumer asks for the next batch (and the throttle has
 * passed). Memory stays at about one batch plus one socket read, however large the result.
 * A batch is full at `batchRows` rows or, with a memory budget, once one more row of the mean
 * width would take its column data past the budget (see `batch_budget.ts`).
 *
 * @module
 */
import type { RecordBatch, Schema } from "apache-arrow";
import { SourceError } from "../../errors.ts";
import { type ColumnBuilder, finishBatch, pendingBytes } from "../../arrow/mod.ts";
import { BatchBudget } from "../batch_budget.ts";
import type { ResultStream, StreamOptions } from "../source.ts";
import type { MysqlSession } from "./connect.ts";
import { createDecoders, type Decode, valueError } from "./decode.ts";
import { toSourceError } from "./errors.ts";
import { sleep } from "../../util/sleep.ts";
import { type MysqlColumn, type MysqlField, resolveColumns } from "./types.ts";

/** A row as mysql2 delivers it with `typeCast: false`: the raw bytes of each value. */
type RawRow = (Uint8Array | null)[];

/** One running query: its schema, its batches, and how to stop it. */
export class MysqlStream {
  readonly #session: MysqlSession;
  readonly #options: StreamOptions;
  /** FLOAT columns (by position) the statement reads widened; see `floats.ts`. */
  readonly #widened: ReadonlyMap<number, MysqlField>;
  readonly #budget: BatchBudget | undefined;
  #columns: MysqlColumn[] = [];
  #schema: Schema | undefined;
  #builders: ColumnBuilder[] = [];
  #decoders: Decode[] = [];
  /** Rows decoded into the builders since the last batch was cut. */
  #pending = 0;
  /** The pending rows make a full batch. */
  #full = false;
  #ended = false;
  #failure: unknown;
  #hasFailed = false;
  /** Wakes whoever waits for a full batch, the end, or a failure. */
  #notify: (() => void) | undefined;
  readonly #onAbort = () => {
    this.#fail(this.#options.signal!.reason);
    // Release the server now, not when the consumer next asks for rows.
    void this.#session.kill();
  };
  readonly #onConnectionError = (error: Error) => this.#fail(toSourceError(error));

  private constructor(
    session: MysqlSession,
    options: StreamOptions,
    widened: ReadonlyMap<number, MysqlField>,
  ) {
    this.#session = session;
    this.#options = options;
    this.#widened = widened;
    this.#budget = BatchBudget.of(options);
  }

  /**
   * Sends `sql` and waits for its column definitions. Fails before any row is read when a column
   * has no exact Arrow mapping (the query is stopped on the server). `widened` holds the FLOAT
   * definitions of the columns `sql` reads as `col * 1e0`, by position.
   */
  static async start(
    session: MysqlSession,
    sql: string,
    options: StreamOptions,
    widened: ReadonlyMap<number, MysqlField> = new Map(),
  ): Promise<{ stream: MysqlStream; result: ResultStream }> {
    if (!Number.isInteger(options.batchRows) || options.batchRows < 1) {
      throw new RangeError(`batchRows must be a positive integer, got ${options.batchRows}`);
    }
    options.signal?.throwIfAborted();
    const stream = new MysqlStream(session, options, widened);
    const schema = await stream.#begin(sql);
    return { stream, result: { schema, batches: stream.#batches() } };
  }

  /** The result columns, resolved (known once {@link start} has returned). */
  get columns(): readonly MysqlColumn[] {
    return this.#columns;
  }

  /** True once the server has sent the whole result (or an error ending it). */
  get done(): boolean {
    return this.#ended;
  }

  /** Stops the query on the server unless it already finished; safe to call twice. */
  async stop(): Promise<void> {
    this.#detach();
    if (!this.#ended) await this.#session.kill();
  }

  #begin(sql: string): Promise<Schema> {
    const { signal } = this.#options;
    return new Promise<Schema>((resolve, reject) => {
      const query = this.#session.stream(sql);
      this.#notify = () => {
        if (this.#schema !== undefined) resolve(this.#schema);
        else reject(this.#hasFailed ? this.#failure : this.#noResultSet());
      };
      query.on("fields", (fields, index) => {
        if (index > 0) {
          if (fields !== undefined) {
            this.#fail(
              new SourceError(
                "MySQL: the query returned more than one result set; export one SELECT at a time",
                "permanent",
              ),
            );
          }
          return;
        }
        if (fields === undefined) return;
        // Nothing is read until the consumer asks for the first batch.
        this.#session.pause();
        try {
          this.#columns = resolveColumns(fields, this.#widened);
          const { schema, decoders } = createDecoders(this.#columns);
          this.#builders = decoders.map((d) => d.builder);
          this.#decoders = decoders.map((d) => d.decode);
          this.#schema = schema;
          this.#wake();
        } catch (error) {
          this.#fail(error);
        }
      });
      query.on("result", (row, index) => {
        if (index === 0 && Array.isArray(row) && !this.#hasFailed) this.#onRow(row as RawRow);
      });
      query.on("error", (error) => this.#fail(toSourceError(error)));
      query.on("end", () => {
        this.#ended = true;
        // A failure may have paused the connection; the next statement needs it reading again.
        this.#session.resume();
        this.#wake();
      });
      this.#session.connection.on("error", this.#onConnectionError);
      signal?.addEventListener("abort", this.#onAbort, { once: true });
    }).catch(async (error) => {
      await this.stop();
      throw error;
    });
  }

  #noResultSet(): SourceError {
    return new SourceError(
      "MySQL: the statement returned no rows to export (it is not a SELECT)",
      "permanent",
    );
  }

  #onRow(row: RawRow): void {
    const decoders = this.#decoders;
    const builders = this.#builders;
    let i = 0;
    try {
      for (; i < decoders.length; i++) {
        const value = row[i];
        if (value === null) builders[i].appendNull();
        else decoders[i](value);
      }
    } catch (error) {
      this.#fail(valueError(this.#columns[i], row[i]!, error));
      return;
    }
    this.#pending++;
    const budget = this.#budget;
    this.#full = budget === undefined
      ? this.#pending === this.#options.batchRows
      : budget.full(this.#pending, pendingBytes(this.#builders));
    if (this.#full) {
      this.#session.pause();
      this.#wake();
    }
  }

  #fail(error: unknown): void {
    if (this.#hasFailed) return;
    this.#hasFailed = true;
    this.#failure = error;
    this.#session.pause();
    this.#wake();
  }

  #wake(): void {
    const notify = this.#notify;
    this.#notify = undefined;
    notify?.();
  }

  #detach(): void {
    this.#options.signal?.removeEventListener("abort", this.#onAbort);
    this.#session.connection.removeListener("error", this.#onConnectionError);
  }

  async *#batches(): AsyncGenerator<RecordBatch> {
    const { throttleMs, signal } = this.#options;
    try {
      for (;;) {
        if (!this.#hasFailed && !this.#ended && !this.#full) {
          await new Promise<void>((resolve) => {
            this.#notify = resolve;
            // Resuming may replay queued rows synchronously, so the waiter is registered first.
            this.#session.resume();
          });
        }
        if (this.#hasFailed) throw this.#failure;
        if (this.#pending === 0 && this.#ended) return;
        if (this.#full || this.#ended) {
          this.#budget?.measure(this.#pending, pendingBytes(this.#builders));
          const batch = finishBatch(this.#schema!, this.#builders);
          this.#pending = 0;
          this.#full = false;
          this.#budget?.report();
          yield batch;
          // The socket stays paused while the throttle runs: the server waits, not our memory.
          if (throttleMs > 0 && !this.#ended) await sleep(throttleMs, signal);
        }
      }
    } finally {
      await this.stop();
    }
  }
}
