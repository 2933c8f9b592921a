/**
 * Turns node-postgres and socket failures into {@link SourceError}s with a retry class.
 *
 * The SQLSTATE decides first (it is exact); socket error codes and driver messages cover failures
 * that never reached the server. Messages are one line, carry the server's text, detail and hint,
 * and never the password.
 *
 * @module
 */
import { type RetryClass, RivetError, SourceError } from "../../errors.ts";
import { redact } from "../../util/secrets.ts";
import { NETWORK_CODES, oneLine, textField } from "../error_text.ts";

/** Retry class of a PostgreSQL SQLSTATE (PostgreSQL docs, Appendix A). */
export function classifySqlState(code: string): RetryClass {
  if (code.startsWith("28") || code === "42501") return "auth";
  switch (code) {
    case "57014": // query_canceled (statement_timeout or a cancel request)
    case "55P03": // lock_not_available (lock_timeout)
      return "timeout";
    case "40001": // serialization_failure
    case "40P01": // deadlock_detected
      return "deadlock";
    case "57P03": // cannot_connect_now (starting up / shutting down)
      return "capacity";
    case "57P01": // admin_shutdown
    case "57P02": // crash_shutdown
    case "57P05": // idle_session_timeout
    case "25P03": // idle_in_transaction_session_timeout
      return "network";
  }
  if (code.startsWith("53")) return "capacity"; // insufficient resources, incl. 53300 too many connections
  if (code.startsWith("08")) return "network";
  return "permanent";
}

interface PgErrorFields {
  message?: unknown;
  code?: unknown;
  detail?: unknown;
  hint?: unknown;
  position?: unknown;
}

/** Retry class of a failure without SQLSTATE: socket codes and node-postgres' own messages. */
function classifyDriverError(code: string | undefined, message: string): RetryClass {
  if (code !== undefined && NETWORK_CODES.has(code)) return "network";
  const m = message.toLowerCase();
  if (
    m.includes("connection terminated") || m.includes("connection reset") ||
    m.includes("socket") || m.includes("closed the connection") ||
    m.includes("not queryable") || m.includes("econn")
  ) {
    return "network";
  }
  if (m.includes("timeout") || m.includes("timed out")) return "network";
  return "permanent";
}

/**
 * Converts anything node-postgres throws into a {@link SourceError} (rivet's own errors pass
 * through unchanged). `context` prefixes the message (e.g. `cannot connect to ...`); `password` is
 * masked even if it was never registered as a secret.
 */
export function toSourceError(
  error: unknown,
  options: {
    context?: string;
    password?: string;
    /** Characters rivet put before the user's SQL, so positions point into the user's query. */
    sqlOffset?: number;
  } = {},
): RivetError {
  if (error instanceof RivetError) return error;
  const fields: PgErrorFields = typeof error === "object" && error !== null ? error : {};
  const message = textField(fields.message) ?? oneLine(String(error));
  const code = textField(fields.code);
  // SQLSTATE classes are two digits or F0/HV/P0/XX; socket codes (EPIPE) are never of that shape.
  const isSqlState = code !== undefined && /^([0-9]{2}|F0|HV|P0|XX)[0-9A-Z]{3}$/.test(code);
  const retryClass = isSqlState ? classifySqlState(code) : classifyDriverError(code, message);
  let text = message;
  if (isSqlState) {
    const extras = [`SQLSTATE ${code}`];
    const position = Number(textField(fields.position)) - (options.sqlOffset ?? 0);
    if (position > 0) extras.push(`at character ${position}`);
    const detail = textField(fields.detail);
    if (detail !== undefined) extras.push(`detail: ${detail}`);
    const hint = textField(fields.hint);
    if (hint !== undefined) extras.push(`hint: ${hint}`);
    text = `${message} (${extras.join("; ")})`;
  }
  text = `PostgreSQL: ${options.context ? `${options.context}: ` : ""}${text}`;
  if (options.password !== undefined && options.password.length > 0) {
    text = text.split(options.password).join("***");
  }
  return new SourceError(redact(text), retryClass, { cause: error, code });
}
