/**
 * The per-export run summary (spec "Run Summary") and its text rendering.
 *
 * @module
 */
import { formatBytes, formatDuration } from "../util/format.ts";

/** The outcome of one export run. */
export interface ExportSummary {
  exportName: string;
  runId: string;
  status: "success" | "failed" | "skipped";
  rows: number;
  files: number;
  bytes: number;
  durationMs: number;
  peakRssMb: number;
  retries: number;
  /** Set when `--validate` ran: did the file hold every row read? */
  validated?: boolean;
  /** `unchanged` / `CHANGED`; absent on an export's first run. */
  schema?: "unchanged" | "CHANGED";
  /** Where the files went (paths, URIs or `stdout`). */
  locations: string[];
  /** One-line failure message, on failure. */
  error?: string;
}

/**
 * Renders a summary block.
 *
 * @example
 * ```text
 * ── orders ──
 *   run_id:   orders_20260329T125109.336
 *   status:   success
 *   rows:     150000
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
  ];
  if (s.validated !== undefined) lines.push(["validated", s.validated ? "pass" : "FAIL"]);
  if (s.schema !== undefined) lines.push(["schema", s.schema]);
  for (const location of s.locations) lines.push(["file", location]);
  if (s.error !== undefined) lines.push(["error", s.error]);
  const body = lines.map(([k, v]) => `  ${(k + ":").padEnd(11)} ${v}`).join("\n");
  return `── ${s.exportName} ──\n${body}\n`;
}
