/**
 * How `rivet check` prints its reports: the spec's layout ("Preflight Check"), one block per
 * export, or one JSON object per line with `--json`.
 *
 * @module
 */
import { roughCount } from "./advice.ts";
import type { CheckReport } from "./check.ts";

/**
 * One export's block of text.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 *
 * const text = formatCheck({
 *   exportName: "events_full",
 *   strategy: "full-scan",
 *   mode: "full",
 *   rowEstimate: 5_000_000,
 *   cursorRange: null,
 *   scanType: "Seq Scan on events",
 *   verdict: "DEGRADED",
 *   recommendedProfile: "safe",
 *   parallelism: { workers: 1, reason: "full reads one stream" },
 *   warnings: [],
 *   suggestions: ["No index detected -- full table scan."],
 *   notes: [],
 *   query: "SELECT * FROM events",
 * });
 * assert.equal(
 *   text,
 *   [
 *     "Export: events_full",
 *     "  Strategy: full-scan",
 *     "  Mode: full",
 *     "  Row estimate: ~5M",
 *     "  Scan type: Seq Scan on events",
 *     "  Verdict: DEGRADED",
 *     "  Recommended: tuning.profile: safe",
 *     "  Parallelism: 1 (full reads one stream)",
 *     "  Suggestion: No index detected -- full table scan.",
 *     "",
 *   ].join("\n"),
 * );
 * ```
 */
export function formatCheck(r: CheckReport): string {
  const lines = [`Export: ${r.exportName}`, `  Strategy: ${r.strategy}`, `  Mode: ${r.mode}`];
  if (r.error !== undefined) {
    lines.push(`  Error: ${r.error}`);
  } else {
    if (r.rowEstimate !== null) lines.push(`  Row estimate: ${roughCount(r.rowEstimate)}`);
    if (r.cursorRange !== null) lines.push(`  Cursor range: ${r.cursorRange}`);
    if (r.scanType !== null) lines.push(`  Scan type: ${r.scanType}`);
    if (r.verdict !== null) lines.push(`  Verdict: ${r.verdict}`);
    if (r.recommendedProfile !== null) {
      lines.push(`  Recommended: tuning.profile: ${r.recommendedProfile}`);
    }
    if (r.parallelism !== null) {
      lines.push(`  Parallelism: ${r.parallelism.workers} (${r.parallelism.reason})`);
    }
  }
  for (const w of r.warnings) lines.push(`  Warning: ${w}`);
  for (const s of r.suggestions) lines.push(`  Suggestion: ${s}`);
  for (const n of r.notes) lines.push(`  Note: ${n}`);
  return lines.join("\n") + "\n";
}

/** One export's report as one line of JSON (`--json`). */
export function checkJson(r: CheckReport): string {
  return JSON.stringify(r) + "\n";
}
