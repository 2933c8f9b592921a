/**
 * The CSV passthrough: `COPY (<query>) TO STDOUT (FORMAT csv)`, the server's own CSV, read off the
 * socket as blocks of whole records (`copy_rows_query.ts`) and streamed through the byte pass
 * (`csv_rewrite.ts`) that brings the few types PostgreSQL prints differently to rivet's CSV
 * conventions; the watched column's last value is read from the records (`csv_watch.ts`). No
 * Arrow batch is built.
 *
 * The same conditions as the COPY binary path apply (no statement timeout, no throttle, no bind
 * parameters: see `copy.ts`), and so does everything else: the query is described first (`LIMIT
 * 0`) for the schema, the COPY runs in the read's transaction (its own, or the pinned snapshot's),
 * TCP is the backpressure, and an abort cancels the statement and drops the connection.
 *
 * @module
 */
import { stripTerminator } from "../../sql.ts";
import { releaseBuffer } from "../../util/release_buffer.ts";
import type { CsvChunk, CsvStream } from "../source.ts";
import { onAbort } from "./abort.ts";
import { createSinks, inColumn } from "./columns.ts";
import type { Records } from "./copy_rows.ts";
import { CsvRewriter } from "./csv_rewrite.ts";
import { lastValue } from "./csv_watch.ts";
import { describeColumns } from "./describe.ts";
import { toSourceError } from "./errors.ts";
import type { PgTransactions } from "./transaction.ts";
import type { PgColumn } from "./types.ts";

/** Describes the query and resolves the schema; the COPY starts when the chunks are iterated. */
export async function startCopyCsv(
  tx: PgTransactions,
  text: string,
  options: { signal?: AbortSignal; watch?: string },
  onDone: () => void,
): Promise<CsvStream> {
  const session = tx.session;
  const body = stripTerminator(text);
  try {
    await tx.begin();
    const prefix = "SELECT * FROM (\n";
    const head = await session.run(`${prefix}${body}\n) AS _rivet_d LIMIT 0`, [], prefix.length);
    const columns = await describeColumns(session, head.fields);
    const { schema } = createSinks(columns);
    // A list is never a cursor: the consumer refuses it before the first chunk.
    const watch = columns.findIndex((c) => c.name === options.watch && !c.isArray);
    const sql = `COPY (\n${body}\n) TO STDOUT (FORMAT csv)`;
    return { schema, chunks: copyChunks(tx, sql, columns, watch, options.signal, onDone) };
  } catch (error) {
    await tx.abandon(error);
    onDone();
    throw error;
  }
}

async function* copyChunks(
  tx: PgTransactions,
  sql: string,
  columns: readonly PgColumn[],
  watch: number,
  signal: AbortSignal | undefined,
  onDone: () => void,
): AsyncGenerator<CsvChunk> {
  const session = tx.session;
  const rewriter = new CsvRewriter(columns);
  let completed = false;
  let unsubscribe = () => {};
  try {
    signal?.throwIfAborted();
    const stream = session.copyOut(sql, "csv");
    // Release the server at once, even if the consumer never asks for the next chunk.
    unsubscribe = onAbort(signal, () => {
      stream.destroy(signal?.reason);
      void session.kill();
    });
    try {
      for await (const records of stream as AsyncIterable<Records>) {
        const watched = watch >= 0 ? watchedValue(records, columns, watch) : undefined;
        const { bytes, rows, ends } = rewriter.rewrite(records);
        yield watched === undefined ? { bytes, rows, ends } : { bytes, rows, ends, watched };
        // The consumer is done with the chunk (see CsvChunk): release the socket's bytes now,
        // or the main thread, allocating little else, lets tens of MB of them pile up.
        if (records.owned) releaseBuffer(records.bytes);
      }
    } catch (error) {
      signal?.throwIfAborted();
      throw toSourceError(error, { password: session.password });
    }
    await tx.finish();
    completed = true;
  } finally {
    unsubscribe();
    // A COPY cannot be stopped half-way on a live connection: cancel it and drop the socket.
    if (!completed) await session.kill();
    onDone();
  }
}

function watchedValue(
  records: Records,
  columns: readonly PgColumn[],
  watch: number,
): string | undefined {
  try {
    return lastValue(records, columns, watch);
  } catch (error) {
    throw inColumn(error, columns[watch]);
  }
}
