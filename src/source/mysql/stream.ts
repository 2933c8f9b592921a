/**
 * Streams one query's rows into Arrow record batches with bounded memory.
 *
 * MySQL has no server-side cursor for a plain query: the server pushes every row down the socket
 * as fast as the client reads. Backpressure is therefore TCP flow control: rows are decoded
 * straight from their packets into the column builders as they arrive (`raw_rows.ts`,
 * `text_row.ts`), and the moment a batch is full the connection stops reading the socket until
 * the consumer asks for the next batch (and the throttle has passed). Memory stays at about one
 * batch plus one socket read, however large the result. A batch is full at `batchRows` rows or,
 * with a memory budget, once one more row of the mean width would take its column data past the
 * budget (see `batch_budget.ts`).
 *
 * For the same reason the tuning's statement timeout cannot be left to the server: the statement
 * stays open, blocked on the paused socket, for as long as the export takes, throttle included.
 * The server's limit is lifted for the read (see `connect.ts`) and the timeout bounds its start
 * instead: from sending the query until the first row arrives (for an empty result, until the
 * server reports its end), which is the server's work of producing the result (planning, lock
 * waits, a sort or a derived table built before the first row). Until then the socket keeps
 * reading even after the column definitions, so the time is the server's alone. When the deadline
 * passes, the query is stopped with `KILL QUERY` from a second connection and the read fails with
 * a `timeout` SourceError; once the first row is in, the stream runs for as long as it takes.
 *
 * @module
 */
import type { RecordBatch, Schema } from "apache-arrow";
import { SourceError } from "../../errors.ts";
import { type ColumnBuilder, finishBatch, pendingBytes } from "../../arrow/mod.ts";
import { BatchBudget } from "../batch_budget.ts";
import type { ResultStream, StreamOptions } from "../source.ts";
import type { MysqlSession } from "./connect.ts";
import { createDecoders } from "./decode.ts";
import { toSourceError } from "./errors.ts";
import { sleep } from "../../util/sleep.ts";
import { TextRowDecoder } from "./text_row.ts";
import { type MysqlColumn, type MysqlField, resolveColumns } from "./types.ts";

/**
 * How long a statement stopped by `KILL QUERY` gets to report its end before the connection is
 * dropped instead: the server ends it at its next check of the kill flag, normally at once.
 */
const KILLED_GRACE_MS = 1_000;

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
  #row: TextRowDecoder | undefined;
  /** Result sets announced so far (a `CALL` may return several). */
  #resultSets = 0;
  /** Rows decoded into the builders since the last batch was cut. */
  #pending = 0;
  /** The pending rows make a full batch. */
  #full = false;
  #ended = false;
  #failure: unknown;
  #hasFailed = false;
  /** The pending client-side deadline of the query's start (see the module doc). */
  #startTimer: ReturnType<typeof setTimeout> | undefined;
  /** The `KILL QUERY` of a start past its deadline, and the server's answer to it. */
  #interrupting: Promise<void> | undefined;
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
    await this.#interrupting;
    if (!this.#ended) await this.#session.kill();
  }

  #begin(sql: string): Promise<Schema> {
    const { signal } = this.#options;
    return new Promise<Schema>((resolve, reject) => {
      const query = this.#session.stream(
        sql,
        (bytes, start, end) => this.#onRow(bytes, start, end),
        (error) => this.#fail(error),
      );
      const timeoutMs = this.#session.statementTimeoutMs;
      if (timeoutMs > 0) this.#startTimer = setTimeout(() => this.#expire(timeoutMs), timeoutMs);
      this.#notify = () => {
        if (this.#schema !== undefined) resolve(this.#schema);
        else reject(this.#hasFailed ? this.#failure : this.#noResultSet());
      };
      query.on("fields", (fields) => {
        // A result set without rows (the status ending a CALL) holds nothing to export.
        if (fields === undefined) return;
        if (++this.#resultSets > 1) {
          this.#fail(
            new SourceError(
              "MySQL: the query returned more than one result set; export one SELECT at a time",
              "permanent",
            ),
          );
          return;
        }
        if (this.#hasFailed) return;
        // Nothing more is read until the consumer asks for the first batch, unless the start is
        // still being timed: then the first row's arrival must not wait for the consumer.
        if (this.#startTimer === undefined) this.#session.pause();
        try {
          this.#columns = resolveColumns(fields, this.#widened);
          const { schema, decoders } = createDecoders(this.#columns);
          this.#builders = decoders.map((d) => d.builder);
          this.#row = new TextRowDecoder(this.#columns, decoders);
          this.#schema = schema;
          this.#wake();
        } catch (error) {
          this.#fail(error);
        }
      });
      query.on("error", (error) => this.#fail(toSourceError(error)));
      query.on("end", () => {
        this.#clearDeadline();
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

  /** The query's start is over (a row, the end or a failure came): no deadline applies now. */
  #clearDeadline(): void {
    clearTimeout(this.#startTimer);
    this.#startTimer = undefined;
  }

  /** The start overran the timeout: fail the read and stop the statement on the server. */
  #expire(timeoutMs: number): void {
    this.#startTimer = undefined;
    this.#interrupting = this.#interrupt();
    this.#fail(
      new SourceError(
        `MySQL: the query returned no row within source.tuning.statement_timeout_s ` +
          `(${timeoutMs / 1000} s) and was stopped; on MySQL/MariaDB this timeout bounds the ` +
          "server's work until the first row of a read (and each of rivet's own statements), " +
          "not the streaming after it: raise it or set it to 0",
        "timeout",
      ),
    );
  }

  /**
   * `KILL QUERY`, then lets the statement's end through the paused connection (its rows, if any,
   * are dropped: the read has failed), so that the connection survives when the server obliges.
   */
  async #interrupt(): Promise<void> {
    await this.#session.killQuery();
    if (this.#ended) return;
    let timer: ReturnType<typeof setTimeout> | undefined;
    await new Promise<void>((resolve) => {
      timer = setTimeout(resolve, KILLED_GRACE_MS);
      this.#notify = resolve;
      this.#session.resume();
    });
    clearTimeout(timer);
  }

  #noResultSet(): SourceError {
    return new SourceError(
      "MySQL: the statement returned no rows to export (it is not a SELECT)",
      "permanent",
    );
  }

  /** One row packet's payload, `bytes[start, end)`, from the connection. */
  #onRow(bytes: Uint8Array, start: number, end: number): void {
    if (this.#startTimer !== undefined) this.#clearDeadline();
    // After a failure (a second result set included) the rest of the result is only drained.
    if (this.#hasFailed) return;
    try {
      this.#row!.decode(bytes, start, end);
    } catch (error) {
      this.#fail(error);
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
    this.#clearDeadline();
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
    this.#clearDeadline();
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
