/**
 * One piece read by keyset paging (`key_column`): page after page, each its own short statement
 * (and on PostgreSQL its own short transaction), `WHERE (key) > (last key written) ORDER BY key
 * LIMIT n`. The throttle sleeps between pages with nothing open on the server, and a retryable
 * failure reads the failed page again on a fresh connection: the rows already in the staged file
 * stay, none is read twice into it and none is skipped.
 *
 * Paging is only exact when the key is unique and never NULL, so both are checked as rows
 * arrive: a NULL key or two equal keys (adjacent in key order, or across a page boundary, seen
 * through one extra row each page reads) fail the piece instead of silently skipping rows.
 *
 * @module
 */
import type { RecordBatch, Schema } from "apache-arrow";
import { releaseBatch } from "../arrow/release.ts";
import { RivetError, TypeMappingError } from "../errors.ts";
import { nullKeyQuery, pageQuery } from "../plan/keyset.ts";
import type { Piece } from "../plan/plan.ts";
import { dialectFor } from "../source/dialect.ts";
import type { SqlQuery, TypedValue } from "../sql.ts";
import { log } from "../util/log.ts";
import { sleep } from "../util/sleep.ts";
import type { ConnectionSlot } from "./connection.ts";
import type { ExportContext } from "./context.ts";
import { type Extracted, PieceOutput } from "./piece_output.ts";
import { withRetries } from "./retry.ts";
import { retryReporter } from "./retry_report.ts";
import type { Tally } from "./tally.ts";
import { boundKind, valueReader } from "./typed_value.ts";

/** Most rows one page of a memory-budgeted export may ask for. */
const MAX_PAGE_ROWS = 1_000_000;

/** Rows of the first page of a memory-budgeted export, which measures the row width. */
const PROBE_ROWS = 1_000;

/** One page as read: its batches in order and their row count. */
interface Page {
  schema: Schema;
  batches: RecordBatch[];
  rows: number;
}

/** Reads `piece` page by page by `keys` into staged parts. */
export async function extractPaged(
  ctx: ExportContext,
  piece: Piece,
  slot: ConnectionSlot,
  keys: readonly string[],
  tally: Tally,
): Promise<Extracted> {
  const { config, exp } = ctx;
  const tuning = config.source.tuning;
  const dialect = dialectFor(config.source.type);
  const retry = {
    tuning,
    signal: ctx.signal,
    onRetry: retryReporter(ctx, piece, tally, "reading the page again on a fresh connection"),
  };
  const budget = tuning.batchSizeMemoryMb === undefined
    ? undefined
    : tuning.batchSizeMemoryMb * 1024 * 1024;
  // With a memory budget the first page is a small probe; the next ones fill the budget.
  let pageRows = budget === undefined ? tuning.batchSize : Math.min(tuning.batchSize, PROBE_ROWS);
  let output: PieceOutput | undefined;
  let after: TypedValue[] | undefined;
  try {
    const nulls = await withRetries(
      () => readPage(ctx, slot, nullKeyQuery(piece.query, keys, dialect)),
      retry,
    );
    if (nulls.rows > 0) {
      throw new RivetError(
        `key_column (${
          keys.join(", ")
        }) is NULL in some rows of the query; keyset paging would skip them: use a unique key that is never NULL, or drop key_column`,
      );
    }
    for (let pageNo = 1;; pageNo++) {
      const query = pageQuery(piece.query, keys, after, pageRows + 1, dialect);
      log.debug(`export '${exp.name}': page ${pageNo}: ${query.text.replace(/\s+/g, " ")}`);
      const page = await withRetries(() => readPage(ctx, slot, query), retry);
      output ??= new PieceOutput(ctx, piece, checkKeys(page.schema, keys));
      const at = performance.now();
      const keep = Math.min(page.rows, pageRows);
      const last = checkOrder(page, keys, keep, after);
      for (const batch of slice(page.batches, keep)) await output.write(batch, at);
      const more = page.rows > pageRows;
      if (more && budget !== undefined) pageRows = rowsForBudget(ctx, page, budget, pageNo);
      // As in `extract.ts`: nothing that saw the page keeps it (its last key is text), and a page
      // can be a million rows, so its memory goes to the next page instead of piling up.
      for (const batch of page.batches) releaseBatch(batch);
      if (!more) break;
      after = last;
      if (tuning.throttleMs > 0) await sleep(tuning.throttleMs, ctx.signal);
    }
    return await output.finish();
  } catch (err) {
    await output?.abort(err);
    await slot.discard();
    throw err;
  }
}

/** Runs one page's statement to completion; a failure closes the connection. */
async function readPage(ctx: ExportContext, slot: ConnectionSlot, query: SqlQuery): Promise<Page> {
  try {
    const source = await slot.acquire();
    const { schema, batches } = await source.query(query, {
      batchRows: MAX_PAGE_ROWS + 1,
      batchBytes: undefined,
      throttleMs: 0,
      signal: ctx.signal,
    });
    const page: Page = { schema, batches: [], rows: 0 };
    for await (const batch of batches) {
      page.batches.push(batch);
      page.rows += batch.numRows;
    }
    return page;
  } catch (err) {
    await slot.discard();
    throw err;
  }
}

/** The key columns must be in the result and comparable exactly; returns `schema`. */
function checkKeys(schema: Schema, keys: readonly string[]): Schema {
  for (const key of keys) {
    const field = schema.fields.find((f) => f.name === key);
    if (!field) {
      throw new TypeMappingError(
        `key_column '${key}' is not a column of the query result (columns: ${
          schema.fields.map((f) => f.name).join(", ")
        })`,
      );
    }
    if (!boundKind(field)) {
      throw new TypeMappingError(
        `key_column '${key}' has type ${
          String(field.type)
        }, which cannot be compared exactly (use integer, decimal, date, timestamp or text columns)`,
      );
    }
  }
  return schema;
}

/**
 * Checks the page's keys (none NULL, strictly increasing, including the peek row past `keep`)
 * and returns the key of row `keep - 1`, the page's last written row.
 */
function checkOrder(
  page: Page,
  keys: readonly string[],
  keep: number,
  after: readonly TypedValue[] | undefined,
): TypedValue[] | undefined {
  let previous = after?.map((v) => v.text).join("\u0000");
  let last: TypedValue[] | undefined;
  let row = 0;
  for (const batch of page.batches) {
    const readers = keys.map((key) => {
      const index = batch.schema.fields.findIndex((f) => f.name === key);
      return valueReader(batch.schema.fields[index], batch.getChildAt(index)!.data[0]);
    });
    for (let i = 0; i < batch.numRows; i++, row++) {
      const values = readers.map((read) => read(i));
      if (values.some((v) => v === undefined)) {
        throw new RivetError(
          `key_column (${
            keys.join(", ")
          }) is NULL in a row; keyset paging needs a key that is never NULL`,
        );
      }
      const text = values.map((v) => v!.text).join("\u0000");
      if (text === previous) {
        throw new RivetError(
          `key_column (${keys.join(", ")}) is not unique: ${
            values.map((v) => v!.text).join(", ")
          } appears more than once, and keyset paging would skip rows; add a tie-breaker column to key_column`,
        );
      }
      previous = text;
      if (row === keep - 1) last = values as TypedValue[];
    }
  }
  return last;
}

/** The first `rows` rows of `batches`. */
function slice(batches: readonly RecordBatch[], rows: number): RecordBatch[] {
  const out: RecordBatch[] = [];
  let left = rows;
  for (const batch of batches) {
    if (left <= 0) break;
    out.push(batch.numRows <= left ? batch : batch.slice(0, left));
    left -= batch.numRows;
  }
  return out;
}

/** The page size that fills `budget` at the width measured on `page`; logged on the first. */
function rowsForBudget(ctx: ExportContext, page: Page, budget: number, pageNo: number): number {
  const bytes = page.batches.reduce((sum, b) => sum + b.data.byteLength, 0);
  const perRow = Math.max(1, Math.ceil(bytes / Math.max(1, page.rows)));
  const rows = Math.max(1, Math.min(MAX_PAGE_ROWS, Math.floor(budget / perRow)));
  if (pageNo === 1) {
    log.info(
      `export '${ctx.exp.name}': batch_size_memory_mb=${ctx.config.source.tuning.batchSizeMemoryMb}: measured row ~${perRow} B, page size=${rows}`,
    );
  }
  return rows;
}
