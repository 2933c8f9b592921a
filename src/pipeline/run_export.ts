/**
 * One export's lifecycle (spec "Execution Semantics"). Once per export: state read → plan the
 * pieces. Per piece (see `piece.ts`): extract with retries on fresh connections → validate →
 * commit its files. Once more per export, after every piece is delivered: cursor and schema in one
 * state transaction → metrics → summary. The cursor moves only after the files are durably at the
 * destination; any failure leaves the cursor as it was and discards what is staged.
 *
 * @module
 */
import type { Config, ExportConfig } from "../config/types.ts";
import { createDestination } from "../destination/create.ts";
import { prepareWriter } from "../writer/create.ts";
import { runIdFor } from "../destination/file_name.ts";
import { ConfigError, DataIntegrityError, ExitCode } from "../errors.ts";
import { type Piece, planPieces } from "../plan/plan.ts";
import { dialectFor } from "../source/dialect.ts";
import type { Source } from "../source/source.ts";
import type { StateStore } from "../state/store.ts";
import { log } from "../util/log.ts";
import { type ExportContext, type PipelineHooks, slotFor } from "./context.ts";
import { resumeCursor } from "./cursor.ts";
import { undoAbandonedDeliveries } from "./abandoned.ts";
import { describeError } from "./describe_error.ts";
import { faultPoint } from "./fault_point.ts";
import { adviseKey } from "./key_advice.ts";
import { type EventListener, safeListener } from "./events.ts";
import { saveExportState } from "./export_state.ts";
import { recordMetrics } from "./metrics.ts";
import { prepareChunkedRun } from "./chunked_run.ts";
import type { ConnectionSlot } from "./connection.ts";
import type { DeliveredPiece } from "./piece.ts";
import { runPieces } from "./workers.ts";
import { hashesValues, loadHashers } from "./hashers.ts";
import { RssSampler } from "./rss.ts";
import { estimateRows } from "./row_estimate.ts";
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
  /** Prove each piece's file matches the source column by column (`--reconcile`). */
  reconcile: boolean;
  /** Opens a fresh source connection (one per attempt). */
  openSource: (config: Config["source"]) => Promise<Source>;
  /** Receives the run's events. */
  onEvent?: EventListener;
  /** Continue the newest interrupted chunked run instead of starting over (`--resume`). */
  resume: boolean;
  /** Stops the run. */
  signal?: AbortSignal;
  /** Fault injection for tests (see `PipelineHooks`). */
  hooks?: PipelineHooks;
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
    longestStatementMs: 0,
    longestTransactionMs: 0,
    locations: [],
  };
  const emit = safeListener(request.onEvent);
  const writerReady = prepareWriter(exp.format);
  try {
    const ctx: ExportContext = {
      ...request,
      runId: summary.runId,
      tally: summary,
      destination: await createDestination(exp.destination),
      emit,
    };
    log.info(`export '${exp.name}': starting (${exp.mode.kind}, ${exp.format}, run ${ctx.runId})`);
    if (hashesValues(exp)) await loadHashers();
    await undoAbandonedDeliveries(ctx);
    const { pieces, slots, estimatedRows } = await planRun(ctx, request.resume, started);
    ctx.emit({
      type: "started",
      exportName: exp.name,
      runId: ctx.runId,
      mode: exp.mode.kind,
      format: exp.format,
      pieces: pieces.length,
      estimatedRows,
    });
    announceLastCheck(ctx);
    let delivered: DeliveredPiece[];
    try {
      delivered = await runPieces(ctx, pieces, slots);
    } finally {
      for (const slot of slots) await slot.close();
    }
    for (const done of delivered) {
      for (const file of done.files) {
        summary.files++;
        summary.bytes += file.bytes;
        summary.locations.push(file.location);
      }
    }
    if (ctx.chunkRunId !== undefined) store.endChunkRun(ctx.chunkRunId, "complete");
    await faultPoint("delivered");
    if (summary.rows === 0 && exp.skipEmpty) {
      summary.status = "skipped";
      log.info(`export '${exp.name}': no rows; skipped (skip_empty), cursor unchanged`);
    } else {
      if (summary.rows === 0) log.info(`export '${exp.name}': no rows; no file written`);
      summary.schema = saveExportState(
        ctx,
        delivered[0]?.schema,
        summary.rows,
        delivered.at(-1)?.cursor,
      );
      if (ctx.validate) summary.validated ??= true;
    }
  } catch (err) {
    summary.status = "failed";
    summary.error = describeError(err, config.path);
    summary.exitCode = err instanceof DataIntegrityError
      ? ExitCode.DataIntegrity
      : err instanceof ConfigError
      ? ExitCode.Usage
      : ExitCode.ExportFailed;
    log.error(`export '${exp.name}': ${summary.error}`);
    if (err instanceof Error && err.cause) log.debug(`cause: ${describeError(err.cause)}`);
  } finally {
    // A worker started after the run closed its encoders would keep the process alive.
    await writerReady;
    summary.durationMs = Date.now() - started.getTime();
    summary.peakRssMb = rss.stop();
  }
  recordMetrics(store, config, exp, summary, started);
  emit({ type: "finished", summary });
  return summary;
}

/** What {@link planRun} prepared. */
interface PlannedRun {
  pieces: Piece[];
  slots: ConnectionSlot[];
  estimatedRows?: number;
}

/**
 * The run's pieces, the connections that will read them and the planner's row estimate: a
 * chunked run plans (or resumes) its windows on a pinned snapshot with one connection per worker;
 * every other mode is one piece on one connection.
 */
async function planRun(ctx: ExportContext, resume: boolean, now: Date): Promise<PlannedRun> {
  const { exp, config, store } = ctx;
  const dialect = dialectFor(config.source.type);
  if (exp.mode.kind === "chunked") {
    const run = await prepareChunkedRun(ctx, exp.mode, resume);
    ctx.chunkRunId = run.chunkRunId;
    return {
      pieces: planPieces(exp, { windows: run.windows, now }, dialect),
      slots: run.slots,
      estimatedRows: run.estimatedRows,
    };
  }
  const pieces = planPieces(exp, { cursor: resumeCursor(store, exp), now }, dialect);
  // --reconcile compares the file with aggregates read in the same snapshot as its rows.
  const slot = slotFor(ctx, ctx.reconcile ? pinOwnSnapshot : undefined);
  const estimatedRows = await estimateRows(ctx, pieces[0].query, slot);
  await adviseKey(ctx, estimatedRows, slot);
  return { pieces, slots: [slot], estimatedRows };
}

/**
 * Warns when the export's last `rivet check` rated it DEGRADED or UNSAFE, and announces it as a
 * `degraded` event.
 */
function announceLastCheck(ctx: ExportContext): void {
  const last = ctx.store.lastCheck(ctx.exp.name);
  if (last?.verdict !== "DEGRADED" && last?.verdict !== "UNSAFE") return;
  log.warn(
    `export '${ctx.exp.name}': its last rivet check (${last.checkedAt}) rated it ${last.verdict} (${last.strategy}); run 'rivet check --export ${ctx.exp.name}' for the suggestions`,
  );
  ctx.emit({
    type: "degraded",
    exportName: ctx.exp.name,
    verdict: last.verdict,
    checkedAt: last.checkedAt,
  });
}

/** Starts a snapshot of the connection's own for everything it reads. */
async function pinOwnSnapshot(source: Source): Promise<void> {
  await source.pinSnapshot();
}
