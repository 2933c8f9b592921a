/**
 * One export's lifecycle (spec "Execution Semantics"): state read → plan → connect (fresh per
 * attempt) → stream → write → finish → validate → commit at the destination → cursor, schema and
 * manifest in one state transaction → metrics → summary. The cursor moves only after the file is
 * durably at the destination; any failure leaves state as it was and discards the staged file.
 *
 * @module
 */
import type { Schema } from "apache-arrow";
import type { Config, ExportConfig } from "../config/types.ts";
import { createDestination } from "../destination/create.ts";
import type { Staged } from "../destination/destination.ts";
import { fileNameFor, runIdFor } from "../destination/file_name.ts";
import { planQuery } from "../plan/plan.ts";
import { dialectFor } from "../source/dialect.ts";
import type { Source } from "../source/source.ts";
import type { SqlQuery } from "../sql.ts";
import type { StateStore } from "../state/store.ts";
import { log } from "../util/log.ts";
import { redact } from "../util/secrets.ts";
import { createWriter } from "../writer/create.ts";
import { csvRowCount, parquetRowCount } from "../writer/verify.ts";
import { extensionFor, type FormatWriter } from "../writer/writer.ts";
import { CursorTracker } from "./cursor.ts";
import { DataIntegrityError, errorMessage, RivetError } from "../errors.ts";
import { backoffMs, isRetryable } from "./retry.ts";
import { sleep } from "../util/sleep.ts";
import { RssSampler } from "./rss.ts";
import { columnsOf, diffSchemas } from "./schema_tracking.ts";
import type { ExportSummary } from "./summary.ts";

/** Everything one export run needs. */
export interface ExportContext {
  config: Config;
  exp: ExportConfig;
  store: StateStore;
  /** Re-read each finished file and compare its row count (`--validate`). */
  validate: boolean;
  /** Opens a fresh source connection (one per attempt). */
  openSource: (config: Config["source"]) => Promise<Source>;
  signal?: AbortSignal;
}

/** What one successful attempt produced, before anything is committed. */
interface Extracted {
  schema: Schema;
  staged: Staged;
  rows: number;
  bytes: number;
  cursor: CursorTracker | undefined;
}

/** The first line of an error's message, without secrets. */
export function describeError(err: unknown): string {
  return redact(errorMessage(err).split("\n")[0]);
}

/** Runs one export to completion and returns its summary; never throws for export failures. */
export async function runExport(ctx: ExportContext): Promise<ExportSummary> {
  const { config, exp } = ctx;
  const started = new Date();
  const runId = runIdFor(exp.name, started);
  const rss = new RssSampler();
  const summary: ExportSummary = {
    exportName: exp.name,
    runId,
    status: "success",
    rows: 0,
    files: 0,
    bytes: 0,
    durationMs: 0,
    peakRssMb: 0,
    retries: 0,
    locations: [],
  };
  let integrityFailure = false;
  try {
    log.info(`export '${exp.name}': starting (${exp.mode}, ${exp.format}, run ${runId})`);
    const query = planQuery(exp, storedCursor(ctx), dialectFor(config.source.type));
    const extracted = await extractWithRetries(ctx, query, summary);
    summary.rows = extracted.rows;
    if (extracted.rows === 0 && exp.skipEmpty) {
      await extracted.staged.abort();
      summary.status = "skipped";
      log.info(`export '${exp.name}': no rows; skipped (skip_empty), cursor unchanged`);
    } else {
      if (ctx.validate) {
        const counted = exp.format === "parquet"
          ? await parquetRowCount(extracted.staged.path)
          : await csvRowCount(extracted.staged.path);
        summary.validated = counted === extracted.rows;
        if (!summary.validated) {
          await extracted.staged.abort();
          integrityFailure = true;
          throw new DataIntegrityError(
            `validation failed: expected ${extracted.rows} rows, the file holds ${counted}`,
          );
        }
      }
      await commit(ctx, extracted, runId, summary);
    }
  } catch (err) {
    summary.status = "failed";
    summary.error = describeError(err);
    if (integrityFailure) summary.validated = false;
    log.error(`export '${exp.name}': ${summary.error}`);
    if (err instanceof Error && err.cause) log.debug(`cause: ${describeError(err.cause)}`);
  } finally {
    summary.durationMs = Date.now() - started.getTime();
    summary.peakRssMb = rss.stop();
  }
  recordMetrics(ctx, summary, started);
  return summary;
}

function storedCursor(ctx: ExportContext) {
  const { exp, store } = ctx;
  if (exp.mode !== "incremental") return undefined;
  const state = store.cursor(exp.name);
  if (!state?.value) return undefined;
  if (state.column !== null && state.column !== exp.cursorColumn) {
    throw new RivetError(
      `cursor_column changed from '${state.column}' to '${exp.cursorColumn}' since the stored cursor (${state.value.text}); run 'rivet state reset --export ${exp.name}' to export from the beginning`,
    );
  }
  log.info(`export '${exp.name}': resuming after ${exp.cursorColumn} = ${state.value.text}`);
  return state.value;
}

async function extractWithRetries(
  ctx: ExportContext,
  query: SqlQuery,
  summary: ExportSummary,
): Promise<Extracted> {
  const tuning = ctx.config.source.tuning;
  for (let attempt = 0;; attempt++) {
    try {
      return await extractOnce(ctx, query);
    } catch (err) {
      if (!isRetryable(err) || attempt >= tuning.maxRetries || ctx.signal?.aborted) throw err;
      const wait = backoffMs(tuning, attempt + 1, err.retryClass);
      summary.retries++;
      log.warn(
        `export '${ctx.exp.name}': retry ${
          attempt + 1
        }/${tuning.maxRetries} in ${wait}ms, reconnecting (${err.retryClass}: ${
          describeError(err)
        })`,
      );
      await sleep(wait, ctx.signal);
    }
  }
}

async function extractOnce(ctx: ExportContext, query: SqlQuery): Promise<Extracted> {
  const { exp, config } = ctx;
  const tuning = config.source.tuning;
  log.debug(`export '${exp.name}': SQL: ${query.text.replace(/\s+/g, " ")}`);
  const source = await ctx.openSource(config.source);
  let staged: Staged | undefined;
  let file: Deno.FsFile | undefined;
  let writer: FormatWriter | undefined;
  try {
    const { schema, batches } = await source.query(query, {
      batchRows: tuning.batchSize,
      throttleMs: tuning.throttleMs,
      signal: ctx.signal,
    });
    const cursor = exp.mode === "incremental" ? new CursorTracker(exp.cursorColumn!) : undefined;
    cursor?.check(schema.fields);
    staged = await createDestination(exp.destination).stage(
      fileNameFor(exp.name, new Date(), extensionFor(exp.format)),
    );
    file = await Deno.open(staged.path, { write: true, create: true, truncate: true });
    writer = await createWriter(schema, file.writable, {
      format: exp.format,
      compression: exp.compression,
      compressionLevel: exp.compressionLevel,
    });
    let rows = 0;
    let batchNo = 0;
    for await (const batch of batches) {
      cursor?.observe(batch);
      await writer.write(batch);
      rows += batch.numRows;
      batchNo++;
      log.debug(`export '${exp.name}': batch ${batchNo}: ${batch.numRows} rows (total ${rows})`);
    }
    const { bytes } = await writer.finish();
    log.info(`export '${exp.name}': read ${rows} rows, wrote ${bytes} bytes`);
    return { schema, staged, rows, bytes, cursor };
  } catch (err) {
    if (writer) await writer.abort(err).catch(() => {});
    else closeQuietly(file);
    await staged?.abort();
    throw err;
  } finally {
    await source.close();
  }
}

function closeQuietly(file: Deno.FsFile | undefined): void {
  try {
    file?.close();
  } catch {
    // Already closed by a failed stream.
  }
}

async function commit(
  ctx: ExportContext,
  extracted: Extracted,
  runId: string,
  summary: ExportSummary,
): Promise<void> {
  const { exp, store } = ctx;
  const { fileName, location } = await extracted.staged.commit();
  summary.files = 1;
  summary.bytes = extracted.bytes;
  summary.locations.push(location);
  log.info(`export '${exp.name}': committed ${location}`);

  const columns = columnsOf(extracted.schema);
  const previous = store.schema(exp.name);
  if (previous) {
    const diff = diffSchemas(previous, columns);
    summary.schema = diff ? "CHANGED" : "unchanged";
    if (diff) {
      if (diff.added.length) {
        log.warn(`export '${exp.name}': added columns: ${diff.added.join(", ")}`);
      }
      if (diff.removed.length) {
        log.warn(`export '${exp.name}': removed columns: ${diff.removed.join(", ")}`);
      }
      for (const r of diff.retyped) {
        log.warn(`export '${exp.name}': type changed: ${r.name} (${r.from} -> ${r.to})`);
      }
    }
  }
  const cursorValue = extracted.cursor?.value;
  if (exp.mode === "incremental" && extracted.rows > 0 && !cursorValue) {
    log.warn(`export '${exp.name}': every ${exp.cursorColumn} value was NULL; cursor not advanced`);
  }
  const at = new Date().toISOString();
  try {
    store.commit(exp.name, {
      files: [{
        runId,
        exportName: exp.name,
        fileName,
        location,
        rows: extracted.rows,
        bytes: extracted.bytes,
        format: exp.format,
        compression: exp.format === "parquet" ? exp.compression : null,
        createdAt: at,
      }],
      cursor: cursorValue ? { column: exp.cursorColumn!, value: cursorValue } : undefined,
      schema: columns,
      at,
    });
  } catch (err) {
    throw new RivetError(
      `the file ${location} was written but the state update failed (${
        describeError(err)
      }); the next run will export these rows again`,
      { cause: err },
    );
  }
  if (cursorValue) log.info(`export '${exp.name}': cursor advanced to ${cursorValue.text}`);
}

function recordMetrics(ctx: ExportContext, s: ExportSummary, started: Date): void {
  try {
    ctx.store.recordMetrics({
      exportName: s.exportName,
      runId: s.runId,
      runAt: started.toISOString(),
      durationMs: s.durationMs,
      rows: s.rows,
      peakRssMb: s.peakRssMb,
      status: s.status,
      error: s.error ?? null,
      profile: ctx.config.source.tuning.profile,
      format: ctx.exp.format,
      mode: ctx.exp.mode,
      files: s.files,
      bytes: s.bytes,
      retries: s.retries,
      validated: s.validated ?? null,
      schemaChanged: s.schema === undefined ? null : s.schema === "CHANGED",
    });
  } catch (err) {
    log.error(`export '${s.exportName}': could not record metrics: ${describeError(err)}`);
  }
}
