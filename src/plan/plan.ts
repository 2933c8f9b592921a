/**
 * Turns an export's mode into its pieces: the units of work the pipeline runs, retries and
 * commits one by one. User queries are wrapped, never edited.
 *
 * @module
 */
import type { ExportConfig } from "../config/types.ts";
import { type Dialect, type SqlQuery, stripTerminator, type TypedValue } from "../sql.ts";
import { incrementalQuery } from "./incremental.ts";

/**
 * One unit of work of an export: a query whose rows become the piece's files. A piece is retried
 * alone, on a fresh connection, and its files are committed together.
 */
export interface Piece {
  /** 0-based position of the piece in its export. */
  index: number;
  /** The statement that reads the piece's rows. */
  query: SqlQuery;
}

/**
 * The pieces of one run of `exp`; `cursor` is the stored incremental cursor, if any.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 *
 * const dialect = { quoteIdent: (n: string) => `"${n}"`, placeholder: (i: number) => `$${i}` };
 * const exp = { query: "SELECT * FROM users;", mode: { kind: "full" as const } };
 * assert.deepEqual(planPieces(exp, undefined, dialect), [
 *   { index: 0, query: { text: "SELECT * FROM users", params: [] } },
 * ]);
 * ```
 */
export function planPieces(
  exp: Pick<ExportConfig, "query" | "mode">,
  cursor: TypedValue | undefined,
  dialect: Dialect,
): Piece[] {
  const base = stripTerminator(exp.query);
  switch (exp.mode.kind) {
    case "full":
      return [{ index: 0, query: { text: base, params: [] } }];
    case "incremental":
      return [{
        index: 0,
        query: incrementalQuery(base, exp.mode.cursorColumn, cursor, dialect),
      }];
  }
}
