/**
 * One mysql2 connection configured for exact, bounded extraction, and the ways to stop it.
 *
 * A fresh connection per attempt (never a pool). The session pins what changes how values are
 * printed (`time_zone`, `NAMES`), raises the network timeouts so a slow consumer holding the
 * stream paused is not dropped, and applies the tuning's lock timeout
 * (`innodb_lock_wait_timeout`).
 *
 * The tuning's statement timeout is split in two, because a streamed read has no server-side
 * cursor: the server's statement stays open, blocked on the socket, for as long as the consumer
 * takes (throttle included), so a server-side limit would measure the consumer rather than the
 * server's work.
 * - rivet's own statements ({@link MysqlSession.run}, {@link MysqlSession.runRecords},
 *   {@link MysqlSession.lookup}: EXPLAIN, catalog lookups, snapshot setup) run under the server's
 *   limit in the flavour's own terms: MariaDB `max_statement_time` (seconds; any statement),
 *   MySQL `max_execution_time` (milliseconds; read-only SELECTs only).
 * - A streamed read ({@link MysqlSession.stream}) runs with that limit set to 0; `read.ts`
 *   bounds its start on the client instead and stops it with {@link MysqlSession.killQuery}.
 *
 * The `SET SESSION` that switches between the two is queued just before the statement it applies
 * to (mysql2 runs commands in order), and only when the limit changes, so it costs no round trip
 * of its own. A describe (`COM_STMT_PREPARE`) executes nothing, and neither server limit applies
 * to it.
 *
 * Every statement and the pinned transaction are timed for `Source.stats()` (see
 * `../session_clock.ts`).
 *
 * @module
 */
import mysql from "mysql2";
import type { Connection, ConnectionOptions, SslOptions } from "mysql2";
import type { ConnectionSettings, SourceConfig } from "../../config/types.ts";
import { ConfigError, SourceError } from "../../errors.ts";
import { log } from "../../util/log.ts";
import { parseSqlMode, type SqlMode } from "./dialect.ts";
import { toSourceError } from "./errors.ts";
import type { MysqlField } from "./types.ts";
import { interceptBinaryRows, interceptRows, type RowPacketHandler } from "./raw_rows.ts";
import { readOptionFile } from "../option_file.ts";
import { SessionClock } from "../session_clock.ts";

const CONNECT_TIMEOUT_MS = 15_000;
const KILL_TIMEOUT_MS = 3_000;
const END_TIMEOUT_MS = 5_000;
/**
 * Seconds the server waits on a stalled client before dropping it. Backpressure on this protocol
 * is TCP flow control: while a batch is consumed the server sits blocked on a full socket, and the
 * default 60 s would cut a slow consumer off mid-export.
 */
const NET_TIMEOUT_S = 3_600;
/** ER_UNKNOWN_SYSTEM_VARIABLE: the server lacks a setting (older or non-MySQL servers). */
const UNKNOWN_VARIABLE = 1193;

/** Which server family is on the other end; some settings differ between them. */
export type ServerFlavor = "mysql" | "mariadb";

/** Facts about the server learned when the session opened. */
export interface ServerInfo {
  flavor: ServerFlavor;
  /** `SELECT VERSION()`. */
  version: string;
  /** The session's `sql_mode`, as far as it changes how SQL text is tokenized. */
  sqlMode: SqlMode;
  /** `CONNECTION_ID()`, the thread a `KILL` targets. */
  connectionId: number;
}

/**
 * The events of a streaming mysql2 query that the source listens to (its rows go to the handler
 * given to {@link MysqlSession.stream}). `fields` comes once per result set: `undefined` for one
 * without rows, such as the status that ends a `CALL`.
 */
export interface StreamingQuery {
  on(event: "fields", listener: (fields: MysqlField[] | undefined) => void): this;
  on(event: "error", listener: (error: Error) => void): this;
  on(event: "end", listener: () => void): this;
}

/** mysql2 keeps its socket on the connection without declaring it. */
interface WithSocket {
  stream?: { destroy(): void };
}

type SslMode = "disabled" | "preferred" | "required" | "verify_ca" | "verify_identity";

/** `ssl-mode` values, MySQL spelling and libpq spelling. */
const SSL_MODES: Record<string, SslMode> = {
  disabled: "disabled",
  disable: "disabled",
  preferred: "preferred",
  prefer: "preferred",
  allow: "preferred",
  required: "required",
  require: "required",
  verify_ca: "verify_ca",
  "verify-ca": "verify_ca",
  verify_identity: "verify_identity",
  "verify-full": "verify_identity",
};

/** Option keys, normalized (lower case, no `-`/`_`), to what they configure. */
const OPTION_KEYS: Record<string, "mode" | "ca" | "cert" | "key"> = {
  sslmode: "mode",
  sslca: "ca",
  sslrootcert: "ca",
  sslcert: "cert",
  sslkey: "key",
};

/**
 * TLS settings from the URL options (`ssl-mode`, `ssl-ca`, `ssl-cert`, `ssl-key`, or their libpq
 * names). Like the mysql client, the default is `PREFERRED`: TLS when the server offers it.
 */
async function tlsOptions(
  options: Record<string, string>,
): Promise<{ ssl: SslOptions | undefined; fallbackToPlain: boolean }> {
  let mode: SslMode = "preferred";
  const tls: SslOptions = {};
  for (const [rawKey, value] of Object.entries(options)) {
    const key = OPTION_KEYS[rawKey.toLowerCase().replace(/[-_]/g, "")];
    if (key === "mode") {
      const parsed = SSL_MODES[value.toLowerCase()];
      if (parsed === undefined) {
        throw new ConfigError(
          `unknown ssl-mode "${value}" (expected DISABLED, PREFERRED, REQUIRED, VERIFY_CA or ` +
            `VERIFY_IDENTITY)`,
          { key: `source.${rawKey}` },
        );
      }
      mode = parsed;
    } else if (key !== undefined) {
      tls[key] = await readOptionFile(rawKey, value);
    } else {
      log.warn(`MySQL connection option "${rawKey}" is ignored`);
    }
  }
  switch (mode) {
    case "disabled":
      return { ssl: undefined, fallbackToPlain: false };
    case "preferred":
      return { ssl: { ...tls, rejectUnauthorized: false }, fallbackToPlain: true };
    case "required":
      // As the mysql client: a CA makes REQUIRED verify the certificate chain.
      return {
        ssl: { ...tls, rejectUnauthorized: tls.ca !== undefined, verifyIdentity: false },
        fallbackToPlain: false,
      };
    case "verify_ca":
      return {
        ssl: { ...tls, rejectUnauthorized: true, verifyIdentity: false },
        fallbackToPlain: false,
      };
    case "verify_identity":
      return {
        ssl: { ...tls, rejectUnauthorized: true, verifyIdentity: true },
        fallbackToPlain: false,
      };
  }
}

function connect(settings: ConnectionSettings, ssl: SslOptions | undefined): Promise<Connection> {
  const options: ConnectionOptions = {
    host: settings.host,
    port: settings.port,
    user: settings.user,
    password: settings.password ?? "",
    database: settings.database,
    ssl,
    connectTimeout: CONNECT_TIMEOUT_MS,
    enableKeepAlive: true,
    charset: "UTF8MB4_GENERAL_CI",
    // IGNORE_SPACE (a mysql2 default) would make names like `max` or `count` reserved words and
    // break queries that work in the mysql client; LOCAL_FILES would let the server ask for files.
    flags: ["-IGNORE_SPACE", "-LOCAL_FILES"],
  };
  return new Promise((resolve, reject) => {
    const connection = mysql.createConnection(options);
    const onError = (error: Error) => {
      connection.removeListener("connect", onConnect);
      socketOf(connection)?.destroy();
      reject(error);
    };
    const onConnect = () => {
      connection.removeListener("error", onError);
      // Without a listener a late socket error would be an uncaught exception; the session
      // records errors through its own listener.
      connection.on("error", () => {});
      resolve(connection);
    };
    connection.once("error", onError);
    connection.once("connect", onConnect);
  });
}

function socketOf(connection: Connection): { destroy(): void } | undefined {
  return (connection as unknown as WithSocket).stream;
}

/** The two `SET SESSION`s of the server-side statement time limit: the tuning's, and none. */
interface ServerLimit {
  bounded: string;
  unbounded: string;
}

/** Runs one statement on `connection`; rows as arrays of mysql2's default JS values. */
function query(connection: Connection, sql: string, password?: string): Promise<unknown[][]> {
  return new Promise((resolve, reject) => {
    connection.query({ sql, rowsAsArray: true }, (error, rows) => {
      if (error) reject(toSourceError(error, { password }));
      else resolve(Array.isArray(rows) ? (rows as unknown[][]) : []);
    });
  });
}

function seconds(value: number): number {
  return Math.max(1, Math.ceil(value));
}

/**
 * A connected, configured MySQL/MariaDB session. Every failure surfaces as a `SourceError`; after
 * a network failure or {@link kill} the session is unusable and only {@link close} is allowed.
 */
export class MysqlSession {
  /** The underlying mysql2 connection. */
  readonly connection: Connection;
  /** Learned when the session opened. */
  readonly server: ServerInfo;
  /** Times every statement and the pinned transaction, for `Source.stats()`. */
  readonly clock: SessionClock;
  /** `source.tuning.statement_timeout_s` in milliseconds (0: none). */
  readonly statementTimeoutMs: number;
  readonly #settings: ConnectionSettings;
  /** The TLS settings the connection was made with; the {@link kill} connection reuses them. */
  readonly #ssl: SslOptions | undefined;
  /** Set once the server accepted the statement time limit. */
  #limit: ServerLimit | undefined;
  /** Whether the limit is in force now; undefined when a switch failed and the state is unknown. */
  #bounded: boolean | undefined = false;
  #broken: string | undefined;
  #closed = false;

  private constructor(
    connection: Connection,
    config: SourceConfig,
    ssl: SslOptions | undefined,
    server: ServerInfo,
    clock: SessionClock,
  ) {
    this.connection = connection;
    this.#settings = config.connection;
    this.#ssl = ssl;
    this.server = server;
    this.clock = clock;
    const { statementTimeoutS } = config.tuning;
    this.statementTimeoutMs = statementTimeoutS > 0
      ? Math.max(1, Math.round(statementTimeoutS * 1000))
      : 0;
    connection.on("error", (error: Error) => {
      this.#broken ??= error.message;
    });
    connection.on("end", () => {
      this.#broken ??= "the connection was closed";
    });
  }

  /** Connects (15 s timeout) and applies the session settings. */
  static async open(config: SourceConfig): Promise<MysqlSession> {
    const settings = config.connection;
    const tls = await tlsOptions(settings.options);
    let ssl = tls.ssl;
    const context =
      `cannot connect to ${settings.user}@${settings.host}:${settings.port}/${settings.database}`;
    let connection: Connection;
    try {
      connection = await connect(settings, ssl);
    } catch (error) {
      const code = (error as { code?: unknown }).code;
      if (!tls.fallbackToPlain || code !== "HANDSHAKE_NO_SSL_SUPPORT") {
        throw toSourceError(error, { context, password: settings.password });
      }
      ssl = undefined;
      try {
        connection = await connect(settings, ssl);
      } catch (plainError) {
        throw toSourceError(plainError, { context, password: settings.password });
      }
    }
    let server: ServerInfo;
    const clock = new SessionClock();
    try {
      const [row] = await clock.time(() =>
        query(
          connection,
          "SELECT VERSION(), @@version_comment, @@SESSION.sql_mode, CONNECTION_ID()",
          settings.password,
        )
      );
      const [version, comment, sqlMode, id] = row.map((v) => String(v ?? ""));
      server = {
        flavor: /mariadb/i.test(`${version} ${comment}`) ? "mariadb" : "mysql",
        version,
        sqlMode: parseSqlMode(sqlMode),
        connectionId: Number(id),
      };
    } catch (error) {
      socketOf(connection)?.destroy();
      throw error;
    }
    const session = new MysqlSession(connection, config, ssl, server, clock);
    try {
      await session.#configure(config);
    } catch (error) {
      await session.close();
      throw error;
    }
    return session;
  }

  /** The session settings that make the output exact and the session bounded. */
  async #configure(config: SourceConfig): Promise<void> {
    const { statementTimeoutS, lockTimeoutS } = config.tuning;
    await this.run("SET NAMES utf8mb4");
    const settings = [
      "time_zone = '+00:00'",
      `net_write_timeout = ${NET_TIMEOUT_S}`,
      `net_read_timeout = ${NET_TIMEOUT_S}`,
    ];
    if (lockTimeoutS > 0) settings.push(`innodb_lock_wait_timeout = ${seconds(lockTimeoutS)}`);
    await this.run(`SET ${settings.map((s) => `SESSION ${s}`).join(", ")}`);
    if (statementTimeoutS > 0) {
      const limit: ServerLimit = this.server.flavor === "mariadb"
        ? {
          bounded: `SET SESSION max_statement_time = ${statementTimeoutS}`,
          unbounded: "SET SESSION max_statement_time = 0",
        }
        : {
          bounded: `SET SESSION max_execution_time = ${this.statementTimeoutMs}`,
          unbounded: "SET SESSION max_execution_time = 0",
        };
      if (await this.#optional(limit.bounded, "the statement timeout")) {
        this.#limit = limit;
        this.#bounded = true;
      }
    }
    // Guards the source against a query with side effects (e.g. a function that writes); plain
    // SELECTs, temporary tables and streaming are unaffected.
    await this.#optional("SET SESSION TRANSACTION READ ONLY", "the read-only session");
  }

  /**
   * Runs a setting the server may not know; its absence is a warning, not a failure. True when
   * the server took it.
   */
  async #optional(sql: string, what: string): Promise<boolean> {
    try {
      await this.run(sql);
      return true;
    } catch (error) {
      if (!(error instanceof SourceError && error.code === String(UNKNOWN_VARIABLE))) throw error;
      log.warn(
        `${this.server.flavor} ${this.server.version} does not support ${what}: ${error.message}`,
      );
      return false;
    }
  }

  /**
   * Queues the `SET SESSION` that puts the server's statement time limit in force (`bounded`) or
   * lifts it for the statement queued next, unless it already is so. A failed switch only means
   * the connection is failing: the statement behind it reports that.
   */
  #serverLimit(bounded: boolean): void {
    const limit = this.#limit;
    if (limit === undefined || this.#bounded === bounded) return;
    this.#bounded = bounded;
    const end = this.clock.statement();
    this.connection.query(bounded ? limit.bounded : limit.unbounded, (error) => {
      end();
      if (error === null) return;
      this.#bounded = undefined;
      log.debug(`MySQL: could not switch the statement time limit: ${error.message}`);
    });
  }

  /**
   * Runs one of rivet's own statements, under the server's statement time limit, and returns its
   * rows as arrays of mysql2's default JS values.
   */
  run(sql: string): Promise<unknown[][]> {
    this.#assertUsable();
    this.#serverLimit(true);
    return this.clock.time(() => query(this.connection, sql, this.#settings.password));
  }

  /**
   * Runs one of rivet's own statements, under the server's statement time limit, and returns its
   * rows keyed by column name (mysql2's default JS values).
   */
  runRecords(sql: string): Promise<Record<string, unknown>[]> {
    this.#assertUsable();
    this.#serverLimit(true);
    return this.clock.time(() =>
      new Promise((resolve, reject) => {
        this.connection.query({ sql }, (error, rows) => {
          if (error) reject(toSourceError(error, { password: this.#settings.password }));
          else resolve(Array.isArray(rows) ? (rows as Record<string, unknown>[]) : []);
        });
      })
    );
  }

  /**
   * Runs one of rivet's own statements with `values` bound to its `?` parameters by the server (a
   * prepared statement, closed afterwards), under the server's statement time limit; rows as
   * arrays of mysql2's default JS values.
   */
  lookup(sql: string, values: (string | null)[]): Promise<unknown[][]> {
    this.#assertUsable();
    this.#serverLimit(true);
    return this.clock.time(() =>
      new Promise((resolve, reject) => {
        this.connection.execute({ sql, values, rowsAsArray: true }, (error, rows) => {
          // mysql2 caches prepared statements per connection: drop it from the cache and close it.
          this.connection.unprepare(sql);
          if (error) reject(toSourceError(error, { password: this.#settings.password }));
          else resolve(Array.isArray(rows) ? (rows as unknown[][]) : []);
        });
      })
    );
  }

  /**
   * {@link describe}, with the server's refusal of the query (a syntax it rejects, a statement it
   * will not prepare) returned instead of thrown, for callers that then read the query some other
   * way; a lost connection, an abort and anything else still throw.
   */
  async describeOrRefusal(
    sql: string,
    signal?: AbortSignal,
  ): Promise<{ fields: MysqlField[]; parameters: number } | { refusal: SourceError }> {
    try {
      return await this.describe(sql, signal);
    } catch (error) {
      if (
        signal?.aborted || !(error instanceof SourceError) || error.retryClass === "network" ||
        error.retryClass === "disconnect"
      ) {
        throw error;
      }
      return { refusal: error };
    }
  }

  /**
   * The result columns of `sql` and its number of `?` parameters, without executing it: the server
   * prepares the statement (`COM_STMT_PREPARE`, one round trip) and it is closed at once
   * (`COM_STMT_CLOSE` has no reply). Aborting `signal` stops the session, as for a stream.
   */
  describe(
    sql: string,
    signal?: AbortSignal,
  ): Promise<{ fields: MysqlField[]; parameters: number }> {
    this.#assertUsable();
    signal?.throwIfAborted();
    const end = this.clock.statement();
    return new Promise((resolve, reject) => {
      const onAbort = () => {
        reject(signal!.reason);
        void this.kill();
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      this.connection.prepare(sql, (error, statement) => {
        end();
        signal?.removeEventListener("abort", onAbort);
        if (error) {
          reject(toSourceError(error, { password: this.#settings.password }));
          return;
        }
        // mysql2 caches prepared statements per connection: drop it from the cache and close it.
        this.connection.unprepare(sql);
        const info = statement as unknown as { columns?: MysqlField[]; parameters?: unknown[] };
        resolve({ fields: info.columns ?? [], parameters: info.parameters?.length ?? 0 });
      });
    });
  }

  /**
   * Starts streaming `sql` with the server's statement time limit lifted (the caller bounds its
   * start): each row packet goes to `onRow` undecoded (see `raw_rows.ts`), as fast as the socket
   * delivers them until {@link pause}; `onBypass` hears of a row mysql2 decoded itself, which
   * means the installed mysql2 no longer works that way. The statement is timed until the
   * returned emitter's `end` (which also follows an error) or until the session is killed.
   *
   * Over the `binary` protocol `sql` is prepared and executed, and its row packets are binary rows
   * (`binary_row.ts`); the statement is closed once its result has ended, so a long run of reads
   * (chunks, pages) leaves no prepared statements behind on the server, which limits their number
   * server-wide (`max_prepared_stmt_count`).
   */
  stream(
    sql: string,
    onRow: RowPacketHandler,
    onBypass: (error: SourceError) => void,
    protocol: "text" | "binary" = "text",
  ): StreamingQuery {
    this.#assertUsable();
    this.#serverLimit(false);
    const end = this.clock.statement();
    let command: object;
    if (protocol === "text") {
      // The options keep mysql2's own row parser (which should never run) as cheap as it gets.
      command = this.connection.query({ sql, rowsAsArray: true, typeCast: false });
      interceptRows(command, onRow, onBypass);
    } else {
      command = this.connection.execute({ sql });
      interceptBinaryRows(command, onRow, onBypass);
    }
    const events = command as StreamingQuery;
    events.on("end", () => {
      end();
      if (protocol === "binary" && !this.#closed && this.#broken === undefined) {
        this.connection.unprepare(sql);
      }
    });
    return events;
  }

  /** Stops reading the socket: the server blocks once the TCP window is full. */
  pause(): void {
    this.connection.pause();
  }

  /** Resumes reading the socket. */
  resume(): void {
    this.connection.resume();
  }

  #assertUsable(): void {
    if (this.#closed) throw new SourceError("MySQL: the connection is closed", "network");
    if (this.#broken !== undefined) {
      throw new SourceError(`MySQL: the connection is unusable: ${this.#broken}`, "network");
    }
  }

  /**
   * Stops the session at once: drops the socket (so a thread blocked sending rows fails its next
   * write) and kills the server thread from a second connection (so a query still sorting or
   * scanning stops too). Best effort and bounded: it never throws.
   */
  async kill(): Promise<void> {
    if (this.#closed || this.#broken !== undefined) return;
    this.#broken = "the previous read was interrupted";
    socketOf(this.connection)?.destroy();
    this.clock.stop();
    await this.#killFromOutside("KILL");
  }

  /**
   * Stops the statement the session is running, not the session: `KILL QUERY` from a second
   * connection. The statement then ends with an error (or, for a bare `SLEEP()`, early) on this
   * connection, which stays usable. Best effort and bounded: it never throws.
   */
  async killQuery(): Promise<void> {
    if (this.#closed || this.#broken !== undefined) return;
    await this.#killFromOutside("KILL QUERY");
  }

  /** Runs `<kill> <this thread>` on a fresh connection, within {@link KILL_TIMEOUT_MS}. */
  async #killFromOutside(kill: "KILL" | "KILL QUERY"): Promise<void> {
    const id = this.server.connectionId;
    let killer: Connection | undefined;
    const attempt = (async () => {
      killer = await connect(this.#settings, this.#ssl);
      // The thread or its statement may already be gone: "unknown thread" is fine.
      await new Promise<void>((resolve) => killer!.query(`${kill} ${id}`, () => resolve()));
    })()
      .catch((error) =>
        log.debug(`MySQL: could not ${kill.toLowerCase()} ${id}: ${(error as Error).message}`)
      )
      .finally(() => killer?.end(() => {}));
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, KILL_TIMEOUT_MS);
    });
    await Promise.race([attempt, timeout]);
    clearTimeout(timer);
  }

  /** Ends the session; safe to call twice and after a failure. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const socket = socketOf(this.connection);
    if (this.#broken !== undefined) {
      socket?.destroy();
      this.clock.stop();
      return;
    }
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<"timeout">((resolve) => {
      timer = setTimeout(() => resolve("timeout"), END_TIMEOUT_MS);
    });
    const ended = new Promise<"ended">((resolve) => this.connection.end(() => resolve("ended")));
    try {
      if ((await Promise.race([ended, timeout])) === "timeout") socket?.destroy();
    } finally {
      clearTimeout(timer);
      this.clock.stop();
    }
  }
}
