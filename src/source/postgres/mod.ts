/**
 * The PostgreSQL source: one connection per attempt, streaming query results as Arrow batches.
 *
 * Two read paths produce identical Arrow data:
 * - FETCH (default): a cursor read batch by batch; `statement_timeout` bounds each FETCH and the
 *   throttle sleeps between them.
 * - COPY binary (`fast` profile: no statement timeout, no throttle, no bind parameters): one
 *   `COPY ... TO STDOUT (FORMAT binary)` decoded from raw bytes, ~1.5x faster.
 *
 * Under the same conditions as COPY binary (and a server that validates text: not `SQL_ASCII`),
 * `copyCsv` streams the server's own CSV (`COPY ... (FORMAT csv)`), rewritten where PostgreSQL
 * prints a type differently from rivet's CSV (`copy_csv.ts`): the bytes a CSV writer would make of
 * the batches, without the batches.
 *
 * Both run in a READ ONLY transaction: the read's own, or, once the connection is pinned to a
 * snapshot (`pinSnapshot`), one REPEATABLE READ transaction shared by every query until close and
 * importable by other connections (see `transaction.ts`). Columns map to Arrow exactly (see
 * `types.ts`); a type or value without an exact representation fails with a TypeMappingError
 * naming the column. `explain` and `estimateRows` ask the planner (see `explain.ts` and
 * `plan.ts`), `primaryKey` the catalog (see `primary_key.ts`). `stats` reports the longest
 * statement and transaction the session has held, timed on the client (see
 * `../session_clock.ts`).
 *
 * @example Needs a running server, so it is not run as a doctest.
 * ```ts ignore
 * const source = await openPostgres(config.source);
 * try {
 *   const { schema, batches } = await source.query(
 *     { text: "SELECT * FROM orders WHERE id > $1", params: [{ kind: "int", text: "42" }] },
 *     { batchRows: 10_000, throttleMs: 0 },
 *   );
 *   for await (const batch of batches) console.log(batch.numRows);
 * } finally {
 *   await source.close();
 * }
 * ```
 *
 * @module
 */
import type { SourceConfig } from "../../config/types.ts";
import { SourceError } from "../../errors.ts";
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
import { PgSession } from "./connect.ts";
import { startCopy } from "./copy.ts";
import { startCopyCsv } from "./copy_csv.ts";
import { estimateRows, explain } from "./explain.ts";
import { startFetch } from "./fetch.ts";
import { primaryKey } from "./primary_key.ts";
import { PgTransactions } from "./transaction.ts";

/** True when a read takes the COPY path rather than the FETCH path. */
export function usesCopy(config: SourceConfig, query: SqlQuery, options: StreamOptions): boolean {
  return query.params.length === 0 && config.tuning.statementTimeoutS === 0 &&
    options.throttleMs === 0;
}

class PostgresSource implements Source {
  readonly #config: SourceConfig;
  readonly #session: PgSession;
  readonly #tx: PgTransactions;
  #reading = false;

  constructor(config: SourceConfig, session: PgSession) {
    this.#config = config;
    this.#session = session;
    this.#tx = new PgTransactions(session);
  }

  async query(query: SqlQuery, options: StreamOptions): Promise<ResultStream> {
    if (!Number.isInteger(options.batchRows) || options.batchRows < 1) {
      throw new RangeError(`batchRows must be a positive integer, got ${options.batchRows}`);
    }
    options.signal?.throwIfAborted();
    this.#assertIdle();
    this.#reading = true;
    const done = () => {
      this.#reading = false;
    };
    return usesCopy(this.#config, query, options)
      ? await startCopy(this.#tx, query.text, options, done)
      : await startFetch(this.#tx, query, options, done);
  }

  async copyCsv(query: SqlQuery, options: CsvOptions): Promise<CsvStream | undefined> {
    // Bytes that are not UTF-8 would go into the file as they are, where the CSV writer fails.
    if (!this.#session.textValidated) return undefined;
    if (!usesCopy(this.#config, query, { batchRows: 1, throttleMs: options.throttleMs })) {
      return undefined;
    }
    options.signal?.throwIfAborted();
    this.#assertIdle();
    this.#reading = true;
    return await startCopyCsv(this.#tx, query.text, options, () => {
      this.#reading = false;
    });
  }

  async pinSnapshot(snapshot?: string): Promise<string> {
    this.#assertIdle();
    return await this.#tx.pin(snapshot);
  }

  async estimateRows(query: SqlQuery): Promise<number | undefined> {
    this.#assertIdle();
    return await estimateRows(this.#tx, query);
  }

  async explain(query: SqlQuery): Promise<QueryPlan> {
    this.#assertIdle();
    const viaCursor = !usesCopy(this.#config, query, {
      batchRows: 1,
      throttleMs: this.#config.tuning.throttleMs,
    });
    return await explain(this.#tx, query, viaCursor);
  }

  async primaryKey(table: string): Promise<string[] | undefined> {
    this.#assertIdle();
    return await primaryKey(this.#tx, table);
  }

  stats(): SessionStats {
    return this.#session.clock.stats();
  }

  close(): Promise<void> {
    return this.#session.close();
  }

  #assertIdle(): void {
    if (this.#reading) {
      throw new SourceError(
        "PostgreSQL: a previous result is still being read on this connection",
        "permanent",
      );
    }
  }
}

/** Connects to PostgreSQL (15 s timeout) and returns a {@link Source} for one attempt. */
export async function openPostgres(config: SourceConfig): Promise<Source> {
  return new PostgresSource(config, await PgSession.open(config));
}
