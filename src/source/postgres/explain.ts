/**
 * The planner's view of a query, without running it.
 *
 * `EXPLAIN (FORMAT JSON) <query>` goes over the extended protocol with the query's values bound,
 * exactly as the FETCH path declares its cursor: the planner sees the real values (a custom plan),
 * and nothing is spliced into the SQL text (`GENERIC_PLAN`, which would take unbound placeholders,
 * is PostgreSQL 16+). Plain EXPLAIN (never ANALYZE) plans the query and executes nothing; the
 * session's `statement_timeout` bounds the planning. A query that does not plan fails like a read
 * would, with the same {@link SourceError} classification. The output is read by `plan.ts`.
 *
 * @module
 */
import { SourceError } from "../../errors.ts";
import { type SqlQuery, stripTerminator } from "../../sql.ts";
import type { QueryPlan } from "../source.ts";
import { readPlan } from "./plan.ts";
import type { PgTransactions } from "./transaction.ts";

const PREFIX = "EXPLAIN (FORMAT JSON)\n";

/**
 * How the FETCH path plans: a cursor is planned for its first rows (`cursor_tuple_fraction`),
 * which can choose an index scan where a plain SELECT would sort.
 */
const CURSOR_PREFIX = "EXPLAIN (FORMAT JSON) DECLARE _rivet_explain NO SCROLL CURSOR FOR\n";

/**
 * The plan of `query` (see `plan.ts`) as the read will run it: through a cursor (`cursor`, the
 * FETCH path) or as a plain statement (COPY). On a pinned connection it runs inside a savepoint,
 * so a failure leaves the snapshot usable.
 */
export async function explain(
  tx: PgTransactions,
  query: SqlQuery,
  cursor = false,
): Promise<QueryPlan> {
  const prefix = cursor ? CURSOR_PREFIX : PREFIX;
  const sql = `${prefix}${stripTerminator(query.text)}\n`;
  const values = query.params.map((p) => p.text);
  const { rows } = await tx.guarded(() => tx.session.run(sql, values, prefix.length));
  const text = rows[0]?.[0];
  let output: unknown;
  try {
    output = JSON.parse(text ?? "null");
  } catch {
    throw new SourceError("PostgreSQL: EXPLAIN returned output that is not JSON", "permanent");
  }
  return readPlan(output);
}

/** The top plan node's row estimate for `query`, or undefined when the plan has none. */
export async function estimateRows(
  tx: PgTransactions,
  query: SqlQuery,
): Promise<number | undefined> {
  return (await explain(tx, query)).rows;
}
