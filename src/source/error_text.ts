/**
 * Pieces shared by the engines' error classifiers: socket error codes and one-line message text.
 *
 * @module
 */

/** Socket-level error codes: the network failed before or outside the server; reconnect and retry. */
export const NETWORK_CODES: ReadonlySet<string> = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ECONNABORTED",
  "EPIPE",
  "ETIMEDOUT",
  "ENOTFOUND",
  "EAI_AGAIN",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ENETDOWN",
]);

/** Folds a multi-line server message onto one line. */
export function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, " ").trim();
}

/** A non-empty string field of a driver error, on one line; otherwise undefined. */
export function textField(value: unknown): string | undefined {
  return typeof value === "string" && value.length > 0 ? oneLine(value) : undefined;
}
