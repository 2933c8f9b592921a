/**
 * `rivet check` (spec "Preflight Check"): for one export, without reading its data, the plan of
 * exactly the statement the run would send — rewritten for its mode (the stored incremental
 * cursor, the first chunk window, the time window, the first keyset page) — and what it means: row
 * estimate, range of the cursor or chunk column (read only when an index makes MIN/MAX cheap),
 * scan type, verdict, recommended profile and parallelism, warnings and suggestions.
 *
 * Only EXPLAIN (never ANALYZE) and, where an index serves it, one MIN/MAX statement run on the
 * source; both under the profile's statement timeout.
 *
 * @module
 */
import type { ExportConfig, Tuning } from "../config/types.ts";
import { errorMessage, TypeMappingError } from "../errors.ts";
import {
  chunkQuery,
  cutWindows,
  MAX_WINDOWS,
  rangeQuery,
  renderBound,
  windowCount,
} from "../plan/chunks.ts";
import type { ChunkRange } from "../plan/chunks.ts";
import { incrementalQuery } from "../plan/incremental.ts";
import { pageQuery } from "../plan/keyset.ts";
import { singleTableOf } from "../plan/single_table.ts";
import { timeWindowQuery, windowStart } from "../plan/time_window.ts";
import { dialectFor } from "../source/dialect.ts";
import { readColumnRange } from "../source/column_range.ts";
import type { QueryPlan, Source } from "../source/source.ts";
import { type Dialect, type SqlQuery, stripTerminator } from "../sql.ts";
import type { CursorState } from "../state/store.ts";
import {
  type IndexUse,
  modeText,
  PARALLEL_MEMORY_ROWS,
  type Parallelism,
  parallelismFor,
  profileFor,
  roughCount,
  strategyName,
  type Verdict,
  verdictFor,
} from "./advice.ts";

/** What `check` reports for one export (the `--json` object; docs/cli.md). */
export interface CheckReport {
  /** The export. */
  exportName: string;
  /** The spec's strategy name, e.g. `chunked-parallel(id, size=100000, p=4)`. */
  strategy: string;
  /** The mode with its settings. */
  mode: string;
  /** The planner's estimate of the rows the export reads. */
  rowEstimate: number | null;
  /** `min .. max` of the cursor or chunk column, or the time window's start. */
  cursorRange: string | null;
  /** Every table access of the planned statement, in the server's words. */
  scanType: string | null;
  /** EFFICIENT, ACCEPTABLE, DEGRADED or UNSAFE (null when the query did not plan). */
  verdict: Verdict | null;
  /** The recommended `tuning.profile`. */
  recommendedProfile: "fast" | "balanced" | "safe" | null;
  /** The recommended `parallel` and why. */
  parallelism: Parallelism | null;
  /** Risks to fix or accept. */
  warnings: string[];
  /** What would make the export cheaper, for its mode. */
  suggestions: string[];
  /** What was skipped and why. */
  notes: string[];
  /** The statement whose plan was read. */
  query: string;
  /** Why the query did not plan, when it did not. */
  error?: string;
}

/** What a check needs besides the source connection. */
export interface CheckInputs {
  /** The export. */
  exp: ExportConfig;
  /** The source's engine and tuning. */
  source: { type: "postgres" | "mysql"; tuning: Tuning };
  /** The export's stored incremental cursor, if any. */
  cursor?: CursorState;
  /** The clock for the time window. */
  now: Date;
}

/** Rows a sort gets through per second, to guess whether one statement outlasts its timeout. */
const SORT_ROWS_PER_SECOND = 500_000;

/** Checks one export on `source`; a query that does not plan is reported, not thrown. */
export async function checkExport(source: Source, inputs: CheckInputs): Promise<CheckReport> {
  const { exp } = inputs;
  const report: CheckReport = {
    exportName: exp.name,
    strategy: strategyName(exp.mode),
    mode: modeText(exp.mode) +
      (exp.keyColumns ? `, paged by key_column ${exp.keyColumns.join(", ")}` : ""),
    rowEstimate: null,
    cursorRange: null,
    scanType: null,
    verdict: null,
    recommendedProfile: null,
    parallelism: null,
    warnings: [],
    suggestions: [],
    notes: [],
    query: "",
  };
  try {
    await analyse(source, inputs, report);
  } catch (err) {
    report.error = errorMessage(err).split("\n")[0];
  }
  return report;
}

async function analyse(source: Source, inputs: CheckInputs, report: CheckReport): Promise<void> {
  const { exp, now } = inputs;
  const dialect = dialectFor(inputs.source.type);
  const base = stripTerminator(exp.query);
  const mode = exp.mode;
  let statement: SqlQuery = { text: base, params: [] };
  let range: ColumnRange | undefined;
  switch (mode.kind) {
    case "full":
      break;
    case "incremental": {
      const stored = inputs.cursor?.column === mode.cursorColumn ? inputs.cursor.value : null;
      statement = incrementalQuery(base, mode.cursorColumn, stored ?? undefined, dialect);
      if (stored) report.notes.push(`incremental cursor: after ${stored.text}`);
      range = await cheapRange(source, base, mode.cursorColumn, dialect, report);
      break;
    }
    case "time_window": {
      const start = windowStart(now, mode.daysWindow);
      statement = timeWindowQuery(base, mode.timeColumn, mode.timeColumnType, start, dialect);
      report.cursorRange = `${start.toISOString()} .. (now)`;
      break;
    }
    case "chunked": {
      range = await cheapRange(source, base, mode.chunkColumn, dialect, report);
      const columnRange = range?.range;
      if (columnRange) {
        const count = windowCount(columnRange, mode.chunkSize);
        if (count > MAX_WINDOWS) {
          report.warnings.push(
            `chunk_size ${mode.chunkSize} cuts the range into ${count} windows: the run refuses more than ${MAX_WINDOWS}`,
          );
        } else {
          const render = (v: bigint) => renderBound(columnRange.unit, v);
          const [first] = cutWindows(columnRange, mode.chunkSize, render);
          statement = chunkQuery(base, mode.chunkColumn, first, dialect);
        }
      }
      break;
    }
  }
  if (range) report.cursorRange = range.text;
  const total = mode.kind === "chunked"
    ? await source.explain({ text: base, params: [] })
    : undefined;
  // A keyset page's plan shows how each page reads; its LIMIT hides how many rows there are.
  const whole = exp.keyColumns && !total ? await source.explain(statement) : undefined;
  if (exp.keyColumns) {
    statement = pageQuery(
      statement,
      exp.keyColumns,
      undefined,
      inputs.source.tuning.batchSize + 1,
      dialect,
    );
  }
  report.query = statement.text;
  const plan = await source.explain(statement);
  const counted = total ?? whole ?? plan;
  const rows = counted.rows ?? 0;
  report.rowEstimate = counted.rows ?? null;
  report.scanType = plan.scans.map((s) => s.description).join("; ") || "no table access";
  const use = indexUse(plan);
  report.verdict = verdictFor(use, rows);
  report.recommendedProfile = profileFor(use !== "none", rows);
  report.parallelism = parallelismFor(mode.kind, use !== "none", rows);
  warn(inputs, plan, use, rows, range?.range?.unit === "int" ? range.range : undefined, report);
  await suggest(source, inputs, use, rows, report);
}

/** `index` when every table access uses an index, `none` when none does. */
function indexUse(plan: QueryPlan): IndexUse {
  const full = plan.scans.filter((s) => s.method === "full").length;
  if (full === 0) return "index";
  return full === plan.scans.length ? "none" : "partial";
}

/** The range of a cursor or chunk column, as read by {@link cheapRange}. */
interface ColumnRange {
  /** `min .. max` as printed. */
  text: string;
  /** The range in the column's unit. */
  range?: ChunkRange;
}

/**
 * MIN/MAX of `column` over the query, read only when the plan shows an index serves it (otherwise
 * it would scan the table: noted and skipped).
 */
async function cheapRange(
  source: Source,
  base: string,
  column: string,
  dialect: Dialect,
  report: CheckReport,
): Promise<ColumnRange | undefined> {
  const plan = await source.explain(rangeQuery(base, column, dialect));
  if (plan.scans.some((s) => s.method === "full")) {
    report.notes.push(
      `range of ${column} skipped: MIN/MAX would scan the table (no index on ${column})`,
    );
    return undefined;
  }
  let range: ChunkRange | undefined;
  try {
    range = await readColumnRange(source, base, column, dialect);
  } catch (err) {
    if (!(err instanceof TypeMappingError)) throw err;
    report.notes.push(`range of ${column} not shown: not an integer, date or timestamp column`);
    return undefined;
  }
  if (range === undefined) return { text: "(no values)" };
  return {
    text: `${renderBound(range.unit, range.min).text} .. ${
      renderBound(range.unit, range.max).text
    }`,
    range,
  };
}

function warn(
  inputs: CheckInputs,
  plan: QueryPlan,
  use: IndexUse,
  rows: number,
  range: ChunkRange | undefined,
  report: CheckReport,
): void {
  const { exp } = inputs;
  const mode = exp.mode;
  const tuning = inputs.source.tuning;
  if (mode.kind === "chunked") {
    if (range) {
      const span = Number(range.max - range.min) + 1;
      const density = rows / span;
      if (density < 0.1) {
        report.warnings.push(
          `Sparse key range: ~${Math.round((1 - density) * 100)}% of chunk windows will be empty (${
            roughCount(rows).slice(1)
          } rows over ${span} ${mode.chunkColumn} values); chunk on a dense surrogate such as ROW_NUMBER() OVER (ORDER BY ${mode.chunkColumn}) AS chunk_rownum`,
        );
      }
    }
    if (/\bROW_NUMBER\s*\(/i.test(exp.query)) {
      report.warnings.push(
        "Dense surrogate sort cost: ROW_NUMBER() orders the whole result once per window query; prefer an indexed key or a precomputed dense column",
      );
    }
    if (mode.parallel > 1 && rows > PARALLEL_MEMORY_ROWS) {
      report.warnings.push(
        `Parallel memory risk: parallel: ${mode.parallel} on ${
          roughCount(rows)
        } rows holds a batch and a writer per worker; watch peak RSS or set batch_size_memory_mb`,
      );
    }
  }
  const column = mode.kind === "incremental"
    ? mode.cursorColumn
    : mode.kind === "chunked"
    ? mode.chunkColumn
    : mode.kind === "time_window"
    ? mode.timeColumn
    : undefined;
  if (column !== undefined && use !== "index") {
    report.warnings.push(
      `No index on ${column}: the ${
        mode.kind === "chunked" ? "window" : mode.kind === "incremental" ? "cursor" : "window"
      } predicate is evaluated by scanning the table`,
    );
  }
  if (tuning.statementTimeoutS > 0) {
    const sortSeconds = plan.sorts ? rows / SORT_ROWS_PER_SECOND : 0;
    const pageScanSeconds = exp.keyColumns && use !== "index"
      ? rows / (2 * SORT_ROWS_PER_SECOND)
      : 0;
    const seconds = Math.max(sortSeconds, pageScanSeconds);
    if (seconds > tuning.statementTimeoutS) {
      report.warnings.push(
        `A statement may exceed statement_timeout_s=${tuning.statementTimeoutS}: ${
          plan.sorts
            ? `the plan sorts ~${roughCount(rows).slice(1)} rows before the first one arrives`
            : "each page scans the table"
        }`,
      );
    }
  }
}

async function suggest(
  source: Source,
  inputs: CheckInputs,
  use: IndexUse,
  rows: number,
  report: CheckReport,
): Promise<void> {
  const { exp } = inputs;
  const mode = exp.mode;
  const tuning = inputs.source.tuning;
  if (use === "none") {
    switch (mode.kind) {
      case "full":
        report.suggestions.push(
          "No index detected -- full table scan. Add an indexed cursor column and switch to incremental mode. Use 'safe' tuning profile to limit database impact.",
        );
        break;
      case "incremental":
        report.suggestions.push(
          `Index the cursor column ${mode.cursorColumn} so each run reads only new rows.`,
        );
        break;
      case "chunked":
        report.suggestions.push(
          `Index the chunk column ${mode.chunkColumn} so each window is a range scan.`,
        );
        break;
      case "time_window":
        report.suggestions.push(
          `Index the time column ${mode.timeColumn} so the window is a range scan.`,
        );
        break;
    }
  }
  if (mode.kind === "chunked" && mode.parallel === 1 && rows > 1_000_000 && use !== "none") {
    report.suggestions.push(
      `Large dataset (${roughCount(rows)} rows). Add parallel > 1 to speed up extraction.`,
    );
  }
  if (mode.kind === "full" && rows > LARGE_FULL_ROWS) {
    report.suggestions.push(
      `Large dataset (${
        roughCount(rows)
      } rows) read in full every run: consider mode: incremental, or mode: chunked with parallel.`,
    );
  }
  if (
    !exp.keyColumns && tuning.profile !== "fast" && rows >= 1_000_000 && mode.kind !== "chunked"
  ) {
    const table = singleTableOf(exp.query);
    const key = table === undefined
      ? undefined
      : await source.primaryKey(table).catch(() => undefined);
    report.warnings.push(
      `No key_column on ~${roughCount(rows).slice(1)} rows: ${
        inputs.source.type === "postgres"
          ? "PostgreSQL keeps one transaction open for the whole export"
          : "MySQL reads it as one statement"
      }; ${
        key
          ? `set key_column: ${
            key.length === 1 ? key[0] : `[${key.join(", ")}]`
          } (${table}'s primary key)`
          : "set key_column to a unique, indexed column"
      } to read in short pages`,
    );
  }
}

/** A full export above this many rows gets a suggestion to read less each run. */
const LARGE_FULL_ROWS = 10_000_000;
