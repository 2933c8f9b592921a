/**
 * How the pipeline reports a failure in summaries, logs and events: one line, secrets redacted.
 *
 * @module
 */
import { errorMessage } from "../errors.ts";
import { missingPermission, permissionLine } from "../util/permission_error.ts";
import { redact } from "../util/secrets.ts";

/**
 * The first line of an error's message, with credentials masked. A missing Deno permission,
 * however deeply wrapped, is reported as the flag to add (see {@link permissionLine});
 * `configPath` completes its hint.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 *
 * const err = new Error("connect failed: postgresql://app:hunter2@db/x\n  at stack");
 * assert.equal(describeError(err), "connect failed: postgresql://app:***@db/x");
 * ```
 */
export function describeError(err: unknown, configPath?: string): string {
  const missing = missingPermission(err);
  if (missing) return redact(permissionLine(missing, configPath));
  return redact(errorMessage(err).split("\n")[0]);
}
