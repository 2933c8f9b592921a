/**
 * Every run, successful, skipped or failed, leaves one row in `export_metrics` (spec "Run
 * Summary": all summary fields are persisted). Failing to record it is logged, never fatal: the
 * export's own outcome stands.
 *
 * @module
 */
import type { Config, ExportConfig } from "../config/types.ts";
import type { StateStore } from "../state/store.ts";
import { log } from "../util/log.ts";
import { describeError } from "./describe_error.ts";
import type { ExportSummary } from "./summary.ts";

/** Appends the metrics row of one finished export run. */
export function recordMetrics(
  store: StateStore,
  config: Config,
  exp: ExportConfig,
  s: ExportSummary,
  started: Date,
): void {
  try {
    store.recordMetrics({
      exportName: s.exportName,
      runId: s.runId,
      runAt: started.toISOString(),
      durationMs: s.durationMs,
      rows: s.rows,
      peakRssMb: s.peakRssMb,
      status: s.status,
      error: s.error ?? null,
      profile: config.source.tuning.profile,
      format: exp.format,
      mode: exp.mode.kind,
      files: s.files,
      bytes: s.bytes,
      retries: s.retries,
      validated: s.validated ?? null,
      schemaChanged: s.schema === undefined ? null : s.schema === "CHANGED",
      longestStatementMs: Math.round(s.longestStatementMs),
      longestTransactionMs: Math.round(s.longestTransactionMs),
      qualityPassed: s.quality ?? null,
      reconciled: s.reconciled ?? null,
    });
  } catch (err) {
    log.error(`export '${s.exportName}': could not record metrics: ${describeError(err)}`);
  }
}
