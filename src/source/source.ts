/**
 * The source seam: a connection that turns one SQL query into a stream of Arrow record batches.
 *
 * @module
 */
import type { RecordBatch, Schema } from "apache-arrow";
import type { SqlQuery } from "../sql.ts";

/** Options for one streamed query. */
export interface StreamOptions {
  /** Rows per record batch (the most a batch holds). */
  batchRows: number;
  /**
   * Memory budget of one batch in bytes (`batch_size_memory_mb`): when set, a batch also ends
   * once its column buffers reach this size, and read sizes are chosen from the measured width of
   * the rows, so a batch of wide rows stays near the budget.
   */
  batchBytes?: number;
  /**
   * A ceiling on one batch's column buffers when no {@link batchBytes} is set: the read paths that
   * see each row before it joins a batch (COPY, MySQL) end a batch once it would pass this size,
   * so a batch of wide rows cannot take `batchRows` times their width. The FETCH path, which must
   * name a row count before it sees the rows, keeps `batchRows`.
   */
  maxBatchBytes?: number;
  /** Sleep between batches, in milliseconds. */
  throttleMs: number;
  /** Aborts the stream (the source must stop reading and release the server promptly). */
  signal?: AbortSignal;
}

/** The cost a connection imposed on the server, as seen from the client. */
export interface SessionStats {
  /** The longest single statement, from sending it to its last row (or failure). */
  longestStatementMs: number;
  /** The longest transaction, from its first statement to its end (or the connection's end). */
  longestTransactionMs: number;
}

/** One table access in a query plan. */
export interface PlanScan {
  /** `index`: reads through an index (range, lookup, index-only, bitmap); `full`: every row. */
  method: "index" | "full";
  /** The table read, as the server names it. */
  table?: string;
  /** The index used, when `method` is `index`. */
  index?: string;
  /** The server's own words, e.g. `Index Scan using idx_orders_updated_at on orders`. */
  description: string;
}

/** What a statement's plan says about its cost (see {@link Source.explain}). */
export interface QueryPlan {
  /** The planner's estimate of the rows the statement returns. */
  rows?: number;
  /** Every table access in the plan, outermost first. */
  scans: PlanScan[];
  /** Whether the plan sorts rows (PostgreSQL Sort/Incremental Sort, MySQL filesort). */
  sorts: boolean;
}

/** The result of {@link Source.query}: the schema is known before the first row. */
export interface ResultStream {
  /** Arrow schema of every batch; field metadata `rivet.source_type` holds the database type name. */
  schema: Schema;
  /**
   * Record batches of at most `batchRows` rows each; empty results yield no batch. Each batch is
   * new, its buffers shared with nothing: the consumer owns it and may free them.
   */
  batches: AsyncIterable<RecordBatch>;
}

/** Options for {@link Source.copyCsv}. */
export interface CsvOptions {
  /** The stream's throttle: with one, the source declines (a throttle needs batches). */
  throttleMs: number;
  /** Aborts the stream (the source must stop reading and release the server promptly). */
  signal?: AbortSignal;
  /** A column whose last non-NULL value each chunk reports (the incremental cursor). */
  watch?: string;
}

/** Whole CSV records, as they go into the file. */
export interface CsvChunk {
  /**
   * UTF-8 records, each ending in LF, in rivet's CSV conventions (`docs/types.md`). Valid until
   * the next chunk is asked for (the source reuses its buffers): a consumer that keeps them
   * copies them.
   */
  bytes: Uint8Array;
  /** Records in `bytes` (a quoted line break is not a record's end). */
  rows: number;
  /** `ends[r]` is the index in `bytes` just past record `r` (for `r < rows`). */
  ends: Int32Array;
  /**
   * The last non-NULL value of the watched column in these records, as its field reads once
   * unquoted; undefined when there is none.
   */
  watched?: string;
}

/** The result of {@link Source.copyCsv}: the schema is known before the first record. */
export interface CsvStream {
  /** The Arrow schema the same query's batches would have (names, types, metadata). */
  schema: Schema;
  /** The records, without a header; an empty result yields no chunk. */
  chunks: AsyncIterable<CsvChunk>;
}

/**
 * One connection. Opened fresh for an attempt and closed after a failure, whatever happened (spec
 * "Retry semantics": never reuse a failed connection); a connection whose queries succeed may run
 * several queries, one after another.
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
  /**
   * Optional: runs `query` and streams its rows as CSV records (PostgreSQL: rendered by the
   * server; MySQL: written from the row packets), byte for byte what a CSV writer would make of
   * {@link Source.query}'s batches, without building them. Resolves to undefined, having sent
   * nothing that runs the query, when this query cannot be read that way (the source's own
   * conditions, e.g. bind parameters or a throttle); the caller then uses {@link Source.query}.
   */
  copyCsv?(query: SqlQuery, options: CsvOptions): Promise<CsvStream | undefined>;
  /**
   * Pins the connection to one consistent snapshot: from now on every query runs inside one
   * read-only, repeatable-read transaction that stays open until {@link Source.close}.
   *
   * - Without `snapshot`: starts a new snapshot and returns an id other connections can import
   *   (PostgreSQL: `pg_export_snapshot()`), or `undefined` where snapshots cannot be shared
   *   (MySQL: `START TRANSACTION WITH CONSISTENT SNAPSHOT`, one per connection).
   * - With `snapshot` (PostgreSQL only): imports it (`SET TRANSACTION SNAPSHOT`), so this
   *   connection sees exactly what the exporting one sees; it fails with a {@link SourceError}
   *   when the exporting transaction is gone.
   *
   * Call it before the first query. A failed query leaves the connection unusable: close it.
   */
  pinSnapshot(snapshot?: string): Promise<string | undefined>;
  /**
   * The planner's row estimate for `query` (PostgreSQL `EXPLAIN`, MySQL `EXPLAIN`), without
   * running it; `undefined` when the plan gives none. Estimates can be far off: use them for
   * warnings, never for correctness.
   */
  estimateRows(query: SqlQuery): Promise<number | undefined>;
  /**
   * The server's plan for `query`, structured, without running it (PostgreSQL
   * `EXPLAIN (FORMAT JSON)`, MySQL 8 / MariaDB `EXPLAIN FORMAT=JSON`), under the session's
   * statement timeout. Fails with a {@link SourceError} when the query does not plan.
   */
  explain(query: SqlQuery): Promise<QueryPlan>;
  /**
   * The primary key columns (in key order) of `table`, a table name as written in a query
   * (optionally schema-qualified, optionally quoted); `undefined` when it has none or is not a
   * table. Used to suggest a `key_column`.
   */
  primaryKey(table: string): Promise<string[] | undefined>;
  /**
   * What this connection has held on the server so far: its longest statement and its longest
   * transaction (a pinned snapshot's lasts until {@link Source.close}), in milliseconds. Kept
   * after `close()`.
   */
  stats(): SessionStats;
  /** Releases the connection; safe to call twice and after a failure. */
  close(): Promise<void>;
}
