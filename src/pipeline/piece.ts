/**
 * One piece of an export, from query to committed file: extracted with retries (each attempt on a
 * fresh connection, starting over), validated when asked, then published at the destination and
 * recorded in the file manifest. A piece that fails leaves nothing behind: no file at the
 * destination, no manifest row.
 *
 * @module
 */
import type { Schema } from "apache-arrow";
import { RivetError } from "../errors.ts";
import type { Piece } from "../plan/plan.ts";
import type { TypedValue } from "../sql.ts";
import type { FileRecord } from "../state/store.ts";
import { log } from "../util/log.ts";
import type { ExportContext } from "./context.ts";
import { describeError } from "./describe_error.ts";
import { type Extracted, extractPiece } from "./extract.ts";
import { withRetries } from "./retry.ts";
import { validateRowCount } from "./validate.ts";

/** What a committed piece delivered. */
export interface DeliveredPiece {
  /** The schema of the piece's rows. */
  schema: Schema;
  /** Rows delivered (0: no file). */
  rows: number;
  /** The files now at the destination, as recorded in the manifest. */
  files: FileRecord[];
  /** The incremental cursor after the piece's last row, if the mode has one. */
  cursor?: TypedValue;
}

/**
 * Runs `piece` to a committed file. Retryable source failures start the piece over; every retry
 * is counted in `tally.retries` and announced as a `retry` event. The rows of the successful
 * attempt are added to `tally.rows` as soon as they are extracted, so a failure to deliver them
 * still reports what was read.
 */
export async function runPiece(
  ctx: ExportContext,
  piece: Piece,
  tally: { retries: number; rows: number },
): Promise<DeliveredPiece> {
  const { exp, config } = ctx;
  const extracted = await withRetries(() => extractPiece(ctx, piece), {
    tuning: config.source.tuning,
    signal: ctx.signal,
    onRetry: ({ attempt, delayMs, error }) => {
      tally.retries++;
      const why = describeError(error);
      log.warn(
        `export '${exp.name}': retry ${attempt}/${config.source.tuning.maxRetries} in ${delayMs}ms, reconnecting (${error.retryClass}: ${why})`,
      );
      ctx.emit({
        type: "retry",
        exportName: exp.name,
        piece: piece.index,
        attempt,
        delayMs,
        retryClass: error.retryClass,
        error: why,
      });
    },
  });
  const { schema, rows, cursor } = extracted;
  tally.rows += rows;
  if (extracted.staged === undefined) return { schema, rows, files: [], cursor };
  try {
    if (ctx.validate) await validateRowCount(exp.format, extracted.staged.path, rows);
  } catch (err) {
    await extracted.staged.abort();
    throw err;
  }
  const file = await publish(ctx, piece, extracted);
  return { schema, rows, files: [file], cursor };
}

/** Makes the staged file visible at the destination, then records it in the manifest. */
async function publish(
  ctx: ExportContext,
  piece: Piece,
  extracted: Extracted,
): Promise<FileRecord> {
  const { exp } = ctx;
  const { fileName, location } = await extracted.staged!.commit();
  log.info(`export '${exp.name}': committed ${location}`);
  const file: FileRecord = {
    runId: ctx.runId,
    exportName: exp.name,
    fileName,
    location,
    rows: extracted.rows,
    bytes: extracted.bytes,
    format: exp.format,
    compression: exp.format === "parquet" ? exp.compression : null,
    createdAt: new Date().toISOString(),
  };
  try {
    ctx.store.recordFiles([file]);
  } catch (err) {
    throw new RivetError(
      `the file ${location} was delivered but could not be recorded in the manifest (${
        describeError(err)
      }); the next run will export these rows again`,
      { cause: err },
    );
  }
  ctx.emit({
    type: "committed",
    exportName: exp.name,
    piece: piece.index,
    location,
    rows: file.rows,
    bytes: file.bytes,
  });
  return file;
}
