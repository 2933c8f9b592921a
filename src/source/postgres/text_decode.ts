/**
 * Decodes PostgreSQL's text output into the column sinks: the arrays the binary paths read as
 * their text (`binarySelect`), and the dates and times of the CSV pass (`csv_value.ts`).
 *
 * The session pins DateStyle=ISO, TimeZone=UTC, IntervalStyle=iso_8601, extra_float_digits=3 and
 * bytea_output=hex, so every format parsed here is fixed and exact. Parsers read characters in
 * place, allocating nothing per value.
 *
 * @module
 */
import { TypeMappingError } from "../../errors.ts";
import type { Decimal128Builder } from "../../arrow/decimal.ts";
import type { Int64Builder } from "../../arrow/int64.ts";
import type { BinaryBuilder } from "../../arrow/utf8.ts";
import { daysFromCivil, SECONDS_PER_DAY } from "../../arrow/temporal.ts";
import { splitArrayText } from "./array_text.ts";
import { type ColumnSink, type ScalarSink, unrepresentable } from "./columns.ts";

const HEX = new Int8Array(128).fill(-1);
for (let i = 0; i < 10; i++) HEX[48 + i] = i;
for (let i = 0; i < 6; i++) HEX[97 + i] = HEX[65 + i] = 10 + i;

const FRACTION_SCALE = [1e6, 1e5, 1e4, 1e3, 100, 10, 1];

/** Index just past the last parsed date/time component (parsers are not re-entrant). */
let cursor = 0;

function malformed(what: string, text: string): TypeMappingError {
  return new TypeMappingError(`unexpected ${what} text "${text}" from the server`);
}

function isInfinite(text: string): boolean {
  const c = text.charCodeAt(0);
  return c === 105 /* i */ || (c === 45 /* - */ && text.charCodeAt(1) === 105);
}

function twoDigits(text: string, at: number): number {
  const a = text.charCodeAt(at) - 48;
  const b = text.charCodeAt(at + 1) - 48;
  if (a < 0 || a > 9 || b < 0 || b > 9) return NaN;
  return a * 10 + b;
}

/** `YYYY-MM-DD` (any year width) at the start of `text`, with a trailing ` BC` anywhere later. */
function parseDays(text: string, what: string): number {
  if (isInfinite(text)) throw unrepresentable(`the value ${text}`);
  let i = 0;
  let year = 0;
  for (;;) {
    const d = text.charCodeAt(i) - 48;
    if (d === -3 /* - */ && i >= 4) break;
    if (!(d >= 0 && d <= 9)) throw malformed(what, text);
    year = year * 10 + d;
    i++;
  }
  const month = twoDigits(text, i + 1);
  const day = twoDigits(text, i + 4);
  if (text.charCodeAt(i + 3) !== 45 || !(month >= 1) || !(day >= 1)) throw malformed(what, text);
  cursor = i + 6;
  const n = text.length;
  const bc = text.charCodeAt(n - 1) === 67 && text.charCodeAt(n - 2) === 66 &&
    text.charCodeAt(n - 3) === 32;
  // 1 BC is astronomical year 0.
  return daysFromCivil(bc ? 1 - year : year, month, day);
}

/** `HH:MM:SS[.ffffff]` at `at`; returns seconds, leaves microseconds in `fractionMicros`. */
let fractionMicros = 0;
function parseClock(text: string, at: number, what: string): number {
  const h = twoDigits(text, at);
  const m = twoDigits(text, at + 3);
  const s = twoDigits(text, at + 6);
  if (
    text.charCodeAt(at + 2) !== 58 || text.charCodeAt(at + 5) !== 58 || !(h >= 0) || !(m >= 0) ||
    !(s >= 0)
  ) {
    throw malformed(what, text);
  }
  let i = at + 8;
  let micros = 0;
  if (text.charCodeAt(i) === 46 /* . */) {
    i++;
    const start = i;
    for (
      let d = text.charCodeAt(i) - 48;
      d >= 0 && d <= 9 && i - start < 6;
      d = text.charCodeAt(i) - 48
    ) {
      micros = micros * 10 + d;
      i++;
    }
    micros *= FRACTION_SCALE[i - start];
  }
  cursor = i;
  fractionMicros = micros;
  return h * 3600 + m * 60 + s;
}

/**
 * Whole seconds since 1970-01-01 UTC of a timestamp's text; its microseconds are left in
 * `fractionMicros`.
 */
function timestampSeconds(text: string): number {
  const days = parseDays(text, "timestamp");
  if (text.charCodeAt(cursor) !== 32) throw malformed("timestamp", text);
  let seconds = days * SECONDS_PER_DAY + parseClock(text, cursor + 1, "timestamp");
  const micros = fractionMicros;
  const sign = text.charCodeAt(cursor);
  if (sign === 43 /* + */ || sign === 45 /* - */) {
    // timestamptz prints its offset (+00 under TimeZone=UTC); honour any offset exactly.
    let offset = twoDigits(text, cursor + 1) * 3600;
    if (text.charCodeAt(cursor + 3) === 58) {
      offset += twoDigits(text, cursor + 4) * 60;
      if (text.charCodeAt(cursor + 6) === 58) offset += twoDigits(text, cursor + 7);
    }
    if (!(offset >= 0)) throw malformed("timestamp", text);
    seconds += sign === 43 ? -offset : offset;
  }
  fractionMicros = micros;
  return seconds;
}

function appendTimestamp(b: Int64Builder, text: string): void {
  const seconds = timestampSeconds(text);
  b.appendMicros(seconds, fractionMicros);
}

/** Days since 1970-01-01 of a `date`'s text; `infinity` fails as unrepresentable. */
export function dateTextDays(text: string): number {
  return parseDays(text, "date");
}

/**
 * A `timestamp` or `timestamptz` text as whole seconds since 1970-01-01 UTC plus microseconds;
 * `infinity` fails as unrepresentable.
 */
export function timestampTextParts(text: string): { seconds: number; micros: number } {
  const seconds = timestampSeconds(text);
  return { seconds, micros: fractionMicros };
}

/** Microseconds since midnight of a `time`'s text. */
export function timeTextMicros(text: string): number {
  return parseClock(text, 0, "time") * 1e6 + fractionMicros;
}

function appendTime(b: Int64Builder, text: string): void {
  b.appendNumber(timeTextMicros(text));
}

/**
 * A decimal integer of at most 15 characters (always below 2^53). Hand-parsed: `Number()` on a
 * fresh string is a runtime call, about twice as slow.
 */
function smallInt(text: string): number {
  const n = text.length;
  const negative = text.charCodeAt(0) === 45;
  let value = 0;
  for (let i = negative ? 1 : 0; i < n; i++) value = value * 10 + text.charCodeAt(i) - 48;
  return negative ? -value : value;
}

function appendInt64(b: Int64Builder, text: string): void {
  if (text.length <= 15) b.appendNumber(smallInt(text));
  else b.append(BigInt(text));
}

function appendDecimal(b: Decimal128Builder, text: string): void {
  const c = text.charCodeAt(text.length - 1);
  // NaN, Infinity, -Infinity: the only numeric outputs that do not end in a digit.
  if (c < 48 || c > 57) throw unrepresentable(`the value ${text}`);
  b.appendText(text);
}

function appendHexBytea(b: BinaryBuilder, text: string): void {
  if (text.charCodeAt(0) !== 92 || text.charCodeAt(1) !== 120 || (text.length & 1) !== 0) {
    throw malformed("bytea", text.slice(0, 20));
  }
  const n = (text.length - 2) >> 1;
  const at = b.reserve(n);
  const bytes = b.bytes;
  for (let i = 0; i < n; i++) {
    const hi = HEX[text.charCodeAt(2 + 2 * i)];
    const lo = HEX[text.charCodeAt(3 + 2 * i)];
    if (hi === undefined || lo === undefined || hi < 0 || lo < 0) {
      throw malformed("bytea", text.slice(0, 20));
    }
    bytes[at + i] = (hi << 4) | lo;
  }
  b.commit(n);
}

/** Appends one non-NULL value given as PostgreSQL text. */
function appendValue(sink: ScalarSink, text: string): void {
  switch (sink.kind) {
    case "bool":
      sink.b.appendValue(text === "t");
      return;
    case "int16":
    case "int32":
      sink.b.appendValue(smallInt(text));
      return;
    case "float32":
    case "float64":
      // Number() reads NaN, Infinity and -Infinity exactly as PostgreSQL prints them.
      sink.b.appendValue(Number(text));
      return;
    case "date":
      sink.b.appendValue(parseDays(text, "date"));
      return;
    case "int64":
      appendInt64(sink.b, text);
      return;
    case "oid":
      sink.b.appendNumber(smallInt(text));
      return;
    case "time":
      appendTime(sink.b, text);
      return;
    case "timestamp":
    case "timestamptz":
      appendTimestamp(sink.b, text);
      return;
    case "decimal":
      appendDecimal(sink.b, text);
      return;
    case "text":
    case "uuid":
      sink.b.appendString(text);
      return;
    case "bytea":
      appendHexBytea(sink.b, text);
      return;
  }
}

/** Appends one array given in PostgreSQL's array text form (`{1,NULL,"a b"}`). */
export function appendArrayText(sink: Extract<ColumnSink, { kind: "list" }>, text: string): void {
  const element = sink.element;
  for (const item of splitArrayText(text, sink.delimiter)) {
    if (item === null) element.b.appendNull();
    else appendValue(element, item);
  }
  sink.b.endList();
}
