/**
 * One piece of an export, from query to committed files: extracted with retries (a failed
 * attempt closes its connection and starts over on a fresh one), validated when asked, then every
 * part published at the destination and recorded in the file manifest, with the piece's chunk
 * checkpoint, in one state transaction. A piece that fails leaves nothing behind: no part at the
 * destination, no manifest row, no checkpoint.
 *
 * @module
 */
import type { Schema } from "apache-arrow";
import { DestinationError } from "../errors.ts";
import { fileNameFor } from "../destination/file_name.ts";
import { stagingDir } from "../destination/staging.ts";
import type { Piece } from "../plan/plan.ts";
import type { TypedValue } from "../sql.ts";
import type { FileRecord } from "../state/store.ts";
import { log } from "../util/log.ts";
import { extensionFor } from "../writer/writer.ts";
import type { ConnectionSlot } from "./connection.ts";
import type { ExportContext } from "./context.ts";
import { describeError } from "./describe_error.ts";
import { extractPiece } from "./extract.ts";
import { faultPoint } from "./fault_point.ts";
import { extractPaged } from "./extract_paged.ts";
import type { Extracted } from "./piece_output.ts";
import { pieceLabel, retryReporter } from "./retry_report.ts";
import { withRetries } from "./retry.ts";
import { validateRowCount } from "./validate.ts";

/** What a committed piece delivered. */
export interface DeliveredPiece {
  /** The schema of the piece's source rows. */
  schema: Schema;
  /** Rows delivered (0: no file). */
  rows: number;
  /** The files now at the destination, as recorded in the manifest. */
  files: FileRecord[];
  /** The incremental cursor after the piece's last row, if the mode has one. */
  cursor?: TypedValue;
}

/**
 * Runs `piece` to committed files on the connection in `slot`. Retryable source failures read
 * again on a fresh connection (the whole piece, or with keyset paging the failed page); every
 * retry is counted and announced as a `retry` event.
 */
export async function runPiece(
  ctx: ExportContext,
  piece: Piece,
  slot: ConnectionSlot,
): Promise<DeliveredPiece> {
  const { exp, config, tally } = ctx;
  // Keyset pieces retry page by page, from the last page written; others start over.
  const extracted = exp.keyColumns
    ? await extractPaged(ctx, piece, slot, exp.keyColumns, tally)
    : await withRetries(() => extractPiece(ctx, piece, slot), {
      tuning: config.source.tuning,
      signal: ctx.signal,
      onRetry: retryReporter(ctx, piece, tally, "reconnecting"),
    });
  const { schema, rows, cursor } = extracted;
  tally.rows += rows;
  await faultPoint("finished");
  for (const part of extracted.parts) await ctx.hooks?.afterFinish?.(part.staged.path);
  try {
    if (ctx.validate) {
      try {
        for (const part of extracted.parts) {
          await validateRowCount(exp.format, part.staged.path, part.rows);
        }
      } catch (err) {
        tally.validated = false;
        throw err;
      }
    }
    for (const gate of extracted.gates) {
      try {
        await gate.verify(await slot.acquire());
        tally[gate.name] ??= true;
      } catch (err) {
        tally[gate.name] = false;
        throw err;
      }
    }
  } catch (err) {
    for (const part of extracted.parts) await part.staged.abort();
    throw err;
  }
  const files = await deliver(ctx, piece, extracted);
  return { schema, rows, files, cursor };
}

/**
 * Publishes every part, then records them (and the chunk checkpoint) in one transaction. If a
 * part cannot be published or the record fails, the parts already published are taken back.
 */
async function deliver(
  ctx: ExportContext,
  piece: Piece,
  extracted: Extracted,
): Promise<FileRecord[]> {
  const { exp } = ctx;
  const at = new Date();
  const many = extracted.parts.length > 1;
  const names = extracted.parts.map((_, n) =>
    fileNameFor(exp.name, at, extensionFor(exp.format), [
      ...(piece.window ? [`chunk${piece.window.index}`] : []),
      ...(many ? [`part${n}`] : []),
    ])
  );
  const checkpoint = piece.window && ctx.chunkRunId !== undefined
    ? { runId: ctx.chunkRunId, index: piece.window.index }
    : undefined;
  const delivery = { exportName: exp.name, runId: ctx.runId, piece: piece.index };
  // The files are announced before they become visible: if the process dies between publishing
  // and recording them, the next run finds and removes them instead of duplicating rows.
  if (names.length > 0) {
    ctx.store.beginDelivery({
      ...delivery,
      owner: await stagingDir(),
      locations: names.map((n) => ctx.destination.locationOf(n)),
    });
  }
  const files: FileRecord[] = [];
  try {
    for (const [n, part] of extracted.parts.entries()) {
      const { fileName, location } = await part.staged.commit(names[n]);
      if (n === 0) await faultPoint("delivering");
      files.push({
        runId: ctx.runId,
        exportName: exp.name,
        fileName,
        location,
        rows: part.rows,
        bytes: part.bytes,
        format: exp.format,
        compression: exp.format === "parquet" ? exp.compression : null,
        createdAt: at.toISOString(),
      });
    }
    ctx.store.recordPiece({
      delivery,
      files,
      chunk: checkpoint ? { ...checkpoint, rows: extracted.rows } : undefined,
    });
  } catch (err) {
    for (const part of extracted.parts.slice(files.length)) await part.staged.abort();
    await retract(ctx, files);
    // Best effort: left pending, the next run removes the (already removed) files anyway.
    try {
      ctx.store.endDelivery(delivery);
    } catch {
      // The state database failed too; the original error says what happened.
    }
    if (err instanceof DestinationError) throw err;
    throw new DestinationError(
      `${pieceLabel(piece)}the files could not be recorded in the state database (${
        describeError(err)
      }); they were removed from the destination`,
      { cause: err },
    );
  }
  for (const file of files) {
    log.info(`export '${exp.name}': committed ${file.location}`);
    ctx.emit({
      type: "committed",
      exportName: exp.name,
      piece: piece.index,
      location: file.location,
      rows: file.rows,
      bytes: file.bytes,
    });
  }
  return files;
}

async function retract(ctx: ExportContext, files: readonly FileRecord[]): Promise<void> {
  for (const file of files) {
    try {
      await ctx.destination.retract(file.location);
    } catch (err) {
      log.error(
        `export '${ctx.exp.name}': ${file.location} belongs to a failed piece and could not be removed (${
          describeError(err)
        }); delete it by hand`,
      );
    }
  }
}
