/**
 * The MySQL/MariaDB source: one mysql2 connection per attempt, rows streamed over the text
 * protocol into Arrow record batches, with exact type mapping (see `types.ts`). Each query is
 * first described without being executed, so FLOAT columns can be read exactly (see `floats.ts`).
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
import { log } from "../../util/log.ts";
import type { ResultStream, Source, StreamOptions } from "../source.ts";
import type { SqlQuery } from "../../sql.ts";
import { MysqlSession } from "./connect.ts";
import { bindParams } from "./dialect.ts";
import { planRead, roundedFloatWarning } from "./floats.ts";
import { MysqlStream } from "./stream.ts";

class MysqlSource implements Source {
  readonly #session: MysqlSession;
  #stream: MysqlStream | undefined;

  constructor(session: MysqlSession) {
    this.#session = session;
  }

  async query(query: SqlQuery, options: StreamOptions): Promise<ResultStream> {
    // One statement at a time on a connection: a stream left half-read is stopped first.
    await this.#stream?.stop();
    const sql = bindParams(query, this.#session.server.sqlMode);
    const plan = await planRead(this.#session, sql, options.signal);
    const { flavor, version } = this.#session.server;
    log.debug(`MySQL (${flavor} ${version}): ${plan.sql}`);
    const { stream, result } = await MysqlStream.start(
      this.#session,
      plan.sql,
      options,
      plan.widened,
    );
    this.#stream = stream;
    const warning = roundedFloatWarning(stream.columns, plan.fallback);
    if (warning !== undefined) log.warn(warning);
    return result;
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
