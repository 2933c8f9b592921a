/**
 * Turns an export's mode into its pieces: the units of work the pipeline runs, retries and
 * commits one by one. User queries are wrapped, never edited.
 *
 * @module
 */
import type { ExportConfig } from "../config/types.ts";
import { type Dialect, type SqlQuery, stripTerminator, type TypedValue } from "../sql.ts";
import { chunkQuery, type ChunkWindow } from "./chunks.ts";
import { incrementalQuery } from "./incremental.ts";
import { timeWindowQuery, windowStart } from "./time_window.ts";

/**
 * One unit of work of an export: a query whose rows become the piece's files. A piece is retried
 * alone, on a fresh connection, and its files are committed together.
 */
export interface Piece {
  /** 0-based position of the piece in its export. */
  index: number;
  /** The statement that reads the piece's rows. */
  query: SqlQuery;
  /** The chunk window the piece reads (chunked mode): names its files and its checkpoint. */
  window?: ChunkWindow;
}

/** What planning needs besides the export itself. */
export interface PlanInputs {
  /** The stored incremental cursor, if any. */
  cursor?: TypedValue;
  /** The chunk windows still to deliver (chunked mode). */
  windows?: readonly ChunkWindow[];
  /** The run's clock (time_window start). */
  now: Date;
}

/**
 * The pieces of one run of `exp`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 *
 * const dialect = { quoteIdent: (n: string) => `"${n}"`, placeholder: (i: number) => `$${i}` };
 * const exp = { query: "SELECT * FROM users;", mode: { kind: "full" as const } };
 * assert.deepEqual(planPieces(exp, { now: new Date() }, dialect), [
 *   { index: 0, query: { text: "SELECT * FROM users", params: [] } },
 * ]);
 * ```
 */
export function planPieces(
  exp: Pick<ExportConfig, "query" | "mode">,
  inputs: PlanInputs,
  dialect: Dialect,
): Piece[] {
  const base = stripTerminator(exp.query);
  const mode = exp.mode;
  switch (mode.kind) {
    case "full":
      return [{ index: 0, query: { text: base, params: [] } }];
    case "incremental":
      return [{
        index: 0,
        query: incrementalQuery(base, mode.cursorColumn, inputs.cursor, dialect),
      }];
    case "time_window": {
      const start = windowStart(inputs.now, mode.daysWindow);
      return [{
        index: 0,
        query: timeWindowQuery(base, mode.timeColumn, mode.timeColumnType, start, dialect),
      }];
    }
    case "chunked":
      return (inputs.windows ?? []).map((window) => ({
        index: window.index,
        query: chunkQuery(base, mode.chunkColumn, window, dialect),
        window,
      }));
  }
}
