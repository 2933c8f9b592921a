/**
 * The FETCH path: a server-side cursor read in batches.
 *
 * `BEGIN READ ONLY; DECLARE _rivet NO SCROLL CURSOR FOR <query>`, then `FETCH <n>` per batch.
 * Each FETCH is its own statement, so `statement_timeout` bounds one batch rather than the whole
 * export, and the throttle sleeps between batches with no statement running. Bind parameters go
 * to the server untyped (it infers their types from the query), never into the SQL text.
 *
 * @module
 */
import type { RecordBatch, Schema } from "apache-arrow";
import { finishBatch } from "../../arrow/batch.ts";
import type { ResultStream, StreamOptions } from "../source.ts";
import { type SqlQuery, stripTerminator } from "../../sql.ts";
import { sleep } from "../../util/sleep.ts";
import { onAbort } from "./abort.ts";
import { buildersOf, type ColumnSink, createSinks } from "./columns.ts";
import { BEGIN_SQL, type PgSession } from "./connect.ts";
import { describeColumns } from "./describe.ts";
import { appendTextRows } from "./text_decode.ts";
import type { PgColumn } from "./types.ts";

/** Name of the cursor; one read at a time per session. */
const CURSOR = "_rivet";

/** Opens the cursor and resolves the schema; rows are read as the batches are iterated. */
export async function startFetch(
  session: PgSession,
  query: SqlQuery,
  options: StreamOptions,
  onDone: () => void,
): Promise<ResultStream> {
  try {
    await session.run(BEGIN_SQL);
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
    return { schema, batches: fetchBatches(session, columns, schema, sinks, options, onDone) };
  } catch (error) {
    await session.rollback();
    onDone();
    throw error;
  }
}

async function* fetchBatches(
  session: PgSession,
  columns: readonly PgColumn[],
  schema: Schema,
  sinks: readonly ColumnSink[],
  options: StreamOptions,
  onDone: () => void,
): AsyncGenerator<RecordBatch> {
  const { batchRows, throttleMs, signal } = options;
  const builders = buildersOf(sinks);
  const fetchSql = `FETCH FORWARD ${batchRows} FROM ${CURSOR}`;
  // An abort mid-FETCH cancels it on the server; the FETCH then fails and the finally rolls back.
  const unsubscribe = onAbort(signal, () => session.cancelRunning());
  let completed = false;
  try {
    for (;;) {
      signal?.throwIfAborted();
      const { rows } = await session.run(fetchSql);
      let batch: RecordBatch | undefined;
      if (rows.length > 0) {
        appendTextRows(columns, sinks, rows);
        batch = finishBatch(schema, builders);
      }
      const last = rows.length < batchRows;
      if (last) {
        // A short batch is the end: release the cursor before the consumer handles it.
        await session.run(`CLOSE ${CURSOR}; COMMIT`);
        completed = true;
      }
      if (batch !== undefined) yield batch;
      if (last) break;
      if (throttleMs > 0) await sleep(throttleMs, signal);
    }
  } catch (error) {
    signal?.throwIfAborted();
    throw error;
  } finally {
    unsubscribe();
    // Early exit (consumer break, abort, error): end the transaction so nothing stays open.
    if (!completed) await session.rollback();
    onDone();
  }
}
