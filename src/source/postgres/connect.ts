/**
 * One node-postgres connection configured for exact, bounded extraction, and the ways to stop it.
 *
 * A fresh `pg.Client` per attempt (never `pg.Pool`: brianc/node-postgres#3679 stalls under Deno).
 * The session pins every setting that changes how values are printed, so text decoding is exact
 * whatever the server's defaults are.
 *
 * @module
 */
import { connect as netConnect } from "node:net";
import pg from "pg";
import type { CustomTypesConfig, QueryArrayConfig, QueryArrayResult } from "pg";
import type { Readable } from "node:stream";
import type { ConnectionOptions } from "node:tls";
import type { ConnectionSettings, SourceConfig } from "../../config/types.ts";
import { ConfigError, errorMessage, SourceError } from "../../errors.ts";
import { log } from "../../util/log.ts";
import type { CopyFormat } from "./copy_rows.ts";
import { CopyRowsQuery } from "./copy_rows_query.ts";
import { toSourceError } from "./errors.ts";
import { readOptionFile } from "../option_file.ts";
import { SessionClock } from "../session_clock.ts";

const CONNECT_TIMEOUT_MS = 15_000;
const CANCEL_TIMEOUT_MS = 3_000;
const END_TIMEOUT_MS = 5_000;
/** Protocol code of a CancelRequest (PostgreSQL docs, "Message Formats"). */
const CANCEL_REQUEST_CODE = 80877102;

/** Values of a text-mode row: PostgreSQL's exact text output, or null. */
export type TextRow = (string | null)[];

const identity = (value: string): string => value;
/**
 * Hands every column to JS as the server's text: pg's default parsers are slow, and its Date
 * conversion drops microseconds.
 */
const RAW_TEXT: CustomTypesConfig = { getTypeParser: () => identity };

/** Connection parameters node-postgres' typings do not declare. */
interface BackendKey {
  processID: number | null;
  secretKey: number | null;
}

/** libpq's `sslmode` semantics mapped onto Node TLS options; `prefer` falls back to plain. */
async function tlsOptions(
  settings: ConnectionSettings,
): Promise<{ ssl: ConnectionOptions | false; fallbackToPlain: boolean }> {
  const mode = settings.options.sslmode ?? "prefer";
  const tls: ConnectionOptions = {};
  if (settings.options.sslrootcert) {
    tls.ca = await readOptionFile("sslrootcert", settings.options.sslrootcert);
  }
  if (settings.options.sslcert) {
    tls.cert = await readOptionFile("sslcert", settings.options.sslcert);
  }
  if (settings.options.sslkey) tls.key = await readOptionFile("sslkey", settings.options.sslkey);
  switch (mode) {
    case "disable":
      return { ssl: false, fallbackToPlain: false };
    case "allow":
    case "prefer":
      return { ssl: { ...tls, rejectUnauthorized: false }, fallbackToPlain: true };
    case "require":
      // As libpq: a root certificate turns `require` into `verify-ca`.
      if (tls.ca === undefined) {
        return { ssl: { ...tls, rejectUnauthorized: false }, fallbackToPlain: false };
      }
      return { ssl: { ...tls, checkServerIdentity: () => undefined }, fallbackToPlain: false };
    case "verify-ca":
      return { ssl: { ...tls, checkServerIdentity: () => undefined }, fallbackToPlain: false };
    case "verify-full":
      return { ssl: tls, fallbackToPlain: false };
    default:
      throw new ConfigError(
        `unknown sslmode "${mode}" (expected disable, allow, prefer, require, verify-ca or verify-full)`,
        { key: "source.sslmode" },
      );
  }
}

const KNOWN_OPTIONS = new Set(["sslmode", "sslrootcert", "sslcert", "sslkey", "options"]);

/** Settings that fix how PostgreSQL prints values, so text decoding is exact. */
const FORMAT_SETTINGS: readonly string[] = [
  "TimeZone = 'UTC'",
  "DateStyle = 'ISO'",
  "IntervalStyle = 'iso_8601'",
  "extra_float_digits = 3",
  "bytea_output = 'hex'",
];

/**
 * The format settings as `SET LOCAL`s, run at the start of every read transaction: a
 * transaction-pooling proxy (pgBouncer) may have run the session-level SETs on another backend;
 * inside the transaction they are guaranteed to apply.
 */
export const LOCAL_FORMAT_SQL: string = FORMAT_SETTINGS.map((s) => `SET LOCAL ${s}`).join("; ");

/** The session settings: exact value formats, plus the bounds from tuning. */
function sessionSql(config: SourceConfig): string {
  const statements = [
    ...FORMAT_SETTINGS,
    "standard_conforming_strings = on",
    "client_encoding = 'UTF8'",
    "application_name = 'rivet'",
  ];
  const { statementTimeoutS, lockTimeoutS } = config.tuning;
  if (statementTimeoutS > 0) {
    statements.push(`statement_timeout = ${Math.max(1, Math.round(statementTimeoutS * 1000))}`);
  }
  if (lockTimeoutS > 0) {
    statements.push(`lock_timeout = ${Math.max(1, Math.round(lockTimeoutS * 1000))}`);
  }
  return statements.map((s) => `SET ${s}`).join("; ");
}

/**
 * A connected, configured PostgreSQL session. Every failure surfaces as a `SourceError`; after a
 * network failure or {@link kill} the session is unusable and only {@link close} is allowed.
 */
export class PgSession {
  /** The underlying node-postgres client. */
  readonly client: pg.Client;
  /** Times every statement and transaction of the session, for `Source.stats()`. */
  readonly clock: SessionClock = new SessionClock();
  readonly #settings: ConnectionSettings;
  #broken: string | undefined;
  #closed = false;
  #textValidated = true;
  #running = 0;

  private constructor(client: pg.Client, settings: ConnectionSettings) {
    this.client = client;
    this.#settings = settings;
    client.on("error", (error: Error) => {
      this.#broken ??= error.message;
    });
    client.on("end", () => {
      this.#broken ??= "the connection was closed";
    });
    client.on("notice", (notice) => log.debug(`PostgreSQL notice: ${notice.message ?? ""}`));
  }

  /**
   * False when the server does not check that text is valid in its encoding (`SQL_ASCII`), so
   * text arrives as whatever bytes were stored.
   */
  get textValidated(): boolean {
    return this.#textValidated;
  }

  /** Connects (15 s timeout) and applies the session settings. */
  static async open(config: SourceConfig): Promise<PgSession> {
    const settings = config.connection;
    for (const key of Object.keys(settings.options)) {
      if (!KNOWN_OPTIONS.has(key)) log.warn(`PostgreSQL connection option "${key}" is ignored`);
    }
    const { ssl, fallbackToPlain } = await tlsOptions(settings);
    const context =
      `cannot connect to ${settings.user}@${settings.host}:${settings.port}/${settings.database}`;
    let client: pg.Client;
    try {
      client = await PgSession.#connect(settings, ssl);
    } catch (error) {
      const message = errorMessage(error);
      if (!fallbackToPlain || !/does not support SSL/i.test(message)) {
        throw toSourceError(error, { context, password: settings.password });
      }
      try {
        client = await PgSession.#connect(settings, false);
      } catch (plainError) {
        throw toSourceError(plainError, { context, password: settings.password });
      }
    }
    const session = new PgSession(client, settings);
    try {
      await session.run(sessionSql(config));
      const { rows } = await session.run("SHOW server_encoding");
      if (rows[0]?.[0] === "SQL_ASCII") {
        session.#textValidated = false;
        log.warn(
          "PostgreSQL server_encoding is SQL_ASCII: the server does not validate text, so bytes " +
            "that are not UTF-8 cannot be exported exactly",
        );
      }
    } catch (error) {
      await session.close();
      throw error;
    }
    return session;
  }

  static async #connect(
    settings: ConnectionSettings,
    ssl: ConnectionOptions | false,
  ): Promise<pg.Client> {
    const client = new pg.Client({
      host: settings.host,
      port: settings.port,
      user: settings.user,
      password: settings.password ?? "",
      database: settings.database,
      ssl,
      options: settings.options.options,
      application_name: "rivet",
      connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
      keepAlive: true,
    });
    // A failed connect may still emit 'error' later; without a listener that would crash Deno.
    client.on("error", () => {});
    await client.connect();
    return client;
  }

  /** The password, for masking in messages. */
  get password(): string | undefined {
    return this.#settings.password;
  }

  /**
   * Runs SQL; rows come back as arrays of the server's exact text. With `values` (even none) it
   * uses the extended protocol, which also refuses a text holding several statements: user SQL
   * always goes that way. Without, several `;`-separated statements of rivet's own may run.
   * `sqlOffset` is where the user's SQL starts in `text`, for error positions.
   */
  async run(
    text: string,
    values?: string[],
    sqlOffset?: number,
  ): Promise<QueryArrayResult<TextRow>> {
    this.#assertUsable();
    const query: QueryArrayConfig & { queryMode?: "extended" } = {
      text,
      values,
      rowMode: "array",
      types: RAW_TEXT,
      queryMode: values === undefined ? undefined : "extended",
    };
    this.#running++;
    const end = this.clock.statement();
    try {
      return await this.client.query<TextRow>(query);
    } catch (error) {
      throw toSourceError(error, { password: this.#settings.password, sqlOffset });
    } finally {
      end();
      this.#running--;
    }
  }

  /** Cancels the statement {@link run} is waiting for, if any (e.g. on abort). */
  cancelRunning(): void {
    if (this.#running > 0) void this.cancel();
  }

  /**
   * Rolls back the open transaction; a failure there makes the session unusable, not an error.
   * Either way the transaction is over (a dead connection's ends on the server with it).
   */
  async rollback(): Promise<void> {
    if (this.#closed || this.#broken !== undefined) {
      this.clock.endTransaction();
      return;
    }
    try {
      await this.run("ROLLBACK");
    } catch (error) {
      log.debug(`PostgreSQL ROLLBACK failed: ${(error as Error).message}`);
      await this.kill();
    }
    this.clock.endTransaction();
  }

  /**
   * Starts a `COPY ... TO STDOUT` in `format`; the stream yields blocks of whole rows (`Records`,
   * see `copy_rows_query.ts`). The statement lasts until the stream has ended, failed or been
   * destroyed.
   */
  copyOut(sql: string, format: CopyFormat): Readable {
    return this.#rowsOut(new CopyRowsQuery(sql, format), false);
  }

  /**
   * Runs a `FETCH` from a BINARY cursor; the stream yields blocks of its rows as binary COPY
   * tuples (`Records`, see `copy_rows_query.ts`), without a JS value per row or field. Like
   * {@link run}, it is cancelled by {@link cancelRunning}.
   */
  fetchOut(sql: string): CopyRowsQuery {
    return this.#rowsOut(new CopyRowsQuery(sql, "binary", "fetch"), true);
  }

  /**
   * Submits a query that reads its rows off the socket; it is one statement until its stream has
   * ended, failed or been destroyed (`cancellable`: one that {@link cancelRunning} cancels).
   */
  #rowsOut(query: CopyRowsQuery, cancellable: boolean): CopyRowsQuery {
    this.#assertUsable();
    const end = this.clock.statement();
    if (cancellable) this.#running++;
    let ended = false;
    const done = () => {
      if (ended) return;
      ended = true;
      if (cancellable) this.#running--;
      end();
    };
    const stream = this.client.query(query);
    stream.once("end", done);
    stream.once("error", done);
    stream.once("close", done);
    // The reader takes the socket over with pause() + a 'readable' listener. Deno's
    // net.Socket#pause stops the handle's read loop while the stream still believes a read is
    // pending, so on a socket that sat idle no data would ever arrive and the read would hang.
    // resume() restarts the read loop; with a 'readable' listener the socket stays non-flowing,
    // so backpressure is unchanged.
    this.client.connection.stream.resume();
    return stream;
  }

  #assertUsable(): void {
    if (this.#closed) throw new SourceError("PostgreSQL: the connection is closed", "network");
    if (this.#broken !== undefined) {
      throw new SourceError(`PostgreSQL: the connection is unusable: ${this.#broken}`, "network");
    }
  }

  /**
   * Asks the server to cancel whatever this session is running (a CancelRequest on a separate
   * socket, as libpq's PQcancel does). Best effort and bounded: it never throws.
   */
  cancel(): Promise<void> {
    const { processID, secretKey } = this.client as unknown as BackendKey;
    if (processID === null || secretKey === null) return Promise.resolve();
    const packet = new DataView(new ArrayBuffer(16));
    packet.setInt32(0, 16);
    packet.setInt32(4, CANCEL_REQUEST_CODE);
    packet.setInt32(8, processID);
    packet.setInt32(12, secretKey);
    const host = this.#settings.host;
    return new Promise<void>((resolve) => {
      const socket = host.startsWith("/")
        ? netConnect(`${host}/.s.PGSQL.${this.#settings.port}`)
        : netConnect(this.#settings.port, host);
      const timer = setTimeout(() => socket.destroy(), CANCEL_TIMEOUT_MS);
      socket.on("connect", () => socket.end(new Uint8Array(packet.buffer)));
      socket.on(
        "error",
        (error) => log.debug(`PostgreSQL cancel request failed: ${error.message}`),
      );
      socket.on("close", () => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  /**
   * Stops the session at once: cancels the running statement (so a long sort stops too) and drops
   * the socket (so a backend blocked sending COPY data fails its next write). The session is
   * unusable afterwards.
   */
  async kill(): Promise<void> {
    if (this.#closed || this.#broken !== undefined) return;
    this.#broken = "the previous read was interrupted";
    await this.cancel();
    this.client.connection.stream.destroy();
    this.clock.stop();
  }

  /** Ends the session (rolling back anything open); safe to call twice and after a failure. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#broken !== undefined) {
      this.client.connection.stream.destroy();
      this.clock.stop();
      return;
    }
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<"timeout">((resolve) => {
      timer = setTimeout(() => resolve("timeout"), END_TIMEOUT_MS);
    });
    try {
      const outcome = await Promise.race([this.client.end(), timeout]);
      if (outcome === "timeout") this.client.connection.stream.destroy();
    } catch {
      this.client.connection.stream.destroy();
    } finally {
      clearTimeout(timer);
      this.clock.stop();
    }
  }
}
