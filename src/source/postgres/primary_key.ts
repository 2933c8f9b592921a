/**
 * A table's primary key columns, from the catalog.
 *
 * The name is resolved by the server exactly as a query would resolve it: `to_regclass` applies
 * the rules of a `regclass` cast (quoting, case folding, the session's `search_path`) but returns
 * NULL instead of failing when no such relation or schema exists. The name is a bound value, never
 * part of the SQL text. The key's columns come in key order from `pg_index.indkey`, without the
 * `INCLUDE` columns a key may carry after its `indnkeyatts` key columns.
 *
 * @module
 */
import { SourceError } from "../../errors.ts";
import type { PgTransactions } from "./transaction.ts";

const PRIMARY_KEY_SQL = `SELECT a.attname
FROM pg_catalog.pg_index i
CROSS JOIN LATERAL unnest(i.indkey::int2[]) WITH ORDINALITY AS k(attnum, position)
JOIN pg_catalog.pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
WHERE i.indrelid = pg_catalog.to_regclass($1) AND i.indisprimary AND k.position <= i.indnkeyatts
ORDER BY k.position`;

/**
 * SQLSTATEs of `to_regclass` for text that cannot name a relation at all: invalid_name (`a b`,
 * an unclosed quote), syntax_error (too many dots) and feature_not_supported (another database).
 */
const NOT_A_NAME = new Set(["42602", "42601", "0A000"]);

/**
 * The primary key columns of `table` in key order, or undefined when it has none, is not a table
 * or does not exist. On a pinned connection it runs inside a savepoint, so a name the server
 * rejects leaves the snapshot usable.
 */
export async function primaryKey(tx: PgTransactions, table: string): Promise<string[] | undefined> {
  try {
    const { rows } = await tx.guarded(() => tx.session.run(PRIMARY_KEY_SQL, [table]));
    const columns = rows.map((row) => row[0]).filter((name) => name !== null);
    return columns.length > 0 ? columns : undefined;
  } catch (error) {
    if (error instanceof SourceError && NOT_A_NAME.has(error.code ?? "")) return undefined;
    throw error;
  }
}
