/**
 * The optimizer's view of a query, without running it (MySQL/MariaDB): its plan and its row
 * estimate. Both EXPLAIN the query with its values bound as literals by `bindParams`, as for the
 * read itself; plain EXPLAIN (never ANALYZE) plans the query and reads none of its rows. A query
 * that does not plan fails like a read would, with the same {@link SourceError} classification.
 *
 * The plan is `EXPLAIN FORMAT=JSON <query>`, read by `plan.ts`.
 *
 * The row estimate is classic tabular `EXPLAIN <query>`, whose columns are the same on MySQL 8
 * and MariaDB. It is the product, over the rows of the top-level SELECT (those with the first
 * row's `id`), of `rows` times `filtered` / 100 where the server reports `filtered` (MySQL 8;
 * MariaDB's plain EXPLAIN has no such column): the optimizer's own estimate of the rows the
 * top-level join produces. A derived table counts as one table with its estimated rows. Not
 * accounted for: LIMIT, GROUP BY and DISTINCT (which shrink the result) and UNION branches after
 * the first. A top-level row without `rows` ("No tables used", "Impossible WHERE") gives no
 * estimate.
 *
 * The server may evaluate constant subqueries while optimizing. MariaDB's `max_statement_time`
 * bounds any statement, EXPLAIN included; MySQL's `max_execution_time` only bounds SELECT
 * statements, so on MySQL an EXPLAIN runs without the statement timeout.
 *
 * @module
 */
import { SourceError } from "../../errors.ts";
import { stripTerminator } from "../../sql.ts";
import type { QueryPlan } from "../source.ts";
import type { MysqlSession } from "./connect.ts";
import { readPlan } from "./plan.ts";

/** The plan of `sql` (parameters already bound; see `plan.ts`). */
export async function explain(session: MysqlSession, sql: string): Promise<QueryPlan> {
  const rows = await session.run(`EXPLAIN FORMAT=JSON ${stripTerminator(sql)}`);
  const text = rows[0]?.[0];
  let output: unknown;
  try {
    output = JSON.parse(typeof text === "string" ? text : "null");
  } catch {
    throw new SourceError(
      "MySQL: EXPLAIN FORMAT=JSON returned output that is not JSON",
      "permanent",
    );
  }
  return readPlan(output);
}

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
