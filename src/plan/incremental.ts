/**
 * The incremental query (spec "Incremental Mode"): the user's query wrapped, filtered after the
 * stored cursor and ordered by the cursor column, so the last row read carries the next cursor.
 * The cursor value is bound as a parameter, never spliced into SQL text.
 *
 * @module
 */
import type { Dialect, SqlQuery, TypedValue } from "../sql.ts";

/**
 * The query reading the rows after `cursor` (all rows when there is none yet), ordered by
 * `cursorColumn`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 *
 * const dialect = { quoteIdent: (n: string) => `"${n}"`, placeholder: (i: number) => `$${i}` };
 * const query = incrementalQuery("SELECT * FROM t", "id", { kind: "int", text: "42" }, dialect);
 * assert.equal(query.text, 'SELECT * FROM (SELECT * FROM t\n) AS _rivet WHERE "id" > $1 ORDER BY "id"');
 * assert.deepEqual(query.params, [{ kind: "int", text: "42" }]);
 * ```
 */
export function incrementalQuery(
  base: string,
  cursorColumn: string,
  cursor: TypedValue | undefined,
  dialect: Dialect,
): SqlQuery {
  const column = dialect.quoteIdent(cursorColumn);
  // The newline keeps a trailing `-- comment` in the user's query from swallowing the wrapper.
  const inner = `SELECT * FROM (${base}\n) AS _rivet`;
  if (!cursor) return { text: `${inner} ORDER BY ${column}`, params: [] };
  return {
    text: `${inner} WHERE ${column} > ${dialect.placeholder(1)} ORDER BY ${column}`,
    params: [cursor],
  };
}
