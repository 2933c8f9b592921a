/**
 * One attempt at one piece through the source's CSV passthrough (see `Source.copyCsv`): the
 * source renders the rows as CSV records itself (PostgreSQL: `COPY ... (FORMAT csv)`, with the few
 * types it prints differently brought to rivet's conventions; MySQL: each cell written from the
 * row packets), and the records go straight into the staged parts, with no Arrow batch in
 * between. The file is byte for byte what the Arrow path (`extract.ts`) writes.
 *
 * Taken only when nothing needs the batches: CSV output without meta columns, quality rules,
 * `--reconcile` or a test hook on the batches (keyset paging never comes here), and a source that
 * accepts the query (PostgreSQL: no bind parameters, no throttle, no statement timeout, as for
 * COPY binary; MySQL: no throttle, a query the server describes, no BIT or spatial column).
 * Otherwise the caller reads batches.
 *
 * @module
 */
import type { Piece } from "../plan/plan.ts";
import type { Source } from "../source/source.ts";
import { log } from "../util/log.ts";
import type { ExportContext } from "./context.ts";
import { CsvCopyOutput } from "./csv_copy_output.ts";
import type { Extracted } from "./piece_output.ts";

/** Why the export's pieces need Arrow batches, or undefined when the passthrough may serve them. */
function needsBatches(ctx: ExportContext): string | undefined {
  const { exp } = ctx;
  if (exp.metaColumns.exportedAt || exp.metaColumns.rowHash) {
    return "meta_columns are computed from batches";
  }
  if (exp.quality) return "quality rules check batches";
  if (ctx.reconcile) return "--reconcile tallies batches";
  if (ctx.hooks?.beforeWrite) return "a test hook rewrites batches";
  return undefined;
}

/**
 * Extracts `piece` through `source`'s CSV passthrough into staged parts; undefined, with nothing
 * read, when the export or the source rules it out (then read batches instead).
 */
export async function extractCsvCopy(
  ctx: ExportContext,
  piece: Piece,
  source: Source,
): Promise<Extracted | undefined> {
  const { exp } = ctx;
  if (exp.format !== "csv" || source.copyCsv === undefined) return undefined;
  const blocker = needsBatches(ctx);
  if (blocker !== undefined) {
    log.debug(`export '${exp.name}': CSV through Arrow batches: ${blocker}`);
    return undefined;
  }
  const stream = await source.copyCsv(piece.query, {
    throttleMs: ctx.config.source.tuning.throttleMs,
    signal: ctx.signal,
    watch: exp.mode.kind === "incremental" ? exp.mode.cursorColumn : undefined,
  });
  if (stream === undefined) {
    log.debug(`export '${exp.name}': CSV through Arrow batches: the source reads this query so`);
    return undefined;
  }
  log.debug(`export '${exp.name}': CSV records from the source, no Arrow batches`);
  const output = new CsvCopyOutput(ctx, piece, stream.schema);
  try {
    for await (const chunk of stream.chunks) await output.write(chunk, performance.now());
    return await output.finish();
  } catch (err) {
    await output.abort(err);
    throw err;
  }
}
