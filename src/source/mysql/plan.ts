/**
 * Reads MySQL 8's and MariaDB's `EXPLAIN FORMAT=JSON` output into a {@link QueryPlan}.
 *
 * Both print one object with a `query_block`, but nest it differently:
 * - MariaDB: a block holds a `table` or a `nested_loop` of `{ table }` entries, possibly wrapped in
 *   `read_sorted_file` / `filesort`, `temporary_table`, `block-nl-join`, `duplicates_removal` or
 *   `window_functions_computation`; a sort is a `filesort` object. Each table has `table_name`,
 *   `access_type`, `key`, `rows` (read per lookup) and `filtered` (a number). Derived tables and
 *   semi-join materializations are tables named `<derivedN>` / `<subqueryN>` whose `materialized`
 *   holds the inner block; other subqueries sit under `subqueries`.
 * - MySQL 8 (JSON format version 1, the default): the block has `cost_info` and a `table` or
 *   `nested_loop`, wrapped in `ordering_operation`, `grouping_operation`, `duplicates_removal` or
 *   `windowing`, each with a `using_filesort` flag. Each table has `table_name`, `access_type`,
 *   `key`, `rows_examined_per_scan`, `rows_produced_per_join` and `filtered` (a string such as
 *   `"10.00"`). A derived table keeps its alias as `table_name` and holds the inner block under
 *   `materialized_from_subquery`; subqueries sit under `attached_subqueries`,
 *   `select_list_subqueries` and the like. A block without tables says why in `message`.
 *
 * The mapping, the same for both:
 * - `scans`: every table found anywhere in the plan, in document order (join order, outer first),
 *   except the server's own temporary tables (`<derived2>`, `<subquery2>`, `<union1,2>`, or any
 *   table read from a materialization), whose inner accesses are reported instead. MySQL's
 *   `optimized_away_subqueries` are included: the optimizer runs them once, reads and all.
 *   `access_type` `ALL` is `full`; `index` (a full index scan) and every lookup (`range`, `ref`,
 *   `eq_ref`, `const`, `system`, `index_merge`, ...) are `index`; an access that names no index
 *   (other than a one-row `system` table) is `full`. MariaDB's hash joins (`hash_ALL`, ...) map
 *   as their base type. A block whose `message` is `Select tables optimized away` (MIN/MAX
 *   answered from an index end) counts as one `index` scan of an unnamed table.
 * - `sorts`: a `filesort` (MariaDB) or `using_filesort: true` (MySQL 8) anywhere.
 * - `rows`, for the top-level block: MySQL 8's `rows_produced_per_join` of the last table joined
 *   (the optimizer's estimate of the whole join's output, after `filtered`); on MariaDB, which
 *   has no such field, the product over the joined tables of `rows` × `filtered` / 100, as
 *   `explain.ts`'s `estimateRows` computes it. A materialized derived table counts with its own
 *   estimate; a UNION is the sum of its branches. Not accounted for: LIMIT, GROUP BY and
 *   DISTINCT, which only shrink the result. No estimate when the block has no table with rows
 *   (`No tables used`, `Impossible WHERE`, tables optimized away).
 *
 * @module
 */
import { SourceError } from "../../errors.ts";
import type { PlanScan, QueryPlan } from "../source.ts";

type JsonObject = Record<string, unknown>;

/** The `message` of a block whose MIN()/MAX() the optimizer answered from an index end. */
const OPTIMIZED_AWAY = "Select tables optimized away";

/** Keys under which a table is read from a temporary table the server filled first. */
const MATERIALIZED = ["materialized", "materialized_from_subquery"];

/** Keys that lead from one query block into another. */
const BLOCK_KEYS = new Set([
  "query_block",
  "query_specifications",
  "union_result",
  ...MATERIALIZED,
]);

/** How descriptions name the access types that are scans rather than lookups. */
const ACCESS_WORDS: Readonly<Record<string, string>> = {
  ALL: "full table scan",
  index: "full index scan",
  range: "range scan",
  index_merge: "index merge",
};

/**
 * The {@link QueryPlan} of `output`, the parsed result of `EXPLAIN FORMAT=JSON` on MySQL 8 or
 * MariaDB.
 *
 * @throws {SourceError} when `output` has no `query_block` (e.g. MySQL's
 * `explain_json_format_version = 2`, a different document).
 *
 * @example MariaDB: an index range scan joined to a full scan, sorted
 * ```ts
 * import assert from "node:assert/strict";
 *
 * const output = {
 *   query_block: {
 *     select_id: 1,
 *     nested_loop: [
 *       {
 *         read_sorted_file: {
 *           filesort: {
 *             sort_key: "o.total",
 *             table: {
 *               table_name: "o",
 *               access_type: "range",
 *               key: "idx_orders_updated_at",
 *               rows: 1280,
 *               filtered: 100,
 *             },
 *           },
 *         },
 *       },
 *       {
 *         "block-nl-join": {
 *           table: { table_name: "c", access_type: "ALL", rows: 50, filtered: 10 },
 *           join_type: "BNL",
 *         },
 *       },
 *     ],
 *   },
 * };
 * assert.deepEqual(readPlan(output), {
 *   rows: 6400,
 *   scans: [
 *     {
 *       method: "index",
 *       table: "o",
 *       index: "idx_orders_updated_at",
 *       description: "range scan on o using idx_orders_updated_at",
 *     },
 *     { method: "full", table: "c", description: "full table scan on c" },
 *   ],
 *   sorts: true,
 * });
 * ```
 */
export function readPlan(output: unknown): QueryPlan {
  const block = isObject(output) ? output.query_block : undefined;
  if (!isObject(block)) {
    throw new SourceError(
      "MySQL: EXPLAIN FORMAT=JSON returned a plan without a query_block, which rivet cannot " +
        "read (MySQL's explain_json_format_version must be 1, its default)",
      "permanent",
    );
  }
  const plan: QueryPlan = { scans: [], sorts: false };
  const rows = blockRows(block);
  if (rows !== undefined) plan.rows = rows;
  walk(block, "query_block", plan);
  return plan;
}

/** Collects the scans and sorts of `value`, found under `key`. */
function walk(value: unknown, key: string, plan: QueryPlan): void {
  if (Array.isArray(value)) {
    for (const item of value) walk(item, key, plan);
    return;
  }
  if (!isObject(value)) return;
  if (key === "filesort" || value.using_filesort === true) plan.sorts = true;
  if (value.message === OPTIMIZED_AWAY) {
    plan.scans.push({ method: "index", description: OPTIMIZED_AWAY });
  }
  if (key === "table" && isTableAccess(value)) plan.scans.push(tableScan(value));
  for (const [childKey, child] of Object.entries(value)) walk(child, childKey, plan);
}

/** Whether `table` reads a table of the database, rather than one the server made. */
function isTableAccess(table: JsonObject): boolean {
  const name = table.table_name;
  return typeof name === "string" && !/^<.*>$/.test(name) &&
    !MATERIALIZED.some((key) => key in table);
}

function tableScan(table: JsonObject): PlanScan {
  const name = String(table.table_name);
  const type = text(table.access_type) ?? "";
  // MariaDB's hash joins (join_cache_level >= 3) prefix the access type of the table they hash.
  const hashed = type.startsWith("hash_");
  const access = hashed ? type.slice("hash_".length) : type;
  const index = text(table.key) ?? mergedKeys(table.index_merge);
  // `system` is a table of at most one row; any other access naming no index may read it all.
  const full = access === "ALL" || (index === undefined && access !== "system");
  const using = index === undefined ? "" : ` using ${index}`;
  const what = ACCESS_WORDS[access] ?? `${access || "unknown"} lookup`;
  const scan: PlanScan = {
    method: full ? "full" : "index",
    table: name,
    description: `${what} on ${name}${using}${hashed ? " (hash join)" : ""}`,
  };
  if (!full && index !== undefined) scan.index = index;
  return scan;
}

/** MariaDB's index merge names its indexes inside `index_merge`, not in `key`. */
function mergedKeys(merge: unknown): string | undefined {
  const keys: string[] = [];
  const collect = (value: unknown, key: string): void => {
    if (key === "key" && typeof value === "string") keys.push(value);
    else if (Array.isArray(value)) value.forEach((item) => collect(item, key));
    else if (isObject(value)) Object.entries(value).forEach(([k, v]) => collect(v, k));
  };
  collect(merge, "index_merge");
  return keys.length === 0 ? undefined : keys.join(", ");
}

/** The estimated rows `block` returns (see the module doc). */
function blockRows(block: JsonObject): number | undefined {
  const union = block.union_result;
  if (isObject(union)) {
    const branches = Array.isArray(union.query_specifications) ? union.query_specifications : [];
    let sum = 0;
    for (const branch of branches) {
      const rows = isObject(branch) && isObject(branch.query_block)
        ? blockRows(branch.query_block)
        : undefined;
      if (rows === undefined) return undefined;
      sum += rows;
    }
    return branches.length === 0 ? undefined : sum;
  }
  const tables = joinTables(block);
  if (tables.length === 0) return undefined;
  const produced = number(tables[tables.length - 1].rows_produced_per_join);
  if (produced !== undefined) return produced;
  let rows = 1;
  for (const table of tables) {
    const read = number(table.rows);
    if (read === undefined) return undefined;
    rows *= read * (number(table.filtered) ?? 100) / 100;
  }
  return Number.isFinite(rows) ? Math.round(rows) : undefined;
}

/** The tables of the join `node` runs, in join order, not looking into other query blocks. */
function joinTables(node: JsonObject): JsonObject[] {
  if (isObject(node.table)) return [node.table];
  const tables: JsonObject[] = [];
  for (const [key, child] of Object.entries(node)) {
    if (BLOCK_KEYS.has(key) || key.endsWith("subqueries")) continue;
    for (const item of Array.isArray(child) ? child : [child]) {
      if (isObject(item)) tables.push(...joinTables(item));
    }
  }
  return tables;
}

/** A number, or a number MySQL printed as a string. */
function number(value: unknown): number | undefined {
  const n = typeof value === "string" && value.trim() !== "" ? Number(value) : value;
  return typeof n === "number" && Number.isFinite(n) ? n : undefined;
}

function isObject(value: unknown): value is JsonObject {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function text(value: unknown): string | undefined {
  return typeof value === "string" ? value : undefined;
}
