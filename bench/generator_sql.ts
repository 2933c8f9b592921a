/**
 * SQL expressions that generate the same deterministic pseudo-random values on PostgreSQL and
 * MariaDB from a row number `g`, so both engines hold the same logical content.
 *
 * Values come from integer arithmetic only (`*`, `+`, `%` on bigints, never above 2^62), which both
 * engines compute identically; where the engines spell an operation differently (dates, intervals,
 * JSON, binary) the {@link Dialect} spells it for each.
 *
 * @module
 */
import type { Engine } from "./servers.ts";

/**
 * A pseudo-random integer in `[0, mod)` for row `g`; each `salt` gives an independent-looking
 * sequence. The product of two affine sequences modulo primes below 2^31 stays below 2^62.
 */
export function rnd(salt: number, mod: number): string {
  const a = 48271 + salt * 7919;
  const b = 1 + salt * 104729;
  const c = 69621 + salt * 6007;
  const d = 17 + salt * 15485863;
  return `(((g * ${a} + ${b}) % 2147483647) * ((g * ${c} + ${d}) % 2147483629) % 2147483587 % ${mod})`;
}

/** The first `length` characters of `text`; `length` an integer expression of any width. */
export function prefix(text: string, length: string): string {
  // PostgreSQL's substr takes an int, and rnd() is a bigint there.
  return `SUBSTR(${text}, 1, CAST(${length} AS INTEGER))`;
}

/** One of `choices` (string literals), picked by {@link rnd} with `salt`. */
export function pick(salt: number, choices: readonly string[]): string {
  const arms = choices.map((choice, i) => `WHEN ${i} THEN '${choice}'`).join(" ");
  return `(CASE ${rnd(salt, choices.length)} ${arms} END)`;
}

/** `expr`, or NULL for about one row in ten (chosen by `salt`). */
export function tenthNull(salt: number, expr: string): string {
  return `(CASE WHEN ${rnd(salt, 10)} = 0 THEN NULL ELSE ${expr} END)`;
}

/** Words for short generated text, none longer than 9 characters. */
export const WORDS: readonly string[] = [
  "furiously",
  "carefully",
  "quickly",
  "blithely",
  "slyly",
  "regular",
  "final",
  "pending",
  "express",
  "special",
  "ironic",
  "bold",
  "even",
  "silent",
  "deposits",
  "packages",
];

/** What differs between the engines' spelling of the generators. */
export interface Dialect {
  engine: Engine;
  /** A FROM clause yielding the bigint column `g` for `from..to` inclusive. */
  series(from: number, to: number): string;
  /** The lowercase hex MD5 of the decimal text of the integer `expr`. */
  md5(expr: string): string;
  /** The date `isoDate` plus `days` days. */
  addDays(isoDate: string, days: string): string;
  /** The timestamp without time zone `iso` plus `micros` microseconds. */
  addMicros(iso: string, micros: string): string;
  /** The UTC instant `iso` plus `micros` microseconds, for a time-zone-aware column. */
  addMicrosUtc(iso: string, micros: string): string;
  /** The time of day `micros` microseconds after midnight. */
  timeOfDay(micros: string): string;
  /** A UUID, in its usual hyphenated lowercase text, from a 32-digit hex string. */
  uuid(hex: string): string;
  /** The bytes of a hex string. */
  bytes(hex: string): string;
  /** A JSON object from key / SQL-expression pairs. */
  jsonObject(pairs: [string, string][]): string;
  /** A JSON array of SQL expressions. */
  jsonArray(items: string[]): string;
}

const postgres: Dialect = {
  engine: "postgres",
  series: (from, to) => `generate_series(${from}::bigint, ${to}) AS g`,
  md5: (expr) => `md5((${expr})::text)`,
  addDays: (isoDate, days) => `(DATE '${isoDate}' + (${days})::int)`,
  addMicros: (iso, micros) => `(TIMESTAMP '${iso}' + (${micros}) * INTERVAL '1 microsecond')`,
  addMicrosUtc: (iso, micros) =>
    `(TIMESTAMPTZ '${iso}+00' + (${micros}) * INTERVAL '1 microsecond')`,
  timeOfDay: (micros) => `(TIME '00:00:00' + (${micros}) * INTERVAL '1 microsecond')`,
  uuid: (hex) => `(${hex})::uuid`,
  bytes: (hex) => `decode(${hex}, 'hex')`,
  jsonObject: (pairs) =>
    `jsonb_build_object(${pairs.map(([key, value]) => `'${key}', ${value}`).join(", ")})`,
  jsonArray: (items) => `jsonb_build_array(${items.join(", ")})`,
};

const mariadb: Dialect = {
  engine: "mariadb",
  // Signed, so that `g`'s arithmetic may go below zero (BIGINT UNSIGNED would refuse).
  series: (from, to) => `(SELECT CAST(seq AS SIGNED) AS g FROM seq_${from}_to_${to}) AS s`,
  md5: (expr) => `MD5(${expr})`,
  addDays: (isoDate, days) => `(DATE '${isoDate}' + INTERVAL (${days}) DAY)`,
  addMicros: (iso, micros) => `(TIMESTAMP '${iso}' + INTERVAL (${micros}) MICROSECOND)`,
  // The session runs in UTC (see servers.ts), so a TIMESTAMP literal is the UTC instant.
  addMicrosUtc: (iso, micros) => `(TIMESTAMP '${iso}' + INTERVAL (${micros}) MICROSECOND)`,
  timeOfDay: (micros) => `(TIME '00:00:00' + INTERVAL (${micros}) MICROSECOND)`,
  uuid: (hex) =>
    `CONCAT_WS('-', SUBSTR(${hex}, 1, 8), SUBSTR(${hex}, 9, 4), SUBSTR(${hex}, 13, 4), ` +
    `SUBSTR(${hex}, 17, 4), SUBSTR(${hex}, 21, 12))`,
  bytes: (hex) => `UNHEX(${hex})`,
  jsonObject: (pairs) =>
    `JSON_OBJECT(${pairs.map(([key, value]) => `'${key}', ${value}`).join(", ")})`,
  jsonArray: (items) => `JSON_ARRAY(${items.join(", ")})`,
};

/** The dialect of `engine`. */
export function dialectOf(engine: Engine): Dialect {
  return engine === "postgres" ? postgres : mariadb;
}
