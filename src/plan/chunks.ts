/**
 * Chunked mode (spec "Chunked Extraction"): the range of the chunk column is cut into windows,
 * and each window is one query, bound by parameters, never spliced. Windows are half-open
 * (`lo <= col < hi`) so that dates and timestamps split without gaps or overlaps at any
 * precision; the last one is closed at the range's maximum (`lo <= col <= max`). For integers
 * this is exactly the spec's `BETWEEN start AND end` with `end = start + chunk_size - 1`.
 *
 * @module
 */
import { RivetError } from "../errors.ts";
import { dateText, timeText } from "../arrow/text.ts";
import type { Dialect, SqlQuery, TypedValue } from "../sql.ts";

/** The most windows a plan may have: more is a sign of a key range far wider than the data. */
export const MAX_WINDOWS = 1_000_000;

const MICROS_PER_DAY = 86_400_000_000n;

/**
 * The chunk column's range over the export query, in the column's own integer unit: the value
 * for integers, days since 1970-01-01 for dates, microseconds since the epoch for timestamps.
 */
export interface ChunkRange {
  /** What the numbers are. */
  unit: "int" | "date" | "timestamp" | "timestamptz";
  /** The smallest value. */
  min: bigint;
  /** The largest value. */
  max: bigint;
}

/** One window of a chunked export. */
export interface ChunkWindow {
  /** 0-based position in the plan; names the file (`_chunk<index>`). */
  index: number;
  /** Inclusive lower bound. */
  lo: TypedValue;
  /** Upper bound: exclusive, or inclusive for the last window. */
  hi: TypedValue;
  /** Whether `hi` is included (the last window, whose bound is the range's maximum). */
  hiInclusive: boolean;
}

/** How many units of the range one window spans: days for dates and timestamps. */
function stepOf(range: ChunkRange, chunkSize: number): bigint {
  const size = BigInt(chunkSize);
  return range.unit === "int" || range.unit === "date" ? size : size * MICROS_PER_DAY;
}

/**
 * How many windows `chunkSize` cuts `range` into.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 *
 * assert.equal(windowCount({ unit: "int", min: 1n, max: 100n }, 30), 4);
 * ```
 */
export function windowCount(range: ChunkRange, chunkSize: number): number {
  return Number((range.max - range.min) / stepOf(range, chunkSize)) + 1;
}

/**
 * Cuts `range` into windows of `chunkSize` units; `render` turns a bound into its typed value.
 * Refuses a plan of more than {@link MAX_WINDOWS} windows before anything runs.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 *
 * const render = (v: bigint) => ({ kind: "int" as const, text: String(v) });
 * const windows = cutWindows({ unit: "int", min: 1n, max: 100n }, 30, render);
 * assert.deepEqual(
 *   windows.map((w) => [w.lo.text, w.hi.text, w.hiInclusive]),
 *   [["1", "31", false], ["31", "61", false], ["61", "91", false], ["91", "100", true]],
 * );
 * ```
 */
export function cutWindows(
  range: ChunkRange,
  chunkSize: number,
  render: (value: bigint) => TypedValue,
): ChunkWindow[] {
  const count = windowCount(range, chunkSize);
  if (count > MAX_WINDOWS) {
    throw new RivetError(
      `chunk_size ${chunkSize} cuts the chunk column's range (${render(range.min).text} .. ${
        render(range.max).text
      }) into ${count} windows, more than ${MAX_WINDOWS}; raise chunk_size, or chunk on a dense surrogate key (see "Sparse IDs" in the docs)`,
    );
  }
  const step = stepOf(range, chunkSize);
  const windows: ChunkWindow[] = [];
  for (let index = 0; index < count; index++) {
    const lo = range.min + BigInt(index) * step;
    const last = index === count - 1;
    windows.push({
      index,
      lo: render(lo),
      hi: render(last ? range.max : lo + step),
      hiInclusive: last,
    });
  }
  return windows;
}

/**
 * The query of one window.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 *
 * const dialect = { quoteIdent: (n: string) => `"${n}"`, placeholder: (i: number) => `$${i}` };
 * const window = {
 *   index: 0,
 *   lo: { kind: "int" as const, text: "1" },
 *   hi: { kind: "int" as const, text: "31" },
 *   hiInclusive: false,
 * };
 * assert.equal(
 *   chunkQuery("SELECT * FROM t", "id", window, dialect).text,
 *   'SELECT * FROM (SELECT * FROM t\n) AS _rivet WHERE "id" >= $1 AND "id" < $2',
 * );
 * ```
 */
export function chunkQuery(
  base: string,
  chunkColumn: string,
  window: ChunkWindow,
  dialect: Dialect,
): SqlQuery {
  const column = dialect.quoteIdent(chunkColumn);
  const upper = window.hiInclusive ? "<=" : "<";
  return {
    // The newline keeps a trailing `-- comment` in the user's query from swallowing the wrapper.
    text: `SELECT * FROM (${base}\n) AS _rivet WHERE ${column} >= ${
      dialect.placeholder(1)
    } AND ${column} ${upper} ${dialect.placeholder(2)}`,
    params: [window.lo, window.hi],
  };
}

/**
 * The statement reading the chunk column's range: one aggregate over the export query.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 *
 * const dialect = { quoteIdent: (n: string) => `"${n}"`, placeholder: (i: number) => `$${i}` };
 * assert.equal(
 *   rangeQuery("SELECT * FROM t", "id", dialect).text,
 *   'SELECT MIN("id") AS lo, MAX("id") AS hi FROM (SELECT * FROM t\n) AS _rivet',
 * );
 * ```
 */
export function rangeQuery(base: string, chunkColumn: string, dialect: Dialect): SqlQuery {
  const column = dialect.quoteIdent(chunkColumn);
  return {
    text: `SELECT MIN(${column}) AS lo, MAX(${column}) AS hi FROM (${base}\n) AS _rivet`,
    params: [],
  };
}

/**
 * A window bound of `unit` as the typed value bound to the query: digits, `YYYY-MM-DD`, or ISO
 * 8601 with microseconds (plus `Z` for time-zoned columns).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 *
 * assert.deepEqual(renderBound("date", 19_723n), { kind: "date", text: "2024-01-01" });
 * assert.deepEqual(renderBound("timestamptz", 1_704_067_200_000_001n), {
 *   kind: "timestamptz",
 *   text: "2024-01-01T00:00:00.000001Z",
 * });
 * ```
 */
export function renderBound(unit: ChunkRange["unit"], value: bigint): TypedValue {
  switch (unit) {
    case "int":
      return { kind: "int", text: String(value) };
    case "date":
      return { kind: "date", text: dateText(Number(value)) };
    case "timestamp":
    case "timestamptz": {
      let days = value / MICROS_PER_DAY;
      if (value < 0n && days * MICROS_PER_DAY !== value) days -= 1n;
      const micros = Number(value - days * MICROS_PER_DAY);
      const text = `${dateText(Number(days))}T${timeText(micros)}`;
      return unit === "timestamp" ? { kind: unit, text } : { kind: unit, text: `${text}Z` };
    }
  }
}
