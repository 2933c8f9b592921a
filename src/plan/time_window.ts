/**
 * time_window mode (spec "Choosing a Mode"): the rows whose time column is at or after UTC
 * midnight `days_window` days ago. The start is bound as a parameter, never spliced. There is no
 * upper bound and no state: consecutive runs overlap (spec "Duplicates").
 *
 * @module
 */
import type { Dialect, SqlQuery, TypedValue } from "../sql.ts";

const MS_PER_DAY = 86_400_000;

/**
 * UTC midnight `days` days before `now`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 *
 * const start = windowStart(new Date("2026-03-29T12:51:09Z"), 7);
 * assert.equal(start.toISOString(), "2026-03-22T00:00:00.000Z");
 * ```
 */
export function windowStart(now: Date, days: number): Date {
  const today = Math.floor(now.getTime() / MS_PER_DAY) * MS_PER_DAY;
  return new Date(today - days * MS_PER_DAY);
}

/** The bound value: a timestamp, or epoch seconds for `unix` columns. */
function startValue(start: Date, type: "timestamp" | "unix"): TypedValue {
  if (type === "unix") return { kind: "int", text: String(start.getTime() / 1000) };
  return { kind: "timestamp", text: `${start.toISOString().slice(0, 19)}.000000` };
}

/**
 * The query reading the window.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 *
 * const dialect = { quoteIdent: (n: string) => `"${n}"`, placeholder: (i: number) => `$${i}` };
 * const start = new Date("2026-03-22T00:00:00Z");
 * const query = timeWindowQuery("SELECT * FROM events", "at", "unix", start, dialect);
 * assert.equal(query.text, 'SELECT * FROM (SELECT * FROM events\n) AS _rivet WHERE "at" >= $1');
 * assert.deepEqual(query.params, [{ kind: "int", text: "1774137600" }]);
 * ```
 */
export function timeWindowQuery(
  base: string,
  timeColumn: string,
  type: "timestamp" | "unix",
  start: Date,
  dialect: Dialect,
): SqlQuery {
  return {
    text: `SELECT * FROM (${base}\n) AS _rivet WHERE ${dialect.quoteIdent(timeColumn)} >= ${
      dialect.placeholder(1)
    }`,
    params: [startValue(start, type)],
  };
}
