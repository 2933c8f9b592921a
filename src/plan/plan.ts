/**
 * Turns an export's mode into the SQL to run. User queries are wrapped, never edited; cursor
 * values are bound as parameters, never spliced into SQL text.
 *
 * @module
 */
import type { ExportConfig } from "../config/types.ts";
import { type Dialect, type SqlQuery, stripTerminator, type TypedValue } from "../sql.ts";

/**
 * The query for one run of `exp`.
 *
 * @example
 * ```ts
 * planQuery(exp, { kind: "timestamp", text: "2024-01-01T00:00:00.000000" }, postgresDialect);
 * // SELECT * FROM (<query>) AS _rivet WHERE "updated_at" > $1 ORDER BY "updated_at"
 * ```
 */
export function planQuery(
  exp: ExportConfig,
  cursor: TypedValue | undefined,
  dialect: Dialect,
): SqlQuery {
  const base = stripTerminator(exp.query);
  if (exp.mode === "full") return { text: base, params: [] };
  const column = dialect.quoteIdent(exp.cursorColumn!);
  // The newline keeps a trailing `-- comment` in the user's query from swallowing the wrapper.
  const inner = `SELECT * FROM (${base}\n) AS _rivet`;
  if (!cursor) return { text: `${inner} ORDER BY ${column}`, params: [] };
  return {
    text: `${inner} WHERE ${column} > ${dialect.placeholder(1)} ORDER BY ${column}`,
    params: [cursor],
  };
}
