/**
 * Queries the server will not run as prepared statements, which the batches then read over the
 * text protocol instead of as binary rows (`mod.ts`).
 *
 * The batches prepare every query (`binary_row.ts`), where rivet used to run it as text. Two
 * refusals would turn that into a failed export although the query itself is fine: a server whose
 * prepared statements are all taken (`max_prepared_stmt_count` is server-wide, and a leaking
 * application elsewhere can reach it), and a statement the prepared protocol does not support.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { SourceError } from "../../errors.ts";
 * import { unpreparable } from "./unpreparable.ts";
 *
 * const full = new SourceError("MySQL: Can't create more than max_prepared_stmt_count statements (error 1461)", "permanent", { code: "1461" });
 * assert.equal(unpreparable(full), true);
 * assert.equal(unpreparable(new SourceError("MySQL: Table 't' doesn't exist (error 1146)", "permanent", { code: "1146" })), false);
 * ```
 *
 * @module
 */
import { SourceError } from "../../errors.ts";

/** ER_UNSUPPORTED_PS, ER_MAX_PREPARED_STMT_COUNT_REACHED. */
const REFUSALS: ReadonlySet<string> = new Set(["1295", "1461"]);

/** Whether `error` is the server refusing to prepare a query it would run as text. */
export function unpreparable(error: unknown): error is SourceError {
  return error instanceof SourceError && error.code !== undefined && REFUSALS.has(error.code);
}
