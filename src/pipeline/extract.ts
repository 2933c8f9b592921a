/**
 * One attempt at one piece: the piece's query streams from the worker's connection into a writer
 * whose sink is a staged file, rotated into a new part whenever `max_file_size` is reached.
 * Nothing is visible at the destination yet; on any failure every staged part is discarded and
 * the connection closed, so the next attempt starts clean on a fresh one.
 *
 * @module
 */
import type { Schema } from "apache-arrow";
import type { Staged } from "../destination/destination.ts";
import type { Piece } from "../plan/plan.ts";
import type { TypedValue } from "../sql.ts";
import { log } from "../util/log.ts";
import { createWriter } from "../writer/create.ts";
import type { FormatWriter } from "../writer/writer.ts";
import type { ConnectionSlot } from "./connection.ts";
import type { ExportContext } from "./context.ts";
import { CursorTracker } from "./cursor.ts";
import { metaColumnsFor } from "./meta_columns.ts";

/** One finished part file, staged. */
export interface StagedPart {
  /** The finished file, not yet visible. */
  staged: Staged;
  /** Rows in the part. */
  rows: number;
  /** Size of the part. */
  bytes: number;
}

/** What one successful attempt produced, before anything is committed. */
export interface Extracted {
  /** The Arrow schema of the source rows (known even when there were none). */
  schema: Schema;
  /** The finished parts, in order; none when the piece had no rows. */
  parts: StagedPart[];
  /** Rows written. */
  rows: number;
  /** The incremental cursor after the last row, when the mode has one and a row carried it. */
  cursor?: TypedValue;
}

/** A part being written. */
interface OpenPart {
  staged: Staged;
  file: Deno.FsFile;
  writer: FormatWriter | undefined;
  rows: number;
}

/**
 * Streams `piece` into staged parts through the connection in `slot`. A piece without rows
 * leaves no file (spec: "0-row exports still succeed with no file output").
 */
export async function extractPiece(
  ctx: ExportContext,
  piece: Piece,
  slot: ConnectionSlot,
): Promise<Extracted> {
  const { exp, config } = ctx;
  const tuning = config.source.tuning;
  log.debug(`export '${exp.name}': SQL: ${piece.query.text.replace(/\s+/g, " ")}`);
  const parts: StagedPart[] = [];
  let open: OpenPart | undefined;
  try {
    const source = await slot.acquire();
    const { schema, batches } = await source.query(piece.query, {
      batchRows: tuning.batchSizeMemoryMb === undefined ? tuning.batchSize : MEMORY_SIZED_ROWS,
      batchBytes: tuning.batchSizeMemoryMb === undefined
        ? undefined
        : tuning.batchSizeMemoryMb * 1024 * 1024,
      throttleMs: tuning.throttleMs,
      signal: ctx.signal,
    });
    const cursor = exp.mode.kind === "incremental"
      ? new CursorTracker(exp.mode.cursorColumn)
      : undefined;
    cursor?.check(schema.fields);
    const meta = metaColumnsFor(exp.metaColumns, schema);
    const fileSchema = meta?.schema ?? schema;
    const startPart = async (): Promise<OpenPart> => {
      const staged = await ctx.destination.stage();
      const part: OpenPart = {
        staged,
        file: await Deno.open(staged.path, { write: true, create: true, truncate: true }),
        writer: undefined,
        rows: 0,
      };
      part.writer = await createWriter(fileSchema, part.file.writable, {
        format: exp.format,
        compression: exp.compression,
        compressionLevel: exp.compressionLevel,
        partBytes: exp.maxFileSize,
      });
      return part;
    };
    const label = piece.window ? `chunk ${piece.window.index} ` : "";
    let rows = 0;
    let batchNo = 0;
    for await (const batch of batches) {
      const at = performance.now();
      cursor?.observe(batch);
      open ??= await startPart();
      await open.writer!.write(meta ? meta.apply(batch) : batch);
      open.rows += batch.numRows;
      rows += batch.numRows;
      batchNo++;
      log.debug(
        `export '${exp.name}': ${label}batch ${batchNo}: ${batch.numRows} rows (total ${rows})`,
      );
      ctx.emit({
        type: "batch",
        exportName: exp.name,
        piece: piece.index,
        rows: batch.numRows,
        pieceRows: rows,
        at,
      });
      if (exp.maxFileSize !== undefined && open.writer!.bytesWritten() >= exp.maxFileSize) {
        parts.push(await finishPart(open));
        open = undefined;
      }
    }
    if (open) parts.push(await finishPart(open));
    open = undefined;
    const bytes = parts.reduce((sum, p) => sum + p.bytes, 0);
    log.info(
      `export '${exp.name}': read ${rows} rows, wrote ${bytes} bytes${
        parts.length > 1 ? ` in ${parts.length} parts` : ""
      }`,
    );
    return { schema, parts, rows, cursor: cursor?.value };
  } catch (err) {
    await abortPart(open, err);
    for (const part of parts) await part.staged.abort();
    await slot.discard();
    throw err;
  }
}

/**
 * With `batch_size_memory_mb` the memory budget, not a row count, ends a batch; this only stops a
 * batch of tiny rows from growing without bound.
 */
const MEMORY_SIZED_ROWS = 1_000_000;

async function finishPart(part: OpenPart): Promise<StagedPart> {
  const { bytes } = await part.writer!.finish();
  return { staged: part.staged, rows: part.rows, bytes };
}

async function abortPart(part: OpenPart | undefined, reason: unknown): Promise<void> {
  if (!part) return;
  if (part.writer) {
    await part.writer.abort(reason).catch(() => {});
  } else {
    try {
      part.file.close();
    } catch {
      // Already closed by a failed stream.
    }
  }
  await part.staged.abort();
}
