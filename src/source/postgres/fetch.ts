/**
 * The FETCH path: a server-side cursor read in batches.
 *
 * `DECLARE _rivet BINARY NO SCROLL CURSOR FOR <query>` inside the read's transaction (its own, or
 * the pinned snapshot's: see `transaction.ts`), then `FETCH <n>` until a short read. Each FETCH is
 * its own statement, so `statement_timeout` bounds one read rather than the whole export, and the
 * throttle sleeps between batches with no statement running. Bind parameters go to the server
 * untyped (it infers their types from the query), never into the SQL text.
 *
 * The cursor is BINARY, so each row is a binary COPY tuple: the FETCH's rows are read off the
 * socket (`copy_rows_query.ts`) and decoded by the COPY path's decoder (`binary_decode.ts`),
 * straight into the column builders. Read as text through node-postgres, every row was a JS array
 * and every value a JS string; a 10,000-row FETCH of mixed rows lived long enough for V8 to move
 * them to its old generation, which took peak RSS to 320-360 MB on 1 M rows (`balanced` profile).
 * When some columns are read as their text output, the cursor, once it has described the
 * query, is declared again over the COPY path's wrapper (`binarySelect`).
 *
 * With rows per batch only, one `FETCH <batchRows>` is one batch. With a memory budget, each
 * FETCH asks for the rows the batch still has room for at the measured width, and the decoder
 * cuts a batch before the first row whose predicted size does not fit, so a FETCH that brought
 * more than one batch's worth is split into several (see `batch_budget.ts`).
 *
 * @module
 */
import type { RecordBatch, Schema } from "apache-arrow";
import { finishBatch, pendingBytes } from "../../arrow/batch.ts";
import type { ColumnBuilder } from "../../arrow/builder.ts";
import { BatchBudget } from "../batch_budget.ts";
import type { ResultStream, StreamOptions } from "../source.ts";
import { type SqlQuery, stripTerminator } from "../../sql.ts";
import { sleep } from "../../util/sleep.ts";
import { onAbort } from "./abort.ts";
import { CopyBinaryDecoder } from "./binary_decode.ts";
import { buildersOf, type ColumnSink, createSinks } from "./columns.ts";
import { binarySelect } from "./copy.ts";
import type { Records } from "./copy_rows.ts";
import { describeColumns } from "./describe.ts";
import { toSourceError } from "./errors.ts";
import type { PgSession } from "./connect.ts";
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
  const body = stripTerminator(query.text);
  const params = query.params.map((p) => p.text);
  try {
    await tx.begin();
    const declare = `DECLARE ${CURSOR} BINARY NO SCROLL CURSOR FOR\n`;
    await session.run(`${declare}${body}\n`, params, declare.length);
    // FETCH 0 returns no row but the RowDescription: the schema before any data moves.
    const head = await session.run(`FETCH FORWARD 0 FROM ${CURSOR}`);
    const columns = await describeColumns(session, head.fields);
    const { schema, sinks } = createSinks(columns);
    const select = binarySelect(body, columns);
    if (select !== body) {
      // Some columns are read as their text output: the cursor is declared again, wrapped.
      await session.run(`CLOSE ${CURSOR}`);
      await session.run(
        `${declare}${select}\n`,
        params,
        declare.length + select.lastIndexOf(body),
      );
    }
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
  const decoder = new CopyBinaryDecoder(columns, sinks, batchRows, budget, "fetch");
  // An abort mid-FETCH cancels it on the server; the FETCH then fails and the finally rolls back.
  const unsubscribe = onAbort(signal, () => session.cancelRunning());
  let completed = false;
  let failure: unknown;
  try {
    // Each turn does one thing: cut a full batch, or fetch more rows for it.
    for (;;) {
      signal?.throwIfAborted();
      const size = decoder.decode() ? 0 : nextFetch(decoder, budget, builders, batchRows);
      if (size === 0 || (completed && decoder.rows > 0)) {
        decoder.batchTaken();
        const batch = finishBatch(schema, builders);
        budget?.report();
        yield batch;
        if (throttleMs > 0 && !completed) await sleep(throttleMs, signal);
      } else if (completed) {
        decoder.end();
        break;
      } else if (await fetchInto(session, decoder, size) < size) {
        // A short read is the end: release the cursor before the consumer handles the rows.
        await tx.finish(CURSOR);
        completed = true;
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

/**
 * Rows to fetch for the batch being built, once the decoder has used up what it was given: as
 * many as the batch has room for, or 0 when it is full.
 */
function nextFetch(
  decoder: CopyBinaryDecoder,
  budget: BatchBudget | undefined,
  builders: readonly ColumnBuilder[],
  batchRows: number,
): number {
  if (budget === undefined) return batchRows - decoder.rows;
  return budget.readSize(decoder.rows, pendingBytes(builders));
}

/**
 * Runs `FETCH <size>` and decodes its rows as they arrive, while the server sends the rest (until
 * the batch is full; the rest is queued); returns how many came. A read that stops before the
 * FETCH's rows ended (a value that cannot be decoded, a malformed message) leaves the socket to
 * the statement, so the session is killed: its next statement would wait for a reply that can no
 * longer be read. A server error ends the rows itself, and the session goes on.
 */
async function fetchInto(
  session: PgSession,
  decoder: CopyBinaryDecoder,
  size: number,
): Promise<number> {
  const stream = session.fetchOut(`FETCH FORWARD ${size} FROM ${CURSOR}`);
  let rows = 0;
  let failure: { error: unknown } | undefined;
  try {
    for await (const records of stream as AsyncIterable<Records>) {
      decoder.push(records.bytes, records.owned);
      rows += records.rows;
      try {
        decoder.decode();
      } catch (error) {
        failure = { error };
        break;
      }
    }
  } catch (error) {
    failure = { error: toSourceError(error, { password: session.password }) };
  }
  if (failure === undefined) return rows;
  if (stream.holdsSocket) await session.kill();
  throw failure.error;
}
