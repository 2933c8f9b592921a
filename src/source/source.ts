/**
 * The source seam: a connection that turns one SQL query into a stream of Arrow record batches.
 *
 * @module
 */
import type { RecordBatch, Schema } from "apache-arrow";
import type { SqlQuery } from "../sql.ts";

/** Options for one streamed query. */
export interface StreamOptions {
  /** Rows per record batch. */
  batchRows: number;
  /** Sleep between batches, in milliseconds. */
  throttleMs: number;
  /** Aborts the stream (the source must stop reading and release the server promptly). */
  signal?: AbortSignal;
}

/** The result of {@link Source.query}: the schema is known before the first row. */
export interface ResultStream {
  /** Arrow schema of every batch; field metadata `rivet.source_type` holds the database type name. */
  schema: Schema;
  /** Record batches of at most `batchRows` rows each; empty results yield no batch. */
  batches: AsyncIterable<RecordBatch>;
}

/**
 * One connection for one attempt. Created fresh for every attempt and closed after it, whatever
 * happened (spec "Retry semantics": never reuse a failed connection).
 *
 * @example Needs a running server, so it is not run as a doctest.
 * ```ts ignore
 * const source = await openSource(config.source);
 * try {
 *   const { schema, batches } = await source.query(sql, { batchRows: 10_000, throttleMs: 50 });
 *   for await (const batch of batches) console.log(batch.numRows);
 * } finally {
 *   await source.close();
 * }
 * ```
 */
export interface Source {
  /** Runs `query` and streams its rows. Errors are {@link SourceError} / {@link TypeMappingError}. */
  query(query: SqlQuery, options: StreamOptions): Promise<ResultStream>;
  /** Releases the connection; safe to call twice and after a failure. */
  close(): Promise<void>;
}
