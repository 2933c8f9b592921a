/**
 * Keyset paging: a piece's query read page after page in key order, each page its own short
 * statement: `WHERE (key) > (last key of the previous page) ORDER BY key LIMIT n`, every value
 * bound, never spliced. A page asks for one row more than it keeps: that peek row tells whether
 * another page follows and whether the key is unique across the page boundary.
 *
 * @module
 */
import type { Dialect, SqlQuery, TypedValue } from "../sql.ts";

/**
 * The query of one page of `piece`: up to `limit` rows whose key is after `after` (the first page
 * has none), in key order.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 *
 * const dialect = { quoteIdent: (n: string) => `"${n}"`, placeholder: (i: number) => `$${i}` };
 * const piece = { text: 'SELECT * FROM t WHERE "day" >= $1', params: [{ kind: "date" as const, text: "2024-01-01" }] };
 * const page = pageQuery(piece, ["day", "id"], [
 *   { kind: "date", text: "2024-01-05" },
 *   { kind: "int", text: "42" },
 * ], 1001, dialect);
 * assert.equal(
 *   page.text,
 *   'SELECT * FROM (SELECT * FROM t WHERE "day" >= $1\n) AS _rivet_page WHERE ("day", "id") > ($2, $3) ORDER BY "day", "id" LIMIT $4',
 * );
 * assert.deepEqual(page.params.map((p) => p.text), ["2024-01-01", "2024-01-05", "42", "1001"]);
 * ```
 */
export function pageQuery(
  piece: SqlQuery,
  keys: readonly string[],
  after: readonly TypedValue[] | undefined,
  limit: number,
  dialect: Dialect,
): SqlQuery {
  const columns = keys.map((k) => dialect.quoteIdent(k));
  const params = [...piece.params];
  const bind = (value: TypedValue): string => {
    params.push(value);
    return dialect.placeholder(params.length);
  };
  // The newline keeps a trailing `-- comment` in the piece's query from swallowing the wrapper.
  let text = `SELECT * FROM (${piece.text}\n) AS _rivet_page`;
  if (after) text += ` WHERE (${columns.join(", ")}) > (${after.map(bind).join(", ")})`;
  text += ` ORDER BY ${columns.join(", ")} LIMIT ${bind({ kind: "int", text: String(limit) })}`;
  return { text, params };
}

/**
 * A statement returning one row when some row of `piece` has a NULL in a key column: such rows
 * would never compare greater than a key, so paging would silently skip them. Cheap when the key
 * is indexed or declared NOT NULL.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 *
 * const dialect = { quoteIdent: (n: string) => `"${n}"`, placeholder: (i: number) => `$${i}` };
 * assert.equal(
 *   nullKeyQuery({ text: "SELECT * FROM t", params: [] }, ["id"], dialect).text,
 *   'SELECT 1 AS null_key FROM (SELECT * FROM t\n) AS _rivet_page WHERE "id" IS NULL LIMIT 1',
 * );
 * ```
 */
export function nullKeyQuery(piece: SqlQuery, keys: readonly string[], dialect: Dialect): SqlQuery {
  const anyNull = keys.map((k) => `${dialect.quoteIdent(k)} IS NULL`).join(" OR ");
  return {
    text: `SELECT 1 AS null_key FROM (${piece.text}\n) AS _rivet_page WHERE ${anyNull} LIMIT 1`,
    params: piece.params,
  };
}
