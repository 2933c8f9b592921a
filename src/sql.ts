/**
 * The SQL words shared by the planner, the sources, the cursor and the state store: a query with
 * its bound values, the typed scalars bound to placeholders, and the dialect details needed to
 * wrap a user's query.
 *
 * @module
 */

/**
 * A typed scalar bound to a query placeholder (never spliced into SQL text).
 *
 * `text` is the exact canonical text of the value: integers and decimals as digits, timestamps as
 * ISO 8601 with microseconds (`2024-01-02T03:04:05.123456`, plus `Z` when `kind` is `timestamptz`),
 * dates as `YYYY-MM-DD`.
 */
export interface TypedValue {
  /** How the value is bound and compared on the server. */
  kind: "int" | "decimal" | "float" | "text" | "date" | "timestamp" | "timestamptz" | "bool";
  /** The exact canonical text of the value. */
  text: string;
}

/** A query plus the values for its placeholders (`$1..` on PostgreSQL, `?` on MySQL). */
export interface SqlQuery {
  /** The statement, with placeholders where values are bound. */
  text: string;
  /** One value per placeholder, in order. */
  params: TypedValue[];
}

/** SQL dialect details the planner needs to wrap a user query. */
export interface Dialect {
  /** Quotes an identifier (`"x"` / `` `x` ``), escaping embedded quote characters. */
  quoteIdent(name: string): string;
  /** The placeholder for the 1-based parameter `index`. */
  placeholder(index: number): string;
}

/**
 * Removes trailing semicolons and whitespace, so a user's query can be embedded in a larger
 * statement (a derived table, `DECLARE ... FOR`, `COPY (...)`) without ending it early.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * assert.equal(stripTerminator("SELECT 1;\n"), "SELECT 1");
 * ```
 */
export function stripTerminator(query: string): string {
  return query.replace(/[\s;]+$/, "");
}
