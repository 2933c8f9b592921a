/**
 * The optimizer's row estimate of a query, without running it (MySQL/MariaDB).
 *
 * Classic tabular `EXPLAIN <query>`, with the values bound as literals by `bindParams` as for the
 * read itself. Its columns are the same on MySQL 8 and MariaDB, unlike `FORMAT=JSON` (MySQL puts
 * `rows_produced_per_join` under `query_block`; MariaDB puts `rows` and `filtered` on each table,
 * nested differently). The estimate is the product, over the rows of the top-level SELECT (those
 * with the first row's `id`), of `rows` times `filtered` / 100 where the server reports `filtered`
 * (MySQL 8; MariaDB's plain EXPLAIN has no such column): the optimizer's own estimate of the rows
 * the top-level join produces. A derived table counts as one table with its estimated rows.
 * Not accounted for: LIMIT, GROUP BY and DISTINCT (which shrink the result) and UNION branches
 * after the first. A top-level row without `rows` ("No tables used", "Impossible WHERE") gives no
 * estimate.
 *
 * EXPLAIN does not read the query's rows, but the server may evaluate constant subqueries while
 * optimizing. MariaDB's `max_statement_time` bounds it; MySQL's `max_execution_time` only bounds
 * SELECT statements.
 *
 * @module
 */
import { stripTerminator } from "../../sql.ts";
import type { MysqlSession } from "./connect.ts";

/** The top-level join's estimated rows for `sql` (parameters already bound), if the plan has it. */
export async function estimateRows(
  session: MysqlSession,
  sql: string,
): Promise<number | undefined> {
  const rows = await session.runRecords(`EXPLAIN ${stripTerminator(sql)}`);
  const top = rows.filter((row) => row.id === rows[0]?.id);
  if (top.length === 0) return undefined;
  let estimate = 1;
  for (const row of top) {
    if (row.rows === null || row.rows === undefined) return undefined;
    estimate *= Number(row.rows);
    if (row.filtered !== null && row.filtered !== undefined) estimate *= Number(row.filtered) / 100;
  }
  return Number.isFinite(estimate) ? Math.round(estimate) : undefined;
}
