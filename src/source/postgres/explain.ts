/**
 * The planner's row estimate of a query, without running it.
 *
 * `EXPLAIN (FORMAT JSON) <query>` goes over the extended protocol with the query's values bound,
 * exactly as the FETCH path declares its cursor: the planner sees the real values (a custom plan),
 * and nothing is spliced into the SQL text (`GENERIC_PLAN`, which would take unbound placeholders,
 * is PostgreSQL 16+). Plain EXPLAIN plans the query and executes nothing; the session's
 * `statement_timeout` bounds the planning. The estimate is the top plan node's `Plan Rows`.
 *
 * @module
 */
import { SourceError } from "../../errors.ts";
import { type SqlQuery, stripTerminator } from "../../sql.ts";
import type { PgTransactions } from "./transaction.ts";

const PREFIX = "EXPLAIN (FORMAT JSON)\n";

/**
 * The top plan node's row estimate for `query`, or undefined when the plan has none. On a pinned
 * connection it runs inside a savepoint, so a failure leaves the snapshot usable.
 */
export async function estimateRows(
  tx: PgTransactions,
  query: SqlQuery,
): Promise<number | undefined> {
  const sql = `${PREFIX}${stripTerminator(query.text)}\n`;
  const values = query.params.map((p) => p.text);
  const { rows } = await tx.guarded(() => tx.session.run(sql, values, PREFIX.length));
  return planRows(rows[0]?.[0]);
}

/** `Plan Rows` of the top node of EXPLAIN's JSON output. */
function planRows(text: string | null | undefined): number | undefined {
  let plan: unknown;
  try {
    plan = JSON.parse(text ?? "null");
  } catch {
    throw new SourceError("PostgreSQL: EXPLAIN returned output that is not JSON", "permanent");
  }
  const top = Array.isArray(plan) ? (plan[0] as { Plan?: Record<string, unknown> })?.Plan : null;
  const rows = top?.["Plan Rows"];
  return typeof rows === "number" && Number.isFinite(rows) ? rows : undefined;
}
