/**
 * Reads PostgreSQL's `EXPLAIN (FORMAT JSON)` output into a {@link QueryPlan}.
 *
 * The output is an array of one object whose `Plan` is the top plan node. Every node has a
 * `Node Type` and `Plan Rows`, and lists its children in `Plans`; InitPlans and SubPlans are
 * children too (their `Parent Relationship` says so), so one walk of `Plans` sees every node the
 * executor may run. The mapping:
 * - `rows`: the top node's `Plan Rows`.
 * - `scans`, in pre-order (outer nodes before their inputs):
 *   - `Seq Scan`, `Sample Scan`: `full`.
 *   - `Index Scan`, `Index Only Scan`: `index`, with `Index Name`.
 *   - `Bitmap Heap Scan`: one `index` scan of the heap, its index taken from the `Bitmap Index
 *     Scan` below it (several, joined by `, `, when a `BitmapAnd`/`BitmapOr` combines indexes).
 *   - `Foreign Scan`: `full`, since the remote server's access path is unknown here.
 *   - Function, Values, CTE, Subquery, WorkTable, Named Tuplestore and Table Function scans read
 *     no table; Tid (Range) Scans go straight to tuple addresses, through no index; custom scans
 *     are an extension's business: none of them is reported (their inputs still are).
 *   The description is the node as text EXPLAIN prints it (`Parallel` prefix, `Backward`, the alias
 *   when it differs from the table), plus `using <index>` for a bitmap heap scan.
 * - `sorts`: any `Sort` or `Incremental Sort` node.
 *
 * @module
 */
import { SourceError } from "../../errors.ts";
import type { PlanScan, QueryPlan } from "../source.ts";

/** The fields of a plan node this module reads (EXPLAIN prints many more). */
interface PlanNode {
  "Node Type"?: unknown;
  "Plan Rows"?: unknown;
  "Parallel Aware"?: unknown;
  "Scan Direction"?: unknown;
  "Index Name"?: unknown;
  "Relation Name"?: unknown;
  Alias?: unknown;
  Plans?: unknown;
}

const FULL_SCANS = new Set(["Seq Scan", "Sample Scan", "Foreign Scan"]);
const INDEX_SCANS = new Set(["Index Scan", "Index Only Scan"]);
const SORTS = new Set(["Sort", "Incremental Sort"]);

/**
 * The {@link QueryPlan} of `output`, the parsed result of `EXPLAIN (FORMAT JSON)`.
 *
 * @throws {SourceError} when `output` has no top plan node.
 *
 * @example An index scan under a sort, and an InitPlan's index-only scan
 * ```ts
 * import assert from "node:assert/strict";
 *
 * const output = [{
 *   Plan: {
 *     "Node Type": "Sort",
 *     "Plan Rows": 1280,
 *     Plans: [
 *       {
 *         "Node Type": "Limit",
 *         "Parent Relationship": "InitPlan",
 *         "Plan Rows": 1,
 *         Plans: [{
 *           "Node Type": "Index Only Scan",
 *           "Scan Direction": "Backward",
 *           "Index Name": "idx_orders_updated_at",
 *           "Relation Name": "orders",
 *           "Alias": "orders_1",
 *           "Plan Rows": 60000000,
 *         }],
 *       },
 *       {
 *         "Node Type": "Bitmap Heap Scan",
 *         "Parent Relationship": "Outer",
 *         "Relation Name": "events",
 *         "Alias": "events",
 *         "Plan Rows": 1280,
 *         Plans: [{
 *           "Node Type": "Bitmap Index Scan",
 *           "Index Name": "idx_events_kind",
 *           "Plan Rows": 1280,
 *         }],
 *       },
 *     ],
 *   },
 * }];
 * assert.deepEqual(readPlan(output), {
 *   rows: 1280,
 *   scans: [
 *     {
 *       method: "index",
 *       table: "orders",
 *       index: "idx_orders_updated_at",
 *       description: "Index Only Scan Backward using idx_orders_updated_at on orders orders_1",
 *     },
 *     {
 *       method: "index",
 *       table: "events",
 *       index: "idx_events_kind",
 *       description: "Bitmap Heap Scan on events using idx_events_kind",
 *     },
 *   ],
 *   sorts: true,
 * });
 * ```
 */
export function readPlan(output: unknown): QueryPlan {
  const top = Array.isArray(output) ? (output[0] as { Plan?: unknown } | undefined)?.Plan : null;
  if (!isNode(top)) {
    throw new SourceError("PostgreSQL: EXPLAIN returned no plan", "permanent");
  }
  const plan: QueryPlan = { scans: [], sorts: false };
  const rows = top["Plan Rows"];
  if (typeof rows === "number" && Number.isFinite(rows)) plan.rows = rows;
  walk(top, plan);
  return plan;
}

function walk(node: PlanNode, plan: QueryPlan): void {
  const type = text(node["Node Type"]) ?? "";
  if (SORTS.has(type)) plan.sorts = true;
  if (FULL_SCANS.has(type)) plan.scans.push(scan(node, type, "full"));
  if (INDEX_SCANS.has(type)) plan.scans.push(scan(node, type, "index", text(node["Index Name"])));
  // The bitmap index scans below are this scan's own index reads, never reported on their own:
  // one table access, not several.
  if (type === "Bitmap Heap Scan") {
    plan.scans.push(scan(node, type, "index", bitmapIndexes(node).join(", ") || undefined));
  }
  for (const child of children(node)) walk(child, plan);
}

/** The scan `node`, described as text EXPLAIN prints it. */
function scan(node: PlanNode, type: string, method: PlanScan["method"], index?: string): PlanScan {
  const table = text(node["Relation Name"]);
  const alias = text(node.Alias);
  const bitmap = type === "Bitmap Heap Scan";
  const words = [node["Parallel Aware"] === true ? `Parallel ${type}` : type];
  if (node["Scan Direction"] === "Backward") words.push("Backward");
  if (index !== undefined && !bitmap) words.push("using", index);
  if (table !== undefined) words.push("on", table);
  if (alias !== undefined && alias !== table) words.push(alias);
  if (index !== undefined && bitmap) words.push("using", index);
  const found: PlanScan = { method, description: words.join(" ") };
  if (table !== undefined) found.table = table;
  if (index !== undefined) found.index = index;
  return found;
}

/** The indexes of the `Bitmap Index Scan`s feeding a bitmap heap scan, in plan order. */
function bitmapIndexes(node: PlanNode): string[] {
  return children(node).flatMap((child) => {
    const type = child["Node Type"];
    if (type === "Bitmap Index Scan") return text(child["Index Name"]) ?? [];
    return type === "BitmapAnd" || type === "BitmapOr" ? bitmapIndexes(child) : [];
  });
}

function children(node: PlanNode): PlanNode[] {
  return Array.isArray(node.Plans) ? node.Plans.filter(isNode) : [];
}

function isNode(value: unknown): value is PlanNode {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function text(value: unknown): string | undefined {
  return typeof value === "string" ? value : undefined;
}
