/**
 * One export's lifecycle (spec "Execution Semantics"). Once per export: state read → plan the
 * pieces. Per piece (see `piece.ts`): extract with retries on fresh connections → validate →
 * commit its files. Once more per export, after every piece is delivered: cursor and schema in one
 * state transaction → metrics → summary. The cursor moves only after the files are durably at the
 * destination; any failure leaves the cursor as it was and discards what is staged.
 *
 * @module
 */
import type { Schema } from "apache-arrow";
import type { Config, ExportConfig } from "../config/types.ts";
import { createDestination } from "../destination/create.ts";
import { runIdFor } from "../destination/file_name.ts";
import { DataIntegrityError, ExitCode } from "../errors.ts";
import { planPieces } from "../plan/plan.ts";
import { dialectFor } from "../source/dialect.ts";
import type { Source } from "../source/source.ts";
import type { StateStore } from "../state/store.ts";
import { log } from "../util/log.ts";
import type { ExportContext } from "./context.ts";
import { resumeCursor } from "./cursor.ts";
import { describeError } from "./describe_error.ts";
import { type EventListener, safeListener } from "./events.ts";
import { saveExportState } from "./export_state.ts";
import { recordMetrics } from "./metrics.ts";
import { type DeliveredPiece, runPiece } from "./piece.ts";
import { RssSampler } from "./rss.ts";
import type { ExportSummary } from "./summary.ts";

/** What {@link runExport} needs from the run. */
export interface ExportRequest {
  /** The whole config. */
  config: Config;
  /** The export to run. */
  exp: ExportConfig;
  /** The open state database. */
  store: StateStore;
  /** Re-read each finished file and compare its row count (`--validate`). */
  validate: boolean;
  /** Opens a fresh source connection (one per attempt). */
  openSource: (config: Config["source"]) => Promise<Source>;
  /** Receives the run's events. */
  onEvent?: EventListener;
  /** Stops the run. */
  signal?: AbortSignal;
}

/** Runs one export to completion and returns its summary; never throws for export failures. */
export async function runExport(request: ExportRequest): Promise<ExportSummary> {
  const { config, exp, store } = request;
  const started = new Date();
  const rss = new RssSampler();
  const summary: ExportSummary = {
    exportName: exp.name,
    runId: runIdFor(exp.name, started),
    status: "success",
    exitCode: ExitCode.Ok,
    rows: 0,
    files: 0,
    bytes: 0,
    durationMs: 0,
    peakRssMb: 0,
    retries: 0,
    locations: [],
  };
  const ctx: ExportContext = {
    ...request,
    runId: summary.runId,
    destination: createDestination(exp.destination),
    emit: safeListener(request.onEvent),
  };
  try {
    log.info(`export '${exp.name}': starting (${exp.mode.kind}, ${exp.format}, run ${ctx.runId})`);
    const pieces = planPieces(exp, resumeCursor(store, exp), dialectFor(config.source.type));
    ctx.emit({
      type: "started",
      exportName: exp.name,
      runId: ctx.runId,
      mode: exp.mode.kind,
      format: exp.format,
      pieces: pieces.length,
    });
    const delivered: DeliveredPiece[] = [];
    for (const piece of pieces) {
      const done = await runPiece(ctx, piece, summary);
      delivered.push(done);
      for (const file of done.files) {
        summary.files++;
        summary.bytes += file.bytes;
        summary.locations.push(file.location);
      }
    }
    if (summary.rows === 0 && exp.skipEmpty) {
      summary.status = "skipped";
      log.info(`export '${exp.name}': no rows; skipped (skip_empty), cursor unchanged`);
    } else {
      if (summary.rows === 0) log.info(`export '${exp.name}': no rows; no file written`);
      summary.schema = saveExportState(
        ctx,
        schemaOf(delivered),
        summary.rows,
        delivered.at(-1)?.cursor,
      );
      if (ctx.validate) summary.validated = true;
    }
  } catch (err) {
    summary.status = "failed";
    summary.error = describeError(err);
    if (err instanceof DataIntegrityError) {
      summary.exitCode = ExitCode.DataIntegrity;
      if (ctx.validate) summary.validated = false;
    } else {
      summary.exitCode = ExitCode.ExportFailed;
    }
    log.error(`export '${exp.name}': ${summary.error}`);
    if (err instanceof Error && err.cause) log.debug(`cause: ${describeError(err.cause)}`);
  } finally {
    summary.durationMs = Date.now() - started.getTime();
    summary.peakRssMb = rss.stop();
  }
  recordMetrics(store, config, exp, summary, started);
  ctx.emit({ type: "finished", summary });
  return summary;
}

/** Every piece reads the same query shape, so the first piece's schema is the export's. */
function schemaOf(delivered: DeliveredPiece[]): Schema {
  return delivered[0].schema;
}
