/**
 * Turns mysql2 and socket failures into {@link SourceError}s with a retry class.
 *
 * The server's error number decides first (it is exact); socket and mysql2 codes cover failures
 * that never reached the server. Messages are one line, carry the server's text, and never the
 * password.
 *
 * @module
 */
import { type RetryClass, RivetError, SourceError } from "../../errors.ts";
import { redact } from "../../util/secrets.ts";
import { NETWORK_CODES, oneLine, textField } from "../error_text.ts";

/** Retry class of server error numbers that are not `permanent` (MySQL and MariaDB references). */
const BY_ERRNO: ReadonlyMap<number, RetryClass> = new Map<number, RetryClass>([
  [1044, "auth"], // ER_DBACCESS_DENIED_ERROR
  [1045, "auth"], // ER_ACCESS_DENIED_ERROR
  [1142, "auth"], // ER_TABLEACCESS_DENIED_ERROR
  [1143, "auth"], // ER_COLUMNACCESS_DENIED_ERROR
  [1227, "auth"], // ER_SPECIFIC_ACCESS_DENIED_ERROR
  [1370, "auth"], // ER_PROCACCESS_DENIED_ERROR
  [1698, "auth"], // ER_ACCESS_DENIED_NO_PASSWORD_ERROR
  [1820, "auth"], // ER_MUST_CHANGE_PASSWORD
  [1862, "auth"], // ER_MUST_CHANGE_PASSWORD_LOGIN
  [3118, "auth"], // ER_ACCOUNT_HAS_BEEN_LOCKED (MySQL)
  [1205, "timeout"], // ER_LOCK_WAIT_TIMEOUT
  [1317, "timeout"], // ER_QUERY_INTERRUPTED (KILL QUERY from elsewhere)
  [1969, "timeout"], // ER_STATEMENT_TIMEOUT (MariaDB max_statement_time)
  [3024, "timeout"], // ER_QUERY_TIMEOUT (MySQL max_execution_time)
  [3572, "timeout"], // ER_LOCK_NOWAIT
  [1213, "deadlock"], // ER_LOCK_DEADLOCK
  [1037, "capacity"], // ER_OUTOFMEMORY
  [1038, "capacity"], // ER_OUT_OF_SORTMEMORY
  [1040, "capacity"], // ER_CON_COUNT_ERROR (too many connections)
  [1041, "capacity"], // ER_OUT_OF_RESOURCES
  [1053, "capacity"], // ER_SERVER_SHUTDOWN
  [1135, "capacity"], // ER_CANT_CREATE_THREAD
  [1203, "capacity"], // ER_TOO_MANY_USER_CONNECTIONS
  [1226, "capacity"], // ER_USER_LIMIT_REACHED
  [1152, "disconnect"], // ER_ABORTING_CONNECTION
  [1158, "disconnect"], // ER_NET_READ_ERROR
  [1159, "disconnect"], // ER_NET_READ_INTERRUPTED
  [1160, "disconnect"], // ER_NET_ERROR_ON_WRITE
  [1161, "disconnect"], // ER_NET_WRITE_INTERRUPTED
  [1927, "disconnect"], // ER_CONNECTION_KILLED (MariaDB)
  [2006, "disconnect"], // CR_SERVER_GONE_ERROR
  [2013, "disconnect"], // CR_SERVER_LOST
  [4031, "disconnect"], // ER_CLIENT_INTERACTION_TIMEOUT (MySQL 8.0.24+)
]);

/** Socket codes plus mysql2's TLS handshake failure. */
const MYSQL_NETWORK_CODES: ReadonlySet<string> = new Set([...NETWORK_CODES, "HANDSHAKE_SSL_ERROR"]);

/** mysql2's own codes for a connection that dropped mid-conversation. */
const DISCONNECT_CODES = new Set([
  "PROTOCOL_CONNECTION_LOST",
  "PROTOCOL_PACKETS_OUT_OF_ORDER",
  "PROTOCOL_UNEXPECTED_PACKET",
  "PROTOCOL_ENQUEUE_AFTER_FATAL_ERROR",
  "PROTOCOL_ENQUEUE_AFTER_QUIT",
]);

/** Retry class of a server error number; anything not listed (syntax, unknown table...) is permanent. */
export function classifyErrno(errno: number): RetryClass {
  return BY_ERRNO.get(errno) ?? "permanent";
}

/** Retry class of a failure without a server error number. */
function classifyCode(code: string | undefined): RetryClass {
  if (code === undefined) return "permanent";
  if (MYSQL_NETWORK_CODES.has(code)) return "network";
  if (DISCONNECT_CODES.has(code)) return "disconnect";
  return "permanent";
}

interface MysqlErrorFields {
  message?: unknown;
  code?: unknown;
  errno?: unknown;
  sqlState?: unknown;
  sqlMessage?: unknown;
  errors?: unknown;
}

/** The error's own fields, or those of the first error of an AggregateError (happy eyeballs). */
function fieldsOf(error: unknown): MysqlErrorFields {
  const fields: MysqlErrorFields = typeof error === "object" && error !== null ? error : {};
  if (textField(fields.message) === undefined && Array.isArray(fields.errors)) {
    const first: unknown = fields.errors[0];
    if (typeof first === "object" && first !== null) return first as MysqlErrorFields;
  }
  return fields;
}

/**
 * Converts anything mysql2 throws into a {@link SourceError} (rivet's own errors pass through
 * unchanged). `context` prefixes the message (e.g. `cannot connect to ...`); `password` is masked
 * even if it was never registered as a secret.
 */
export function toSourceError(
  error: unknown,
  options: { context?: string; password?: string } = {},
): RivetError {
  if (error instanceof RivetError) return error;
  const fields = fieldsOf(error);
  const driverCode = textField(fields.code);
  // Server error numbers start at 1000; socket errors carry libuv's negative errno instead.
  const errno = typeof fields.errno === "number" && fields.errno >= 1000 ? fields.errno : undefined;
  const retryClass = errno !== undefined ? classifyErrno(errno) : classifyCode(driverCode);
  let message = textField(fields.sqlMessage) ?? textField(fields.message) ?? oneLine(String(error));
  if (errno !== undefined) {
    // Errors sent before the handshake completes (e.g. too many connections) have no SQLSTATE.
    const sqlState = textField(fields.sqlState);
    message += ` (error ${errno}${sqlState === undefined ? "" : `, SQLSTATE ${sqlState}`})`;
  } else if (driverCode !== undefined && !message.includes(driverCode)) {
    message += ` (${driverCode})`;
  }
  if (errno === 1969 || errno === 3024) {
    // Only rivet's own statements run under the server's limit; reads are bounded by the client.
    message += "; this is source.tuning.statement_timeout_s: raise it or set it to 0";
  }
  let line = `MySQL: ${options.context ? `${options.context}: ` : ""}${message}`;
  if (options.password !== undefined && options.password.length > 0) {
    line = line.split(options.password).join("***");
  }
  const code = errno !== undefined ? String(errno) : driverCode;
  return new SourceError(redact(line), retryClass, { cause: error, code });
}
