/**
 * The per-export run summary (spec "Run Summary") and its text rendering.
 *
 * @module
 */
import { formatBytes, formatDuration } from "../util/format.ts";

/** The outcome of one export run. */
export interface ExportSummary {
  /** The export's name. */
  exportName: string;
  /** Links the summary to its metrics row and manifest rows, e.g. `orders_20260329T125109.336`. */
  runId: string;
  /** `skipped` only with `skip_empty` and no rows. */
  status: "success" | "failed" | "skipped";
  /**
   * The exit code this export alone calls for: 0 success or skipped, 2 failed, 3 failed a data
   * integrity check (see `ExitCode`).
   */
  exitCode: number;
  /** Rows extracted. */
  rows: number;
  /** Files delivered (0 when the query returned no rows). */
  files: number;
  /** Total size of the delivered files. */
  bytes: number;
  /** Wall-clock time of the export. */
  durationMs: number;
  /** Peak resident memory of the process during the export, in MiB. */
  peakRssMb: number;
  /** Retry attempts (0 when none were needed). */
  retries: number;
  /** The longest statement the export ran on the source, in ms (client-side). */
  longestStatementMs: number;
  /** The longest transaction the export held open on the source, in ms (client-side). */
  longestTransactionMs: number;
  /** Set when `--validate` ran: did the file hold every row read? */
  validated?: boolean;
  /** Set when the export has quality rules: did every check pass? */
  quality?: boolean;
  /** Set with `--reconcile`: did every file match the source column by column? */
  reconciled?: boolean;
  /** `unchanged` / `CHANGED`; absent on an export's first run. */
  schema?: "unchanged" | "CHANGED";
  /** Where the files went (paths, URIs or `stdout`). */
  locations: string[];
  /** One-line failure message, on failure. */
  error?: string;
}

/**
 * Renders a summary block (spec "Run Summary").
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 *
 * const text = formatSummary({
 *   exportName: "orders",
 *   runId: "orders_20260329T125109.336",
 *   status: "success",
 *   exitCode: 0,
 *   rows: 150000,
 *   files: 1,
 *   bytes: 13_002_342,
 *   durationMs: 3200,
 *   peakRssMb: 142,
 *   retries: 0,
 *   longestStatementMs: 420,
 *   longestTransactionMs: 2900,
 *   locations: ["/data/out/orders_20260329_125109_336.parquet"],
 * });
 * assert.match(text, /^── orders ──\n {2}run_id: {14}orders_20260329T125109\.336\n/);
 * assert.match(text, /\n {2}rows: {16}150000\n/);
 * assert.match(text, /\n {2}longest transaction: 2\.9s\n/);
 * ```
 */
export function formatSummary(s: ExportSummary): string {
  const lines: [string, string][] = [
    ["run_id", s.runId],
    ["status", s.status],
    ["rows", String(s.rows)],
    ["files", String(s.files)],
    ["bytes", formatBytes(s.bytes)],
    ["duration", formatDuration(s.durationMs)],
    ["peak RSS", `${s.peakRssMb}MB`],
    ["retries", String(s.retries)],
    ["longest statement", formatDuration(s.longestStatementMs)],
    ["longest transaction", formatDuration(s.longestTransactionMs)],
  ];
  if (s.validated !== undefined) lines.push(["validated", s.validated ? "pass" : "FAIL"]);
  if (s.quality !== undefined) lines.push(["quality", s.quality ? "pass" : "FAIL"]);
  if (s.reconciled !== undefined) lines.push(["reconciled", s.reconciled ? "pass" : "FAIL"]);
  if (s.schema !== undefined) lines.push(["schema", s.schema]);
  for (const location of s.locations) lines.push(["file", location]);
  if (s.error !== undefined) lines.push(["error", s.error]);
  const body = lines.map(([k, v]) => `  ${(k + ":").padEnd(20)} ${v}`).join("\n");
  return `── ${s.exportName} ──\n${body}\n`;
}
