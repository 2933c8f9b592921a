/**
 * How the pipeline reports a failure in summaries, logs and events: one line, secrets redacted.
 *
 * @module
 */
import { errorMessage } from "../errors.ts";
import { redact } from "../util/secrets.ts";

/**
 * The first line of an error's message, with credentials masked.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 *
 * const err = new Error("connect failed: postgresql://app:hunter2@db/x\n  at stack");
 * assert.equal(describeError(err), "connect failed: postgresql://app:***@db/x");
 * ```
 */
export function describeError(err: unknown): string {
  return redact(errorMessage(err).split("\n")[0]);
}
