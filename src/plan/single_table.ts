/**
 * Recognises the simplest export query, `SELECT <columns> FROM <table> [WHERE ...]`, to name the
 * table it reads (for suggesting its primary key as `key_column`). Anything more complex (joins,
 * several tables, subqueries in FROM, set operations, GROUP BY) is not recognised: a suggestion
 * must never be wrong.
 *
 * @module
 */

const SIMPLE = new RegExp(
  String.raw`^\s*SELECT\s+[\s\S]+?\s+FROM\s+((?:"[^"]+"|` + "`[^`]+`" +
    String.raw`|[A-Za-z_][\w$]*)(?:\.(?:"[^"]+"|` + "`[^`]+`" +
    String.raw`|[A-Za-z_][\w$]*))?)(?:\s+(?:AS\s+)?[A-Za-z_]\w*)?(\s+WHERE\s[\s\S]*)?[\s;]*$`,
  "i",
);

const COMPLEX = /\b(JOIN|UNION|INTERSECT|EXCEPT|GROUP\s+BY|HAVING|DISTINCT|LIMIT|WINDOW)\b/i;

/**
 * The table a single-table query reads, as written; `undefined` for anything more complex.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 *
 * assert.equal(singleTableOf("SELECT id, name FROM shop.users WHERE active"), "shop.users");
 * assert.equal(singleTableOf("SELECT * FROM a JOIN b USING (id)"), undefined);
 * assert.equal(singleTableOf("SELECT * FROM (SELECT 1) AS t"), undefined);
 * ```
 */
export function singleTableOf(query: string): string | undefined {
  if (COMPLEX.test(query)) return undefined;
  const match = SIMPLE.exec(query);
  if (!match) return undefined;
  // A comma after FROM would be a second table; one inside WHERE is harmless.
  const where = match[2] ?? "";
  const from = query.slice(0, query.length - where.length);
  if (/\bFROM\b[^(]*,/i.test(from) || from.slice(from.search(/\bFROM\b/i)).includes("(")) {
    return undefined;
  }
  return match[1];
}
