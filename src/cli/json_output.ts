/**
 * The `--json` output of `run`, `state show`, `state files` and `metrics`: one JSON object per
 * line (like `rivet check --json`), with field names that are part of the CLI's contract
 * (docs/cli.md): every field is always present (`null` when it does not apply), counts and
 * durations are numbers, timestamps are ISO 8601 strings. Cursor values stay strings: they are
 * the exact text of the value, which a 64-bit integer or a decimal would not survive as a JSON
 * number.
 *
 * @module
 */
import type { ExportSummary } from "../pipeline/summary.ts";
import type { CursorState, FileRecord, MetricsRecord } from "../state/store.ts";

/** A value JSON can carry. */
type Json = string | number | boolean | null | Json[] | { [key: string]: Json };

/** `record` as one line of JSON. */
function line(record: { [key: string]: Json }): string {
  return JSON.stringify(record) + "\n";
}

/**
 * One `rivet run --json` line: an export's summary.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 *
 * const text = summaryJson({
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
 *   longestStatementMs: 41.6,
 *   longestTransactionMs: 2900,
 *   locations: ["/data/out/orders_20260329_125109_336.parquet"],
 * });
 * const parsed = JSON.parse(text);
 * assert.equal(parsed.rows, 150000);
 * assert.equal(parsed.longestStatementMs, 42);
 * assert.equal(parsed.validated, null);
 * ```
 */
export function summaryJson(s: ExportSummary): string {
  return line({
    exportName: s.exportName,
    runId: s.runId,
    status: s.status,
    exitCode: s.exitCode,
    rows: s.rows,
    files: s.files,
    bytes: s.bytes,
    durationMs: s.durationMs,
    peakRssMb: s.peakRssMb,
    retries: s.retries,
    longestStatementMs: Math.round(s.longestStatementMs),
    longestTransactionMs: Math.round(s.longestTransactionMs),
    validated: s.validated ?? null,
    quality: s.quality ?? null,
    reconciled: s.reconciled ?? null,
    schema: s.schema ?? null,
    locations: s.locations,
    error: s.error ?? null,
  });
}

/** One `rivet state show --json` line: an export's stored cursor. */
export function cursorJson(c: CursorState): string {
  return line({
    exportName: c.exportName,
    cursorColumn: c.column,
    cursorValue: c.value?.text ?? null,
    cursorKind: c.value?.kind ?? null,
    lastRunAt: c.lastRunAt,
  });
}

/** One `rivet state files --json` line: a file of the manifest. */
export function fileJson(f: FileRecord): string {
  return line({
    runId: f.runId,
    exportName: f.exportName,
    fileName: f.fileName,
    location: f.location,
    rows: f.rows,
    bytes: f.bytes,
    format: f.format,
    compression: f.compression,
    createdAt: f.createdAt,
  });
}

/** One `rivet metrics --json` line: a run of the history. */
export function metricsJson(m: MetricsRecord): string {
  return line({
    exportName: m.exportName,
    runId: m.runId,
    runAt: m.runAt,
    status: m.status,
    rows: m.rows,
    files: m.files,
    bytes: m.bytes,
    durationMs: m.durationMs,
    peakRssMb: m.peakRssMb,
    retries: m.retries,
    profile: m.profile,
    format: m.format,
    mode: m.mode,
    validated: m.validated,
    quality: m.qualityPassed,
    reconciled: m.reconciled,
    schemaChanged: m.schemaChanged,
    longestStatementMs: m.longestStatementMs,
    longestTransactionMs: m.longestTransactionMs,
    error: m.error,
  });
}
