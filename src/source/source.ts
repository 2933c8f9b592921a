/**
 * The source seam: a connection that turns one SQL query into a stream of Arrow record batches.
 *
 * @module
 */
import type { RecordBatch, Schema } from "apache-arrow";

/**
 * A typed scalar bound to a query placeholder (never spliced into SQL text).
 *
 * `text` is the exact canonical text of the value: integers and decimals as digits, timestamps as
 * ISO 8601 with microseconds (`2024-01-02T03:04:05.123456`, plus `Z` when `kind` is `timestamptz`),
 * dates as `YYYY-MM-DD`.
 */
export interface TypedValue {
  kind: "int" | "decimal" | "float" | "text" | "date" | "timestamp" | "timestamptz" | "bool";
  text: string;
}

/** A query plus the values for its placeholders (`$1..` on PostgreSQL, `?` on MySQL). */
export interface SqlQuery {
  text: string;
  params: TypedValue[];
}

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

/** SQL dialect details the planner needs to wrap a user query. */
export interface Dialect {
  /** Quotes an identifier (`"x"` / `` `x` ``), escaping embedded quote characters. */
  quoteIdent(name: string): string;
  /** The placeholder for the 1-based parameter `index`. */
  placeholder(index: number): string;
}

/**
 * One connection for one attempt. Created fresh for every attempt and closed after it, whatever
 * happened (spec "Retry semantics": never reuse a failed connection).
 *
 * @example
 * ```ts
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
