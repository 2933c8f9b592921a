/**
 * The COPY path (the `fast` profile): `COPY (<query>) TO STDOUT (FORMAT binary)` decoded straight
 * from the raw bytes.
 *
 * COPY is one statement, so it is only chosen when nothing needs per-batch bounds (no
 * statement_timeout, no throttle) and the query has no bind parameters: COPY cannot take
 * parameters, and splicing values into SQL text is exactly what the Source contract rules out.
 * Backpressure is TCP: while the consumer works the socket is not read and the server waits.
 * With a memory budget the decoder cuts a batch before the first row whose predicted size (from
 * its bytes on the wire) does not fit (see `batch_budget.ts`). The COPY runs in the read's
 * transaction: its own, or the pinned snapshot's.
 *
 * @module
 */
import type { RecordBatch, Schema } from "apache-arrow";
import { finishBatch } from "../../arrow/batch.ts";
import { BatchBudget } from "../batch_budget.ts";
import type { ResultStream, StreamOptions } from "../source.ts";
import { stripTerminator } from "../../sql.ts";
import { onAbort } from "./abort.ts";
import { CopyBinaryDecoder } from "./binary_decode.ts";
import { buildersOf, type ColumnSink, createSinks } from "./columns.ts";
import type { Records } from "./copy_rows.ts";
import { describeColumns } from "./describe.ts";
import { quoteIdent } from "./dialect.ts";
import { toSourceError } from "./errors.ts";
import type { PgTransactions } from "./transaction.ts";
import type { PgColumn } from "./types.ts";

/**
 * The query whose rows are read in binary (by COPY, or through a BINARY cursor). Columns whose
 * binary format rivet does not decode travel as their text output: `format('%s', x)` calls the
 * type's output function, exactly what a text-format read returns (a `::text` cast would not:
 * inet's cast drops nothing but adds `/32`, "char"'s skips escaping). NULL is told apart with
 * `num_nulls`, not `IS NULL`, which is also true of a composite whose fields are all NULL (printed
 * `(,)`, not NULL). The wrapper renames columns by position so duplicate or unnamed columns cannot
 * get in the way.
 */
export function binarySelect(body: string, columns: readonly PgColumn[]): string {
  if (!columns.some((c) => c.scalar.castText)) return body;
  const names = columns.map((_, i) => quoteIdent(`c${i + 1}`));
  const select = columns.map((c, i) => {
    const n = names[i];
    return c.scalar.castText
      ? `CASE WHEN num_nulls(${n}) = 1 THEN NULL ELSE format('%s', ${n}) END`
      : n;
  });
  return `SELECT ${select.join(", ")} FROM (\n${body}\n) AS _rivet_q(${names.join(", ")})`;
}

/** The COPY statement of {@link binarySelect}. */
export function copySql(body: string, columns: readonly PgColumn[]): string {
  const select = binarySelect(body, columns);
  return select === body
    ? `COPY (\n${body}\n) TO STDOUT (FORMAT binary)`
    : `COPY (${select}) TO STDOUT (FORMAT binary)`;
}

/** Describes the query and resolves the schema; the COPY starts when the batches are iterated. */
export async function startCopy(
  tx: PgTransactions,
  text: string,
  options: StreamOptions,
  onDone: () => void,
): Promise<ResultStream> {
  const session = tx.session;
  const body = stripTerminator(text);
  try {
    await tx.begin();
    // COPY reports no column types: LIMIT 0 yields the RowDescription without reading data.
    const prefix = "SELECT * FROM (\n";
    const head = await session.run(`${prefix}${body}\n) AS _rivet_d LIMIT 0`, [], prefix.length);
    const columns = await describeColumns(session, head.fields);
    const { schema, sinks } = createSinks(columns);
    const sql = copySql(body, columns);
    return { schema, batches: copyBatches(tx, sql, columns, schema, sinks, options, onDone) };
  } catch (error) {
    await tx.abandon(error);
    onDone();
    throw error;
  }
}

async function* copyBatches(
  tx: PgTransactions,
  sql: string,
  columns: readonly PgColumn[],
  schema: Schema,
  sinks: readonly ColumnSink[],
  options: StreamOptions,
  onDone: () => void,
): AsyncGenerator<RecordBatch> {
  const { batchRows, signal } = options;
  const session = tx.session;
  const builders = buildersOf(sinks);
  const budget = BatchBudget.of(options);
  const decoder = new CopyBinaryDecoder(columns, sinks, batchRows, budget);
  let completed = false;
  let unsubscribe = () => {};
  try {
    signal?.throwIfAborted();
    const stream = session.copyOut(sql, "binary");
    // Release the server at once, even if the consumer never asks for the next batch.
    unsubscribe = onAbort(signal, () => {
      stream.destroy(signal?.reason);
      void session.kill();
    });
    try {
      for await (const records of stream as AsyncIterable<Records>) {
        decoder.push(records.bytes, records.owned);
        while (decoder.decode()) {
          decoder.batchTaken();
          const batch = finishBatch(schema, builders);
          budget?.report();
          yield batch;
        }
      }
    } catch (error) {
      signal?.throwIfAborted();
      throw toSourceError(error, { password: session.password });
    }
    decoder.end();
    const last = decoder.rows > 0 ? finishBatch(schema, builders) : undefined;
    budget?.report();
    // Everything is read: end the read before the consumer handles the last batch.
    await tx.finish();
    completed = true;
    if (last !== undefined) yield last;
  } finally {
    unsubscribe();
    // A COPY cannot be stopped half-way on a live connection: cancel it and drop the socket.
    if (!completed) await session.kill();
    onDone();
  }
}
