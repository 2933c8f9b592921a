/**
 * A table's primary key columns, from `information_schema.KEY_COLUMN_USAGE` (MySQL/MariaDB).
 *
 * The name is read the way the server reads it under the session's `sql_mode`: `db.t` or `t`,
 * each part bare or quoted (backticks, or double quotes under `ANSI_QUOTES`), a bare `t` being in
 * the connection's current database (`DATABASE()`). The parts are bound values of a prepared
 * statement, never part of the SQL text. The primary key is the constraint named `PRIMARY`; its
 * columns come in `ORDINAL_POSITION` order.
 *
 * @module
 */
import type { MysqlSession } from "./connect.ts";
import { type SqlMode, tokenize } from "./dialect.ts";

const PRIMARY_KEY_SQL = `SELECT COLUMN_NAME FROM information_schema.KEY_COLUMN_USAGE
WHERE CONSTRAINT_NAME = 'PRIMARY' AND TABLE_SCHEMA = COALESCE(?, DATABASE()) AND TABLE_NAME = ?
ORDER BY ORDINAL_POSITION`;

/**
 * The schema (undefined: the current database) and table `name` designates under `mode`, or
 * undefined when it is not a table name.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 *
 * const mode = { noBackslashEscapes: false, ansiQuotes: false };
 * assert.deepEqual(parseTableName("shop.`order items`", mode), {
 *   schema: "shop",
 *   table: "order items",
 * });
 * assert.equal(parseTableName("a JOIN b", mode), undefined);
 * ```
 */
export function parseTableName(
  name: string,
  mode: SqlMode,
): { schema?: string; table: string } | undefined {
  const tokens = tokenize(name, mode);
  const isName = (i: number) => tokens[i]?.kind === "word" || tokens[i]?.kind === "ident";
  if (tokens.length === 1 && isName(0)) return { table: tokens[0].text };
  if (tokens.length === 3 && isName(0) && tokens[1].text === "." && isName(2)) {
    return { schema: tokens[0].text, table: tokens[2].text };
  }
  return undefined;
}

/**
 * The primary key columns of `table` in key order, or undefined when it has none, is not a base
 * table (a view has no key) or does not exist.
 */
export async function primaryKey(
  session: MysqlSession,
  table: string,
): Promise<string[] | undefined> {
  const name = parseTableName(table, session.server.sqlMode);
  if (name === undefined) return undefined;
  const rows = await session.lookup(PRIMARY_KEY_SQL, [name.schema ?? null, name.table]);
  const columns = rows.map((row) => String(row[0]));
  return columns.length > 0 ? columns : undefined;
}
