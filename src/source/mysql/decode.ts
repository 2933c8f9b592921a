/**
 * Decodes MySQL's text-protocol values (byte ranges of a row packet, never JS strings) into Arrow
 * column builders.
 *
 * The session pins `time_zone = '+00:00'` and `NAMES utf8mb4`, so every format parsed here is
 * fixed: integers and decimals as plain digits, dates as `YYYY-MM-DD`, datetimes as
 * `YYYY-MM-DD hh:mm:ss[.ffffff]`, TIME as `[-]h:mm:ss[.ffffff]`, BIT as big-endian bytes, text as
 * UTF-8, geometries as SRID + WKB (`geometry.ts`). Numbers are parsed from the bytes in place; text
 * is copied byte for byte. A decoder reads only its value's range: the bytes around it belong to
 * the neighbouring cells (`text_row.ts`). A value with no exact Arrow form fails the read with its
 * column, its text and a conversion that works. A FLOAT read widened (see `floats.ts`) arrives as
 * DOUBLE text and must be exactly a float32. The checks' errors are exported for the binary rows'
 * decoders (`binary_values.ts`), which also take the values DECIMAL, strings, BIT and geometry
 * send as these same bytes.
 *
 * @module
 */
import { Field, Schema } from "apache-arrow";
import { TypeMappingError } from "../../errors.ts";
import {
  BinaryBuilder,
  BoolBuilder,
  type ColumnBuilder,
  date32Builder,
  daysFromCivil,
  Decimal128Builder,
  durationBuilder,
  float32Builder,
  float64Builder,
  int16Builder,
  int32Builder,
  type Int64Builder,
  int64Builder,
  type NumberBuilder,
  SECONDS_PER_DAY,
  timestampBuilder,
  UInt64Builder,
  Utf8Builder,
} from "../../arrow/mod.ts";
import { displayIdent } from "./dialect.ts";
import { appendGeometry } from "./geometry.ts";
import type { MysqlColumn } from "./types.ts";

import { METADATA } from "../../arrow/metadata.ts";

/** Appends one non-NULL value, given as the bytes the server sent: `bytes[start, end)`. */
export type Decode = (bytes: Uint8Array, start: number, end: number) => void;

/** One column's builder and the decoder that fills it. */
export interface ColumnDecoder {
  builder: ColumnBuilder;
  decode: Decode;
}

const TWO_16 = 65_536;
const TWO_32 = 4_294_967_296;
/** Powers of ten that are exact doubles (the fast path of float parsing). */
const POW10 = Array.from({ length: 23 }, (_, i) => Number(`1e${i}`));
const MICROS_SCALE = [1, 100_000, 10_000, 1_000, 100, 10, 1];
const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
/**
 * Day numbers of the first of every month from 1900 to 2155 (the years nearly every stored date
 * falls in), so a date costs a lookup instead of the calendar arithmetic.
 */
const MONTH_STARTS_FROM = 1900;
const MONTH_STARTS = Int32Array.from(
  { length: 256 * 12 },
  (_, k) => daysFromCivil(MONTH_STARTS_FROM + Math.floor(k / 12), (k % 12) + 1, 1),
);

/** `v[start, end)` as one character per byte; for short ranges (one call argument per byte). */
function ascii(v: Uint8Array, start: number, end: number): string {
  return String.fromCharCode.apply(null, v.subarray(start, end) as unknown as number[]);
}

/**
 * A signed integer of at most 15 digits (every such value is an exact double), or NaN when the
 * bytes are not one.
 */
function smallInt(v: Uint8Array, start: number, end: number): number {
  if (start >= end) return NaN;
  let i = start;
  const negative = v[i] === 45;
  if (negative) i++;
  if (i === end || end - i > 15) return NaN;
  let n = 0;
  for (; i < end; i++) {
    const d = v[i] - 48;
    if (d < 0 || d > 9) return NaN;
    n = n * 10 + d;
  }
  return negative ? -n : n;
}

/** Two digits at `at`, or NaN. */
function twoDigits(v: Uint8Array, at: number): number {
  const a = v[at] - 48;
  const b = v[at + 1] - 48;
  return a >= 0 && a <= 9 && b >= 0 && b <= 9 ? a * 10 + b : NaN;
}

function isLeap(year: number): boolean {
  return year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
}

/**
 * Where the parsers leave a result that is not a small integer: the 64-bit ones its two unsigned
 * words ({@link LOW}, {@link HIGH}), the float and TIME ones the number ({@link VALUE}). A double
 * returned from a call V8 does not inline is a heap object of its own, and so is one kept in a
 * module variable: returned, it cost one per value, about 14 MB of garbage per million DOUBLE,
 * FLOAT or TIME values (measured with the sampling heap profiler). Stored here it costs none.
 * Passed on to a builder, a word goes as a signed 32-bit integer (`| 0`), which V8 keeps untagged.
 */
const slots = new Float64Array(3);
const LOW = 0;
const HIGH = 1;
const VALUE = 2;

/**
 * Parses unsigned decimal digits `v[start, end)` (at most 20) into the {@link LOW} and
 * {@link HIGH} slots; false when the bytes are not digits or the value needs more than 64 bits.
 */
function parseWords(v: Uint8Array, start: number, end: number): boolean {
  if (end - start > 20 || end === start) return false;
  // value = upper * 10^9 + lower, with upper < 2^35 and lower < 2^30.
  const split = Math.max(start, end - 9);
  let upper = 0;
  let lower = 0;
  for (let i = start; i < end; i++) {
    const d = v[i] - 48;
    if (d < 0 || d > 9) return false;
    if (i < split) upper = upper * 10 + d;
    else lower = lower * 10 + d;
  }
  // Every partial product below stays under 2^53, so the arithmetic is exact.
  const upperHigh = Math.floor(upper / TWO_16);
  const a = upperHigh * 1e9;
  const b = (upper - upperHigh * TWO_16) * 1e9 + lower;
  const aHigh = Math.floor(a / TWO_16);
  const mid = (a - aHigh * TWO_16) * TWO_16 + b;
  const carry = Math.floor(mid / TWO_32);
  const high = aHigh + carry;
  slots[LOW] = mid - carry * TWO_32;
  slots[HIGH] = high;
  return high < TWO_32;
}

/** Big-endian bytes `v[start, end)` (at most 8) into the {@link LOW} and {@link HIGH} slots. */
function bytesToWords(v: Uint8Array, start: number, end: number): void {
  let low = 0;
  let high = 0;
  for (let i = start; i < end; i++) {
    high = ((high * 256) + Math.floor(low / 16_777_216)) % TWO_32;
    low = ((low % 16_777_216) * 256) + v[i];
  }
  slots[LOW] = low;
  slots[HIGH] = high;
}

/**
 * What went wrong with one value, plus how the user avoids it (`%` stands for the column); thrown
 * by the decoders here and in `binary_values.ts`, and turned into the read's error by
 * {@link valueError}.
 */
class ValueProblem {
  /** `what` the value is, and the `fix`: SQL that reads it exactly. */
  constructor(readonly what: string, readonly fix: string) {}
}

/** A value of `kind` the server should not have sent. */
export function malformed(kind: string): ValueProblem {
  return new ValueProblem(`unexpected ${kind} text from the server`, "CAST(% AS CHAR)");
}

function zeroDate(): ValueProblem {
  return new ValueProblem(
    "a zero or partial date, which no calendar date represents",
    "NULLIF(%, '0000-00-00') to read zero dates as NULL, or CAST(% AS CHAR) to keep the text",
  );
}

/**
 * Days since 1970-01-01 of `YYYY-MM-DD` at `v[s]` (the caller checked that the 10 bytes are the
 * value's); throws a {@link ValueProblem}.
 */
function parseDays(v: Uint8Array, s: number, kind: string): number {
  const year = smallInt(v, s, s + 4);
  if (!(year >= 0) || v[s + 4] !== 45 || v[s + 7] !== 45) throw malformed(kind);
  return civilDays(year, twoDigits(v, s + 5), twoDigits(v, s + 8), kind);
}

/**
 * Days since 1970-01-01 of the date `year`-`month`-`day` (a year from 0 on) as the server sent it;
 * throws a {@link ValueProblem} for a zero or partial date, a day its month does not have, or
 * fields out of range (NaN included).
 */
export function civilDays(year: number, month: number, day: number, kind: string): number {
  if (!(month <= 12) || !(day <= 31)) throw malformed(kind);
  if (month === 0 || day === 0) throw zeroDate();
  if (day > (month === 2 && isLeap(year) ? 29 : DAYS_IN_MONTH[month - 1])) {
    throw new ValueProblem(
      "a day that does not exist in its month (stored under ALLOW_INVALID_DATES)",
      "CAST(% AS CHAR)",
    );
  }
  const k = (year - MONTH_STARTS_FROM) * 12 + month - 1;
  return k >= 0 && k < MONTH_STARTS.length
    ? MONTH_STARTS[k] + day - 1
    : daysFromCivil(year, month, day);
}

/** Microseconds of the `.ffffff` fraction in `v[at, end)` (from a `.`), or 0 when empty. */
function fraction(v: Uint8Array, at: number, end: number, kind: string): number {
  if (at === end) return 0;
  const digits = end - at - 1;
  if (v[at] !== 46 || digits < 1 || digits > 6) throw malformed(kind);
  const f = smallInt(v, at + 1, end);
  if (!(f >= 0)) throw malformed(kind);
  return f * MICROS_SCALE[digits];
}

/** The TINYINT(1) at `v[s, e)` as a boolean; throws for anything but `0` and `1`. */
function parseBool(v: Uint8Array, s: number, e: number): boolean {
  if (e - s !== 1 || (v[s] !== 48 && v[s] !== 49)) throw notBoolean();
  return v[s] === 49;
}

/** A TINYINT(1) value other than 0 and 1. */
export function notBoolean(): ValueProblem {
  return new ValueProblem(
    "a value other than 0 or 1 in a TINYINT(1) column, which maps to Boolean",
    "CAST(% AS SIGNED)",
  );
}

function decodeBool(b: BoolBuilder): Decode {
  return (v, s, e) => b.appendValue(parseBool(v, s, e));
}

function decodeSmall(b: NumberBuilder): Decode {
  return (v, s, e) => {
    const n = smallInt(v, s, e);
    if (Number.isNaN(n)) throw malformed("integer");
    b.appendValue(n);
  };
}

function decodeInt64(b: Int64Builder): Decode {
  return (v, s, e) => {
    // Up to nine characters the value is a 32-bit integer, which V8 passes untagged; a longer one
    // passed as a double would be a heap object per value, so it goes as two 32-bit words.
    if (e - s <= 9) {
      const n = smallInt(v, s, e);
      if (Number.isNaN(n)) throw malformed("integer");
      b.appendNumber(n);
      return;
    }
    const negative = v[s] === 45;
    if (!parseWords(v, negative ? s + 1 : s, e)) throw malformed("integer");
    const low = slots[LOW];
    const high = slots[HIGH];
    if (!(high < 0x80000000 || (negative && high === 0x80000000 && low === 0))) {
      throw malformed("integer");
    }
    if (!negative) b.appendWords(low | 0, high);
    else if (low === 0) b.appendWords(0, -high);
    else b.appendWords((TWO_32 - low) | 0, -high - 1);
  };
}

function decodeUInt64(b: UInt64Builder): Decode {
  return (v, s, e) => {
    if (!parseWords(v, s, e)) throw malformed("unsigned integer");
    b.appendWords(slots[LOW] | 0, slots[HIGH] | 0);
  };
}

/**
 * The number the floating-point text `v[start, end)` denotes, correctly rounded to a double, into
 * the {@link VALUE} slot.
 */
function floatingInto(v: Uint8Array, start: number, end: number): void {
  // Clinger's fast path: an integer mantissa below 2^53 divided by an exact power of ten is
  // correctly rounded, as parseFloat would be; anything else (exponents, long digits) falls back.
  if (plainDecimal(v, start, end, EXACT_DIGITS)) return;
  // No floating-point text the server sends comes near this length.
  if (end - start > 64) throw malformed("floating-point");
  const x = Number.parseFloat(ascii(v, start, end));
  if (Number.isNaN(x)) throw malformed("floating-point");
  slots[VALUE] = x;
}

/** Significant digits whose integer is exact in a double, and so is the plain decimal they make. */
const EXACT_DIGITS = 15;

/**
 * Plain decimal text `v[s, e)` (`-`, digits, at most one point) of 1 to `maxDigits` digits, at
 * most 22 after the point, as its digits accumulated in a double and divided by the power of ten:
 * exact up to {@link EXACT_DIGITS} digits, within a few units in the last place beyond, in the
 * {@link VALUE} slot. False for any other text.
 */
function plainDecimal(v: Uint8Array, s: number, e: number, maxDigits: number): boolean {
  const negative = s < e && v[s] === 45;
  let mantissa = 0;
  let digits = 0;
  let scale = -1;
  for (let i = negative ? s + 1 : s; i < e; i++) {
    const d = v[i] - 48;
    if (d >= 0 && d <= 9) {
      mantissa = mantissa * 10 + d;
      digits++;
      if (scale >= 0) scale++;
    } else if (d === -2 && scale < 0) {
      scale = 0;
    } else {
      return false;
    }
  }
  if (digits === 0 || digits > maxDigits || scale > 22) return false;
  const x = scale > 0 ? mantissa / POW10[scale] : mantissa;
  slots[VALUE] = negative ? -x : x;
  return true;
}

function decodeFloat(b: NumberBuilder): Decode {
  return (v, s, e) => {
    floatingInto(v, s, e);
    b.appendValue(slots[VALUE]);
  };
}

/** 2^-30: far below half the relative spacing of float32 values (2^-25 at least). */
const FLOAT32_MATCH = 2 ** -30;

/** Digits a widened FLOAT's text is read from without a string (it prints up to 17). */
const WIDENED_DIGITS = 19;

/**
 * A FLOAT read as `col * 1e0`, into the {@link VALUE} slot: the DOUBLE text is the
 * single-precision value widened, in full (MySQL and MariaDB print the shortest text of the
 * double), so it parses to a double Float32 holds exactly. A text accurate to 10 significant
 * digits would still name exactly one float32, the one left; a value farther from every float32
 * than that fails instead of being rounded.
 */
function widenedFloatInto(v: Uint8Array, s: number, e: number): void {
  // The server prints the widened double with up to 17 digits, which the exact parser takes only
  // by way of a string. Accumulated in a double they land within a few units in the last place,
  // 2^29 times closer than the next float32, so the float32 is still exact.
  if (!plainDecimal(v, s, e, WIDENED_DIGITS)) floatingInto(v, s, e);
  const x = slots[VALUE];
  const f = Math.fround(x);
  // Not Object.is, which boxed its two doubles, a heap number per value: fround keeps the sign
  // of zero, so equality and NaN are all it would add.
  const exact = f === x || Number.isNaN(x) ||
    (Number.isFinite(f) && Math.abs(f - x) <= Math.abs(f) * FLOAT32_MATCH);
  if (!exact) {
    throw new ValueProblem(
      "a value that is not a single-precision float, though the column was described as FLOAT",
      "CAST(% AS DOUBLE)",
    );
  }
  slots[VALUE] = f;
}

function decodeWidenedFloat(b: NumberBuilder): Decode {
  return (v, s, e) => {
    widenedFloatInto(v, s, e);
    b.appendValue(slots[VALUE]);
  };
}

/** The digits after the point of the last value {@link smallDecimalInto} read. */
let smallFraction = 0;

/**
 * The digits of decimal text `v[s, e)` as one integer in the {@link VALUE} slot when there are at
 * most 15 (every such value is an exact double; the usual case), with {@link smallFraction} set;
 * false when there are more, or the text is not digits with at most one point.
 */
function smallDecimalInto(v: Uint8Array, s: number, e: number): boolean {
  if (e - s > 16) return false;
  let n = 0;
  let point = -1;
  for (let i = s; i < e; i++) {
    const d = v[i] - 48;
    if (d >= 0 && d <= 9) n = n * 10 + d;
    else if (d === -2 && point < 0) point = i;
    else return false;
  }
  const digits = point < 0 ? e - s : e - s - 1;
  if (digits === 0 || digits > 15) return false;
  smallFraction = point < 0 ? 0 : e - point - 1;
  slots[VALUE] = n;
  return true;
}

function decodeDecimal(b: Decimal128Builder): Decode {
  return (v, s, e) => {
    const negative = s < e && v[s] === 45;
    if (
      smallDecimalInto(v, negative ? s + 1 : s, e) &&
      b.appendSmall(slots, VALUE, negative, smallFraction)
    ) return;
    let chunk = 0;
    let count = 0;
    let fractionDigits = 0;
    let point = false;
    b.beginValue();
    for (let i = negative ? s + 1 : s; i < e; i++) {
      const d = v[i] - 48;
      if (d === -2 && !point) {
        point = true;
        continue;
      }
      if (d < 0 || d > 9) throw malformed("decimal");
      chunk = chunk * 10 + d;
      if (point) fractionDigits++;
      if (++count === 9) {
        b.pushDigits(chunk, 9);
        chunk = 0;
        count = 0;
      }
    }
    if (count > 0) b.pushDigits(chunk, count);
    // A sign or a point alone holds no digit: no number at all, not zero.
    if (e - s === (negative ? 1 : 0) + (point ? 1 : 0)) throw malformed("decimal");
    b.endValue(negative, fractionDigits);
  };
}

function decodeBytes(b: Utf8Builder | BinaryBuilder): Decode {
  return (v, s, e) => b.appendBytes(v, s, e);
}

/** The DATE `YYYY-MM-DD` at `v[s, e)` as days since 1970-01-01; throws for a zero date. */
function parseDate(v: Uint8Array, s: number, e: number): number {
  if (e - s !== 10) throw malformed("date");
  return parseDays(v, s, "date");
}

function decodeDate(b: NumberBuilder): Decode {
  return (v, s, e) => b.appendValue(parseDate(v, s, e));
}

/** A DATETIME's value, split (see {@link parseDateTime}). */
interface DateTimeParts {
  /** Whole seconds since 1970-01-01 00:00:00. */
  seconds: number;
  /** Microseconds past them. */
  micros: number;
}

const dateTimeParts: DateTimeParts = { seconds: 0, micros: 0 };

/**
 * The DATETIME or TIMESTAMP `YYYY-MM-DD hh:mm:ss[.ffffff]` at `v[s, e)`, checked; throws for a
 * zero date. The result is one object, overwritten by the next call (no allocation per value).
 */
function parseDateTime(v: Uint8Array, s: number, e: number): Readonly<DateTimeParts> {
  if (e - s < 19 || v[s + 10] !== 32 || v[s + 13] !== 58 || v[s + 16] !== 58) {
    throw malformed("datetime");
  }
  const days = parseDays(v, s, "datetime");
  const hour = twoDigits(v, s + 11);
  const minute = twoDigits(v, s + 14);
  const second = twoDigits(v, s + 17);
  if (!(hour <= 23 && minute <= 59 && second <= 59)) throw malformed("datetime");
  dateTimeParts.micros = fraction(v, s + 19, e, "datetime");
  dateTimeParts.seconds = days * SECONDS_PER_DAY + hour * 3600 + minute * 60 + second;
  return dateTimeParts;
}

function decodeDateTime(b: Int64Builder): Decode {
  return (v, s, e) => {
    const { seconds, micros } = parseDateTime(v, s, e);
    b.appendMicros(seconds, micros);
  };
}

/**
 * The TIME `[-]h:mm:ss[.ffffff]` at `v[s, e)` as signed microseconds, into the {@link VALUE} slot.
 * A TIME is a signed duration (MySQL's range is +-838:59:59.999999), kept whole: hours are not
 * bounded here, so nothing the server sends is clamped.
 */
function timeInto(v: Uint8Array, s: number, e: number): void {
  const negative = s < e && v[s] === 45;
  const colon = v.indexOf(58, s);
  // `h:mm:ss` needs the colon and the 5 bytes after it within the value.
  if (colon < 0 || colon + 6 > e) throw malformed("time");
  const hours = smallInt(v, negative ? s + 1 : s, colon);
  const minute = twoDigits(v, colon + 1);
  const second = twoDigits(v, colon + 4);
  if (!(hours >= 0) || v[colon + 3] !== 58 || !(minute <= 59 && second <= 59)) {
    throw malformed("time");
  }
  const micros = fraction(v, colon + 6, e, "time");
  const total = ((hours * 60 + minute) * 60 + second) * 1_000_000 + micros;
  // Past 2^53 µs (about 285 years) the sum above would no longer be exact.
  if (!Number.isSafeInteger(total)) throw malformed("time");
  slots[VALUE] = negative ? -total : total;
}

function decodeTime(b: Int64Builder): Decode {
  return (v, s, e) => {
    timeInto(v, s, e);
    const micros = slots[VALUE];
    const high = Math.floor(micros / TWO_32);
    b.appendWords((micros - high * TWO_32) | 0, high);
  };
}

function decodeGeometry(b: BinaryBuilder): Decode {
  return (v, s, e) => {
    if (!appendGeometry(b, v, s, e)) {
      throw new ValueProblem("unexpected geometry bytes from the server", "ST_AsBinary(%)");
    }
  };
}

function decodeBit(b: Int64Builder | UInt64Builder): Decode {
  return (v, s, e) => {
    bytesToWords(v, s, e);
    b.appendWords(slots[LOW] | 0, slots[HIGH] | 0);
  };
}

function decodeBitBool(b: BoolBuilder): Decode {
  return (v, s, e) => b.appendValue(e > s && v[e - 1] !== 0);
}

/** The builder for `column` and its decoder, without the error context. */
function decoderFor(column: MysqlColumn): ColumnDecoder {
  switch (column.kind) {
    case "bool": {
      const b = new BoolBuilder();
      return {
        builder: b,
        decode: column.sourceType === "bit(1)" ? decodeBitBool(b) : decodeBool(b),
      };
    }
    case "int16": {
      const b = int16Builder();
      return { builder: b, decode: decodeSmall(b) };
    }
    case "int32": {
      const b = int32Builder();
      return { builder: b, decode: decodeSmall(b) };
    }
    case "int64": {
      const b = int64Builder();
      return { builder: b, decode: decodeInt64(b) };
    }
    case "uint64": {
      const b = new UInt64Builder();
      return { builder: b, decode: decodeUInt64(b) };
    }
    case "float32": {
      const b = float32Builder();
      return { builder: b, decode: column.widened ? decodeWidenedFloat(b) : decodeFloat(b) };
    }
    case "float64": {
      const b = float64Builder();
      return { builder: b, decode: decodeFloat(b) };
    }
    case "decimal": {
      const b = new Decimal128Builder(column.precision, column.scale);
      return { builder: b, decode: decodeDecimal(b) };
    }
    case "text":
    case "null": {
      const b = new Utf8Builder();
      return { builder: b, decode: decodeBytes(b) };
    }
    case "binary": {
      const b = new BinaryBuilder();
      return { builder: b, decode: decodeBytes(b) };
    }
    case "date": {
      const b = date32Builder();
      return { builder: b, decode: decodeDate(b) };
    }
    case "datetime":
    case "timestamp": {
      const b = timestampBuilder(column.kind === "timestamp");
      return { builder: b, decode: decodeDateTime(b) };
    }
    case "time": {
      const b = durationBuilder();
      return { builder: b, decode: decodeTime(b) };
    }
    case "geometry": {
      const b = new BinaryBuilder();
      return { builder: b, decode: decodeGeometry(b) };
    }
    case "bit": {
      const b = column.precision === 64 ? new UInt64Builder() : int64Builder();
      return { builder: b, decode: decodeBit(b) };
    }
  }
}

/** The value as the user would write it in SQL, for messages. */
function shown(column: MysqlColumn, value: Uint8Array): string {
  if (column.kind === "bit" || column.kind === "geometry") {
    const head = Array.from(value.subarray(0, 32), (x) => x.toString(16).padStart(2, "0"));
    return `0x${head.join("")}${value.length > 32 ? "..." : ""}`;
  }
  const text = ascii(value, 0, Math.min(value.length, 64));
  return `'${text}${value.length > 64 ? "..." : ""}'`;
}

/**
 * The error to raise when decoding `value` of `column` threw `error`: names the column, the value
 * and, for a value with no exact Arrow form, a conversion that works. Other errors pass through.
 */
export function valueError(column: MysqlColumn, value: Uint8Array, error: unknown): unknown {
  const n = displayIdent(column.name);
  const where = `column ${n} (${column.sourceType}) holds ${shown(column, value)}`;
  if (error instanceof ValueProblem) {
    return new TypeMappingError(
      `${where}: ${error.what}; convert it in the query, e.g. ${error.fix.replaceAll("%", n)}`,
    );
  }
  if (error instanceof TypeMappingError) {
    return new TypeMappingError(`${where}: ${error.message}`, { cause: error });
  }
  return error;
}

/**
 * Builds the Arrow schema (all fields nullable) and one decoder per column, in order. Decoders
 * throw bare; the caller wraps failures with {@link valueError}.
 */
export function createDecoders(
  columns: readonly MysqlColumn[],
): { schema: Schema; decoders: ColumnDecoder[] } {
  const fields: Field[] = [];
  const decoders: ColumnDecoder[] = [];
  for (const column of columns) {
    const metadata = new Map<string, string>([[METADATA.sourceType, column.sourceType]]);
    if (column.logical === "decimal" || column.logical === "wkb") {
      metadata.set(METADATA.logicalType, column.logical);
    }
    if (column.logical === "json") metadata.set(METADATA.extensionName, "arrow.json");
    const { builder, decode } = decoderFor(column);
    fields.push(new Field(column.name, builder.type, true, metadata));
    decoders.push({ builder, decode });
  }
  return { schema: new Schema(fields), decoders };
}
