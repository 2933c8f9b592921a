/**
 * The FETCH path: a server-side cursor read in batches.
 *
 * `DECLARE _rivet NO SCROLL CURSOR FOR <query>` inside the read's transaction (its own, or the
 * pinned snapshot's: see `transaction.ts`), then `FETCH <n>` until a short read. Each FETCH is its
 * own statement, so `statement_timeout` bounds one read rather than the whole export, and the
 * throttle sleeps between batches with no statement running. Bind parameters go to the server
 * untyped (it infers their types from the query), never into the SQL text.
 *
 * With rows per batch only, one `FETCH <batchRows>` is one batch. With a memory budget, the first
 * FETCH is a small probe and each later one asks for the rows the batch still has room for at the
 * measured width; the fetched rows join the batch while their predicted size (from the length of
 * their text) fits, so a read that brings more than one batch's worth is split into several
 * (see `batch_budget.ts`).
 *
 * @module
 */
import type { RecordBatch, Schema } from "apache-arrow";
import { finishBatch, pendingBytes } from "../../arrow/batch.ts";
import { BatchBudget } from "../batch_budget.ts";
import type { ResultStream, StreamOptions } from "../source.ts";
import { type SqlQuery, stripTerminator } from "../../sql.ts";
import { sleep } from "../../util/sleep.ts";
import { onAbort } from "./abort.ts";
import { buildersOf, type ColumnSink, createSinks } from "./columns.ts";
import type { TextRow } from "./connect.ts";
import { describeColumns } from "./describe.ts";
import { appendTextRows } from "./text_decode.ts";
import type { PgTransactions } from "./transaction.ts";
import type { PgColumn } from "./types.ts";

/** Name of the cursor; one read at a time per session. */
const CURSOR = "_rivet";

/** Opens the cursor and resolves the schema; rows are read as the batches are iterated. */
export async function startFetch(
  tx: PgTransactions,
  query: SqlQuery,
  options: StreamOptions,
  onDone: () => void,
): Promise<ResultStream> {
  const session = tx.session;
  try {
    await tx.begin();
    const declare = `DECLARE ${CURSOR} NO SCROLL CURSOR FOR\n`;
    await session.run(
      `${declare}${stripTerminator(query.text)}\n`,
      query.params.map((p) => p.text),
      declare.length,
    );
    // FETCH 0 returns no row but the RowDescription: the schema before any data moves.
    const head = await session.run(`FETCH FORWARD 0 FROM ${CURSOR}`);
    const columns = await describeColumns(session, head.fields);
    const { schema, sinks } = createSinks(columns);
    return { schema, batches: fetchBatches(tx, columns, schema, sinks, options, onDone) };
  } catch (error) {
    await tx.abandon(error, CURSOR);
    onDone();
    throw error;
  }
}

async function* fetchBatches(
  tx: PgTransactions,
  columns: readonly PgColumn[],
  schema: Schema,
  sinks: readonly ColumnSink[],
  options: StreamOptions,
  onDone: () => void,
): AsyncGenerator<RecordBatch> {
  const { batchRows, throttleMs, signal } = options;
  const session = tx.session;
  const builders = buildersOf(sinks);
  const budget = BatchBudget.requested(options);
  // An abort mid-FETCH cancels it on the server; the FETCH then fails and the finally rolls back.
  const unsubscribe = onAbort(signal, () => session.cancelRunning());
  /** The latest FETCH's rows; those from `at` on are not in a batch yet. */
  let rows: TextRow[] = [];
  let at = 0;
  /** Rows in the builders, not yet cut into a batch. */
  let pending = 0;
  let full = false;
  let completed = false;
  let failure: unknown;
  try {
    // Each turn does one thing: cut a full batch, add fetched rows to the batch, or fetch more.
    for (;;) {
      signal?.throwIfAborted();
      if (full || (completed && at === rows.length && pending > 0)) {
        const batch = finishBatch(schema, builders);
        pending = 0;
        full = false;
        budget?.report();
        yield batch;
        if (throttleMs > 0 && !completed) await sleep(throttleMs, signal);
      } else if (at < rows.length) {
        const before = budget === undefined ? 0 : pendingBytes(builders);
        const take = budget === undefined
          ? { count: Math.min(rows.length - at, batchRows - pending), raw: 0, full: false }
          : fitting(budget, rows, at, pending, before);
        const { count } = take;
        appendTextRows(columns, sinks, count === rows.length ? rows : rows.slice(at, at + count));
        budget?.measure(count, pendingBytes(builders) - before, take.raw);
        pending += count;
        at += count;
        full = take.full || pending === batchRows;
      } else if (completed) {
        break;
      } else {
        const size = budget?.readSize(pending, pendingBytes(builders)) ?? batchRows;
        if (size === 0) {
          full = true;
          continue;
        }
        // Let the rows already in batches go before the next ones arrive.
        rows = [];
        at = 0;
        ({ rows } = await session.run(`FETCH FORWARD ${size} FROM ${CURSOR}`));
        if (rows.length < size) {
          // A short read is the end: release the cursor before the consumer handles the rows.
          await tx.finish(CURSOR);
          completed = true;
        }
      }
    }
  } catch (error) {
    failure = error;
    signal?.throwIfAborted();
    throw error;
  } finally {
    unsubscribe();
    // Early exit (consumer break, abort, error): end the read so nothing stays open.
    if (!completed) await tx.abandon(failure, CURSOR);
    onDone();
  }
}

/** The cheap size of a text row: its characters, plus one per value (a NULL takes room too). */
function textSize(row: TextRow): number {
  let size = row.length;
  for (const value of row) if (value !== null) size += value.length;
  return size;
}

/**
 * How many of `rows`, from `at` on, fit a batch holding `pending` rows in `bytes` bytes at their
 * predicted sizes (at least one when the batch is empty, only one before anything is measured),
 * their total text size, and whether the batch is full (the next row does not fit).
 */
function fitting(
  budget: BatchBudget,
  rows: readonly TextRow[],
  at: number,
  pending: number,
  bytes: number,
): { count: number; raw: number; full: boolean } {
  let count = 0;
  let raw = 0;
  for (; at + count < rows.length; count++) {
    const size = textSize(rows[at + count]);
    const rowBytes = budget.predict(size);
    if (rowBytes === undefined) return { count: 1, raw: size, full: false };
    if (!budget.fits(pending + count, bytes, rowBytes)) return { count, raw, full: true };
    bytes += rowBytes;
    raw += size;
  }
  return { count, raw, full: false };
}
