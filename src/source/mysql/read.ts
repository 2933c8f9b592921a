/**
 * The life of one streamed read, whatever its rows become (Arrow batches: `stream.ts`; CSV
 * records: `csv_stream.ts`): sending the query, the result's columns, backpressure, the start's
 * deadline, and stopping on failure, abort or the consumer's end.
 *
 * MySQL has no server-side cursor for a plain query: the server pushes every row down the socket
 * as fast as the client reads. Backpressure is therefore TCP flow control: each row packet goes
 * straight to the read's sink as it arrives (`raw_rows.ts`), and the moment the sink says it holds
 * a full unit (a batch, a chunk of records) the connection stops reading the socket until the
 * consumer asks for the next one. Memory stays at about one unit plus one socket read, however
 * large the result.
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
import { SourceError } from "../../errors.ts";
import type { MysqlSession } from "./connect.ts";
import { toSourceError } from "./errors.ts";
import { type MysqlColumn, type MysqlField, resolveColumns } from "./types.ts";

/**
 * How long a statement stopped by `KILL QUERY` gets to report its end before the connection is
 * dropped instead: the server ends it at its next check of the kill flag, normally at once.
 */
const KILLED_GRACE_MS = 1_000;

/** Where a read's rows go. */
export interface RowSink {
  /**
   * Takes one row packet's payload, `bytes[start, end)` (valid only during the call); returns
   * true when the rows taken make a full unit, which pauses the socket until the consumer calls
   * {@link MysqlRead.next} again. Throws the row's error, which fails the read.
   */
  take(bytes: Uint8Array, start: number, end: number): boolean;
}

/** One running query: its columns, its sink, and how to wait for rows and stop it. */
export class MysqlRead<S extends RowSink> {
  readonly #session: MysqlSession;
  readonly #signal: AbortSignal | undefined;
  /** FLOAT columns (by position) the statement reads widened; see `floats.ts`. */
  readonly #widened: ReadonlyMap<number, MysqlField>;
  readonly #open: (columns: MysqlColumn[], fields: readonly MysqlField[]) => S;
  readonly #protocol: "text" | "binary";
  #columns: MysqlColumn[] = [];
  #sink: S | undefined;
  /** Result sets announced so far (a `CALL` may return several). */
  #resultSets = 0;
  /** The sink holds a full unit the consumer has not taken yet. */
  #full = false;
  #ended = false;
  #failure: unknown;
  #hasFailed = false;
  /** The pending client-side deadline of the query's start (see the module doc). */
  #startTimer: ReturnType<typeof setTimeout> | undefined;
  /** The `KILL QUERY` of a start past its deadline, and the server's answer to it. */
  #interrupting: Promise<void> | undefined;
  /** Wakes whoever waits for a full unit, the end, or a failure. */
  #notify: (() => void) | undefined;
  readonly #onAbort = () => {
    this.#fail(this.#signal!.reason);
    // Release the server now, not when the consumer next asks for rows.
    void this.#session.kill();
  };
  readonly #onConnectionError = (error: Error) => this.#fail(toSourceError(error));

  private constructor(
    session: MysqlSession,
    signal: AbortSignal | undefined,
    widened: ReadonlyMap<number, MysqlField>,
    open: (columns: MysqlColumn[], fields: readonly MysqlField[]) => S,
    protocol: "text" | "binary",
  ) {
    this.#session = session;
    this.#signal = signal;
    this.#widened = widened;
    this.#open = open;
    this.#protocol = protocol;
  }

  /**
   * Sends `sql` and waits for its column definitions, which `open` turns into the sink of the
   * rows. Fails before any row is read when a column has no exact Arrow mapping or `open` throws
   * (the query is stopped on the server). `widened` holds the FLOAT definitions of the columns
   * `sql` reads as `col * 1e0`, by position; `protocol` is how the rows travel (see
   * `MysqlSession.stream`), which the sink `open` makes must decode.
   */
  static async start<S extends RowSink>(
    session: MysqlSession,
    sql: string,
    signal: AbortSignal | undefined,
    widened: ReadonlyMap<number, MysqlField>,
    open: (columns: MysqlColumn[], fields: readonly MysqlField[]) => S,
    protocol: "text" | "binary" = "text",
  ): Promise<MysqlRead<S>> {
    signal?.throwIfAborted();
    const read = new MysqlRead(session, signal, widened, open, protocol);
    await read.#begin(sql);
    return read;
  }

  /** The result columns, resolved. */
  get columns(): readonly MysqlColumn[] {
    return this.#columns;
  }

  /** The sink `open` made of the columns. */
  get sink(): S {
    return this.#sink!;
  }

  /**
   * Reads the socket until the sink holds a full unit or the result has ended, and hands the
   * unit over: the sink may be emptied until the next call, as no row arrives meanwhile. Returns
   * true when the result has ended (the sink then holds its last rows, if any). Throws the read's
   * failure.
   */
  async next(): Promise<boolean> {
    if (!this.#hasFailed && !this.#ended && !this.#full) {
      await new Promise<void>((resolve) => {
        this.#notify = resolve;
        // Resuming may replay queued rows synchronously, so the waiter is registered first.
        this.#session.resume();
      });
    }
    if (this.#hasFailed) throw this.#failure;
    this.#full = false;
    return this.#ended;
  }

  /** Stops the query on the server unless it already finished; safe to call twice. */
  async stop(): Promise<void> {
    this.#detach();
    await this.#interrupting;
    if (!this.#ended) await this.#session.kill();
  }

  #begin(sql: string): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const query = this.#session.stream(
        sql,
        (bytes, start, end) => this.#onRow(bytes, start, end),
        (error) => this.#fail(error),
        this.#protocol,
      );
      const timeoutMs = this.#session.statementTimeoutMs;
      if (timeoutMs > 0) this.#startTimer = setTimeout(() => this.#expire(timeoutMs), timeoutMs);
      this.#notify = () => {
        if (this.#sink !== undefined) resolve();
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
        // Nothing more is read until the consumer asks for the first unit, unless the start is
        // still being timed: then the first row's arrival must not wait for the consumer.
        if (this.#startTimer === undefined) this.#session.pause();
        try {
          this.#columns = resolveColumns(fields, this.#widened);
          this.#sink = this.#open(this.#columns, fields);
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
      this.#signal?.addEventListener("abort", this.#onAbort, { once: true });
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
      this.#full = this.#sink!.take(bytes, start, end);
    } catch (error) {
      this.#fail(error);
      return;
    }
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
    this.#signal?.removeEventListener("abort", this.#onAbort);
    this.#session.connection.removeListener("error", this.#onConnectionError);
  }
}
