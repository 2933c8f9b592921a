/**
 * The PostgreSQL source: one connection per attempt, streaming query results as Arrow batches.
 *
 * Two read paths produce identical Arrow data:
 * - FETCH (default): a cursor read batch by batch; `statement_timeout` bounds each FETCH and the
 *   throttle sleeps between them.
 * - COPY binary (`fast` profile: no statement timeout, no throttle, no bind parameters): one
 *   `COPY ... TO STDOUT (FORMAT binary)` decoded from raw bytes, ~1.5x faster.
 *
 * Both run in a READ ONLY transaction. Columns map to Arrow exactly (see `types.ts`); a type or
 * value without an exact representation fails with a TypeMappingError naming the column.
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
import type { ResultStream, Source, StreamOptions } from "../source.ts";
import type { SqlQuery } from "../../sql.ts";
import { PgSession } from "./connect.ts";
import { startCopy } from "./copy.ts";
import { startFetch } from "./fetch.ts";

/** True when a read takes the COPY path rather than the FETCH path. */
export function usesCopy(config: SourceConfig, query: SqlQuery, options: StreamOptions): boolean {
  return query.params.length === 0 && config.tuning.statementTimeoutS === 0 &&
    options.throttleMs === 0;
}

class PostgresSource implements Source {
  readonly #config: SourceConfig;
  readonly #session: PgSession;
  #reading = false;

  constructor(config: SourceConfig, session: PgSession) {
    this.#config = config;
    this.#session = session;
  }

  async query(query: SqlQuery, options: StreamOptions): Promise<ResultStream> {
    if (!Number.isInteger(options.batchRows) || options.batchRows < 1) {
      throw new RangeError(`batchRows must be a positive integer, got ${options.batchRows}`);
    }
    options.signal?.throwIfAborted();
    if (this.#reading) {
      throw new SourceError(
        "PostgreSQL: a previous result is still being read on this connection",
        "permanent",
      );
    }
    this.#reading = true;
    const done = () => {
      this.#reading = false;
    };
    return usesCopy(this.#config, query, options)
      ? await startCopy(this.#session, query.text, options, done)
      : await startFetch(this.#session, query, options, done);
  }

  close(): Promise<void> {
    return this.#session.close();
  }
}

/** Connects to PostgreSQL (15 s timeout) and returns a {@link Source} for one attempt. */
export async function openPostgres(config: SourceConfig): Promise<Source> {
  return new PostgresSource(config, await PgSession.open(config));
}
