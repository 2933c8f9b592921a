/**
 * One attempt at one piece, streamed: the piece's query runs as one statement on the worker's
 * connection and its batches go into the piece's output, or, for CSV the source can render itself,
 * its records (`extract_csv_copy.ts`). On any failure the staged parts are discarded and the
 * connection closed, so the next attempt starts clean on a fresh one.
 *
 * @module
 */
import { releaseBatch } from "../arrow/release.ts";
import type { Piece } from "../plan/plan.ts";
import type { StreamOptions } from "../source/source.ts";
import { log } from "../util/log.ts";
import type { ConnectionSlot } from "./connection.ts";
import type { ExportContext } from "./context.ts";
import { extractCsvCopy } from "./extract_csv_copy.ts";
import { type Extracted, PieceOutput } from "./piece_output.ts";

/**
 * With `batch_size_memory_mb` the memory budget, not a row count, ends a batch; this only stops a
 * batch of tiny rows from growing without bound.
 */
const MEMORY_SIZED_ROWS = 1_000_000;

/**
 * Without `batch_size_memory_mb`, a batch still ends at 4 MiB of column data: the `fast`
 * profile's 50,000 rows of 2 KB text would otherwise make 100 MB batches. Rows narrower than ~85
 * bytes reach `batch_size` first. Every batch is held several times over while it is converted
 * (builders, the batch, its IPC copy, the encoder's copy), so 8 → 4 MiB took peak RSS 253 → 231
 * MB on 1 M mixed rows and 270 → 227 MB on TPC-H `lineitem` (PostgreSQL → Parquet), for about 3%
 * more time on `lineitem`, whose rows now need two batches where one did.
 */
const MAX_BATCH_BYTES = 4 * 1024 * 1024;

/** The stream options of the export's tuning: rows per batch, or a memory budget, and throttle. */
export function streamOptions(ctx: ExportContext): StreamOptions {
  const tuning = ctx.config.source.tuning;
  const budget = tuning.batchSizeMemoryMb;
  return {
    batchRows: budget === undefined ? tuning.batchSize : MEMORY_SIZED_ROWS,
    batchBytes: budget === undefined ? undefined : budget * 1024 * 1024,
    maxBatchBytes: MAX_BATCH_BYTES,
    throttleMs: tuning.throttleMs,
    signal: ctx.signal,
  };
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
  log.debug(`export '${ctx.exp.name}': SQL: ${piece.query.text.replace(/\s+/g, " ")}`);
  let output: PieceOutput | undefined;
  try {
    const source = await slot.acquire();
    const rendered = await extractCsvCopy(ctx, piece, source);
    if (rendered !== undefined) return rendered;
    const { schema, batches } = await source.query(piece.query, streamOptions(ctx));
    output = new PieceOutput(ctx, piece, schema);
    for await (const batch of batches) {
      await output.write(batch, performance.now());
      // This loop holds the source's batch alone, and nothing that saw it keeps it (see
      // `PieceOutput.write`): its memory is reused by the next batch instead of piling up.
      releaseBatch(batch);
    }
    return await output.finish();
  } catch (err) {
    await output?.abort(err);
    await slot.discard();
    throw err;
  }
}
