/**
 * The MySQL/MariaDB source: one mysql2 connection per attempt, rows streamed as prepared
 * statements' binary rows into Arrow record batches (see `binary_row.ts`), with exact type mapping
 * (see `types.ts`), or over the text protocol when the server will not prepare the query (see
 * `unpreparable.ts`, `floats.ts`). `copyCsv` streams the same binary rows as CSV records written
 * from the row packets, without Arrow (see `csv_stream.ts`).
 * `pinSnapshot` runs every later query in one consistent-snapshot transaction of this connection
 * (see `snapshot.ts`); `explain` and `estimateRows` ask the optimizer (see `explain.ts` and
 * `plan.ts`), `primaryKey` `information_schema` (see `primary_key.ts`). `stats` reports the
 * longest statement and transaction the session has held, timed on the client (see
 * `../session_clock.ts`).
 *
 * `source.tuning.statement_timeout_s` bounds each of rivet's own statements on the server and the
 * start of each read (until its first row) on the client, never the streaming after it (see
 * `connect.ts` and `read.ts`).
 *
 * @example Needs a running server, so it is not run as a doctest.
 * ```ts ignore
 * const source = await openMysql(config.source);
 * try {
 *   const { schema, batches } = await source.query(
 *     { text: "SELECT * FROM orders WHERE id > ?", params: [{ kind: "int", text: "42" }] },
 *     { batchRows: 10_000, throttleMs: 0 },
 *   );
 *   for await (const batch of batches) console.log(schema.fields.length, batch.numRows);
 * } finally {
 *   await source.close();
 * }
 * ```
 *
 * @module
 */
import type { SourceConfig } from "../../config/types.ts";
import { errorMessage, SourceError } from "../../errors.ts";
import { log } from "../../util/log.ts";
import type {
  CsvOptions,
  CsvStream,
  QueryPlan,
  ResultStream,
  SessionStats,
  Source,
  StreamOptions,
} from "../source.ts";
import type { SqlQuery } from "../../sql.ts";
import { MysqlSession } from "./connect.ts";
import { passesThrough } from "./csv_cells.ts";
import { startCsvRead } from "./csv_stream.ts";
import { bindParams } from "./dialect.ts";
import { estimateRows, explain } from "./explain.ts";
import { planRead, roundedFloatWarning } from "./floats.ts";
import { unpreparable } from "./unpreparable.ts";
import { primaryKey } from "./primary_key.ts";
import { startSnapshot } from "./snapshot.ts";
import { MysqlStream } from "./stream.ts";
import { resolveField } from "./types.ts";

class MysqlSource implements Source {
  readonly #session: MysqlSession;
  /** The latest read, which may still hold the connection. */
  #stream: { stop(): Promise<void> } | undefined;
  #pinned = false;
  /** Set once a failure may have ended the pinned transaction, with the reason. */
  #lost: SourceError | undefined;

  constructor(session: MysqlSession) {
    this.#session = session;
  }

  async query(query: SqlQuery, options: StreamOptions): Promise<ResultStream> {
    await this.#idle();
    try {
      const sql = bindParams(query, this.#session.server.sqlMode);
      const { stream, result } = await this.#batches(sql, options);
      this.#stream = stream;
      return this.#pinned
        ? { schema: result.schema, batches: this.#watch(result.batches) }
        : result;
    } catch (error) {
      this.#failed(error);
      throw error;
    }
  }

  /**
   * Starts the batches of `sql`: binary rows, which carry FLOAT exactly with no plan
   * (`floats.ts`), unless the server will not prepare the query (`unpreparable.ts`); then the text
   * protocol with its FLOAT plan.
   */
  async #batches(
    sql: string,
    options: StreamOptions,
  ): Promise<{ stream: MysqlStream; result: ResultStream }> {
    const { flavor, version } = this.#session.server;
    try {
      log.debug(`MySQL (${flavor} ${version}), binary rows: ${sql}`);
      return await MysqlStream.start(this.#session, sql, options, "binary");
    } catch (error) {
      if (!unpreparable(error)) throw error;
      log.warn(`${error.message}; reading the query over the text protocol instead`);
      const plan = await planRead(this.#session, sql, options.signal);
      log.debug(`MySQL (${flavor} ${version}), text rows: ${plan.sql}`);
      const started = await MysqlStream.start(
        this.#session,
        plan.sql,
        options,
        "text",
        plan.widened,
      );
      const warning = roundedFloatWarning(started.stream.columns, plan.fallback);
      if (warning !== undefined) log.warn(warning);
      return started;
    }
  }

  /**
   * The rows as CSV records written from the row packets (`csv_stream.ts`). Declined, having run
   * nothing (a describe executes nothing), with a throttle (which spaces batches), when the query
   * cannot be described (the batches then read it, as text if need be), and for BIT and spatial
   * columns, which the batches serve as well.
   */
  async copyCsv(query: SqlQuery, options: CsvOptions): Promise<CsvStream | undefined> {
    if (options.throttleMs > 0) return undefined;
    await this.#idle();
    try {
      const sql = bindParams(query, this.#session.server.sqlMode);
      // A query the server will not describe is read by the batches, which report or survive it.
      const described = await this.#session.describeOrRefusal(sql, options.signal);
      const declined = "refusal" in described || described.parameters > 0 ||
        described.fields.some((f) => {
          const column = resolveField(f);
          return column === undefined || !passesThrough(column);
        });
      if (declined) return undefined;
      const { flavor, version } = this.#session.server;
      log.debug(`MySQL (${flavor} ${version}), CSV records from binary rows: ${sql}`);
      const { read, result } = await startCsvRead(this.#session, sql, options);
      this.#stream = read;
      return this.#pinned ? { schema: result.schema, chunks: this.#watch(result.chunks) } : result;
    } catch (error) {
      this.#failed(error);
      throw error;
    }
  }

  async pinSnapshot(snapshot?: string): Promise<undefined> {
    if (snapshot !== undefined) {
      throw new Error(
        "MySQL: snapshots cannot be shared between connections; call pinSnapshot() without an " +
          "id on each connection",
      );
    }
    if (this.#pinned) throw new Error("MySQL: the connection is already pinned to a snapshot");
    await this.#idle();
    this.#pinned = true;
    try {
      await startSnapshot(this.#session);
    } catch (error) {
      this.#failed(error);
      throw error;
    }
    return undefined;
  }

  async estimateRows(query: SqlQuery): Promise<number | undefined> {
    await this.#idle();
    return await estimateRows(this.#session, bindParams(query, this.#session.server.sqlMode));
  }

  async explain(query: SqlQuery): Promise<QueryPlan> {
    await this.#idle();
    return await explain(this.#session, bindParams(query, this.#session.server.sqlMode));
  }

  async primaryKey(table: string): Promise<string[] | undefined> {
    await this.#idle();
    return await primaryKey(this.#session, table);
  }

  stats(): SessionStats {
    return this.#session.clock.stats();
  }

  /**
   * Readies the connection for a statement: one at a time, so a stream left half-read is stopped
   * first; refused once the pinned transaction may be gone.
   */
  async #idle(): Promise<void> {
    await this.#stream?.stop();
    if (this.#lost !== undefined) throw this.#lost;
  }

  /** The batches or chunks of a pinned read, ending the pin if they fail. */
  async *#watch<T>(items: AsyncIterable<T>): AsyncGenerator<T> {
    try {
      yield* items;
    } catch (error) {
      this.#failed(error);
      throw error;
    }
  }

  #failed(error: unknown): void {
    if (!this.#pinned) return;
    this.#lost ??= new SourceError(
      "MySQL: this connection's snapshot transaction may have ended with an earlier failure " +
        `(${errorMessage(error).replace(/^MySQL: /, "")}); close the connection and open a new one`,
      "permanent",
    );
  }

  async close(): Promise<void> {
    try {
      await this.#stream?.stop();
    } finally {
      await this.#session.close();
    }
  }
}

/**
 * Opens a fresh MySQL/MariaDB connection for one attempt: connects (15 s timeout, TLS when the
 * server offers it unless `ssl-mode` says otherwise) and configures the session (UTC, utf8mb4,
 * the tuning's statement and lock timeouts, read-only).
 *
 * @throws {SourceError} when the server cannot be reached or refuses the login.
 */
export async function openMysql(config: SourceConfig): Promise<Source> {
  return new MysqlSource(await MysqlSession.open(config));
}
