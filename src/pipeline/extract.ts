/**
 * One attempt at one piece: a fresh connection streams the piece's query into a writer whose
 * sink is a staged file. Nothing is visible at the destination yet; on any failure the staged
 * file is discarded and the connection closed, so the next attempt starts clean.
 *
 * @module
 */
import type { Schema } from "apache-arrow";
import type { Staged } from "../destination/destination.ts";
import { fileNameFor } from "../destination/file_name.ts";
import type { Piece } from "../plan/plan.ts";
import type { TypedValue } from "../sql.ts";
import { log } from "../util/log.ts";
import { createWriter } from "../writer/create.ts";
import { extensionFor, type FormatWriter } from "../writer/writer.ts";
import type { ExportContext } from "./context.ts";
import { CursorTracker } from "./cursor.ts";

/** What one successful attempt produced, before anything is committed. */
export interface Extracted {
  /** The Arrow schema of the rows (known even when there were none). */
  schema: Schema;
  /** The finished file, not yet visible; absent when the piece had no rows. */
  staged?: Staged;
  /** Rows written. */
  rows: number;
  /** Bytes of the finished file. */
  bytes: number;
  /** The incremental cursor after the last row, when the mode has one and a row carried it. */
  cursor?: TypedValue;
}

/**
 * Streams `piece` into a staged file. A piece without rows leaves no file (spec: "0-row exports
 * still succeed with no file output").
 */
export async function extractPiece(ctx: ExportContext, piece: Piece): Promise<Extracted> {
  const { exp, config } = ctx;
  const tuning = config.source.tuning;
  log.debug(`export '${exp.name}': SQL: ${piece.query.text.replace(/\s+/g, " ")}`);
  const source = await ctx.openSource(config.source);
  let staged: Staged | undefined;
  let file: Deno.FsFile | undefined;
  let writer: FormatWriter | undefined;
  try {
    const { schema, batches } = await source.query(piece.query, {
      batchRows: tuning.batchSize,
      throttleMs: tuning.throttleMs,
      signal: ctx.signal,
    });
    const cursor = exp.mode.kind === "incremental"
      ? new CursorTracker(exp.mode.cursorColumn)
      : undefined;
    cursor?.check(schema.fields);
    staged = await ctx.destination.stage(
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
      const at = performance.now();
      cursor?.observe(batch);
      await writer.write(batch);
      rows += batch.numRows;
      batchNo++;
      log.debug(`export '${exp.name}': batch ${batchNo}: ${batch.numRows} rows (total ${rows})`);
      ctx.emit({
        type: "batch",
        exportName: exp.name,
        piece: piece.index,
        rows: batch.numRows,
        pieceRows: rows,
        at,
      });
    }
    const { bytes } = await writer.finish();
    log.info(`export '${exp.name}': read ${rows} rows, wrote ${bytes} bytes`);
    if (rows === 0) {
      await staged.abort();
      return { schema, rows, bytes: 0 };
    }
    return { schema, staged, rows, bytes, cursor: cursor?.value };
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
