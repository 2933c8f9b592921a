/**
 * The rules of `rivet check` (spec "Preflight Check"): from what the planner says about an
 * export's query — its row estimate and whether it reads through indexes — the verdict, the
 * recommended tuning profile and parallelism, and the strategy's name. Pure functions of plain
 * numbers, so the spec's tables can be read off this file.
 *
 * @module
 */
import type { ExportModeConfig } from "../config/types.ts";

/** The spec's verdicts, best first. */
export type Verdict = "EFFICIENT" | "ACCEPTABLE" | "DEGRADED" | "UNSAFE";

/** How a query reads its tables, from its plan's scans. */
export type IndexUse = "index" | "partial" | "none";

/** Above this many rows an index scan is "very large" (ACCEPTABLE) and the profile is `safe`. */
export const LARGE_ROWS = 10_000_000;
/** Above this many rows a full scan is UNSAFE. */
export const HUGE_ROWS = 50_000_000;
/** Above this many rows parallel workers are a memory risk. */
export const PARALLEL_MEMORY_ROWS = 5_000_000;

/**
 * The verdict (spec "Verdicts"): EFFICIENT for an index scan on a reasonable row count, ACCEPTABLE
 * for an index scan on a very large one or partial index coverage, DEGRADED for a full scan of a
 * manageable table, UNSAFE for a full scan of more than 50 M rows.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 *
 * assert.equal(verdictFor("index", 1_000_000), "EFFICIENT");
 * assert.equal(verdictFor("index", 20_000_000), "ACCEPTABLE");
 * assert.equal(verdictFor("partial", 1_000), "ACCEPTABLE");
 * assert.equal(verdictFor("none", 5_000_000), "DEGRADED");
 * assert.equal(verdictFor("none", 60_000_000), "UNSAFE");
 * ```
 */
export function verdictFor(use: IndexUse, rows: number): Verdict {
  switch (use) {
    case "index":
      return rows < LARGE_ROWS ? "EFFICIENT" : "ACCEPTABLE";
    case "partial":
      return "ACCEPTABLE";
    case "none":
      return rows > HUGE_ROWS ? "UNSAFE" : "DEGRADED";
  }
}

/**
 * The recommended profile (spec "Profile Recommendation"): indexed reads are safe to run faster;
 * full scans earn the gentler profiles sooner.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 *
 * assert.equal(profileFor(true, 500_000), "fast");
 * assert.equal(profileFor(true, 5_000_000), "balanced");
 * assert.equal(profileFor(false, 50_000), "fast");
 * assert.equal(profileFor(false, 500_000), "balanced");
 * assert.equal(profileFor(false, 2_000_000), "safe");
 * ```
 */
export function profileFor(indexed: boolean, rows: number): "fast" | "balanced" | "safe" {
  if (indexed) return rows < 1_000_000 ? "fast" : rows <= LARGE_ROWS ? "balanced" : "safe";
  return rows < 100_000 ? "fast" : rows <= 1_000_000 ? "balanced" : "safe";
}

/** A recommended number of parallel workers and why. */
export interface Parallelism {
  /** Workers to set as `parallel`. */
  workers: number;
  /** One line saying why. */
  reason: string;
}

/**
 * The recommended `parallel`. Only chunked exports read in parallel; windows over a full scan
 * would each scan the whole table, so they stay sequential.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 *
 * assert.equal(parallelismFor("chunked", true, 20_000_000).workers, 4);
 * assert.equal(parallelismFor("chunked", false, 20_000_000).workers, 1);
 * assert.equal(parallelismFor("full", true, 20_000_000).workers, 1);
 * ```
 */
export function parallelismFor(
  mode: ExportModeConfig["kind"],
  indexed: boolean,
  rows: number,
): Parallelism {
  if (mode !== "chunked") {
    return {
      workers: 1,
      reason: `${mode} reads one stream; mode: chunked reads windows in parallel`,
    };
  }
  if (!indexed) {
    return { workers: 1, reason: "without an index each window scans the whole table" };
  }
  if (rows < 1_000_000) return { workers: 1, reason: "small enough for one connection" };
  if (rows <= LARGE_ROWS) {
    return { workers: 2, reason: "a few million rows: two windows at once halve the wall time" };
  }
  return {
    workers: 4,
    reason: "large dataset: four windows at once; memory grows with each worker",
  };
}

/**
 * The strategy's name (spec "Strategy Names").
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 *
 * assert.equal(
 *   strategyName({ kind: "chunked", chunkColumn: "id", chunkSize: 100000, parallel: 4 }),
 *   "chunked-parallel(id, size=100000, p=4)",
 * );
 * assert.equal(
 *   strategyName({ kind: "time_window", timeColumn: "at", timeColumnType: "timestamp", daysWindow: 7 }),
 *   "time-window(at, 7d)",
 * );
 * ```
 */
export function strategyName(mode: ExportModeConfig): string {
  switch (mode.kind) {
    case "full":
      return "full-scan";
    case "incremental":
      return `incremental(${mode.cursorColumn})`;
    case "chunked":
      return mode.parallel > 1
        ? `chunked-parallel(${mode.chunkColumn}, size=${mode.chunkSize}, p=${mode.parallel})`
        : `chunked(${mode.chunkColumn}, size=${mode.chunkSize})`;
    case "time_window":
      return `time-window(${mode.timeColumn}, ${mode.daysWindow}d)`;
  }
}

/**
 * The mode as `check` prints it, with its settings.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 *
 * assert.equal(modeText({ kind: "incremental", cursorColumn: "updated_at" }), "incremental (cursor: updated_at)");
 * ```
 */
export function modeText(mode: ExportModeConfig): string {
  switch (mode.kind) {
    case "full":
      return "full";
    case "incremental":
      return `incremental (cursor: ${mode.cursorColumn})`;
    case "chunked":
      return `chunked (column: ${mode.chunkColumn}, size: ${mode.chunkSize}${
        mode.parallel > 1 ? `, parallel: ${mode.parallel}` : ""
      })`;
    case "time_window":
      return `time_window (column: ${mode.timeColumn}, ${mode.timeColumnType}, days: ${mode.daysWindow})`;
  }
}

/**
 * A row count the way `check` prints estimates: `~950`, `~12K`, `~1M`, `~1.5M`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 *
 * assert.deepEqual([roughCount(950), roughCount(12_345), roughCount(1_000_000), roughCount(1_520_000)], [
 *   "~950",
 *   "~12K",
 *   "~1M",
 *   "~1.5M",
 * ]);
 * ```
 */
export function roughCount(rows: number): string {
  const unit = rows >= 1e9
    ? ["B", 1e9]
    : rows >= 1e6
    ? ["M", 1e6]
    : rows >= 1e3
    ? ["K", 1e3]
    : ["", 1];
  const value = rows / (unit[1] as number);
  const text = value >= 10 || unit[0] === ""
    ? String(Math.round(value))
    : String(Math.round(value * 10) / 10);
  return `~${text}${unit[0]}`;
}
