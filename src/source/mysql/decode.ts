/**
 * Decodes MySQL's text-protocol values (raw bytes, never JS strings) into Arrow column builders.
 *
 * The session pins `time_zone = '+00:00'` and `NAMES utf8mb4`, so every format parsed here is
 * fixed: integers and decimals as plain digits, dates as `YYYY-MM-DD`, datetimes as
 * `YYYY-MM-DD hh:mm:ss[.ffffff]`, TIME as `[-]h:mm:ss[.ffffff]`, BIT as big-endian bytes, text as
 * UTF-8, geometries as SRID + WKB (`geometry.ts`). Numbers are parsed from the bytes in place; text
 * is copied byte for byte. A value with no exact Arrow form fails the read with its column, its
 * text and a conversion that works. A FLOAT read widened (see `floats.ts`) arrives as DOUBLE text
 * and must be exactly a float32.
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

/** Appends one non-NULL value, given as the bytes the server sent. */
export type Decode = (value: Uint8Array) => void;

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

function ascii(value: Uint8Array): string {
  let text = "";
  for (let i = 0; i < value.length; i++) text += String.fromCharCode(value[i]);
  return text;
}

/**
 * A signed integer of at most 15 digits (every such value is an exact double), or NaN when the
 * bytes are not one.
 */
function smallInt(v: Uint8Array, start = 0, end = v.length): number {
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

// The 64-bit parsers return their result in these two unsigned words (no allocation).
let low = 0;
let high = 0;

/**
 * Parses unsigned decimal digits `v[start, end)` (at most 20) into `low`/`high`; false when the
 * bytes are not digits or the value needs more than 64 bits.
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
  low = mid - carry * TWO_32;
  high = aHigh + carry;
  return high < TWO_32;
}

/** Big-endian bytes (at most 8) into `low`/`high`. */
function bytesToWords(v: Uint8Array): void {
  low = 0;
  high = 0;
  for (let i = 0; i < v.length; i++) {
    high = ((high * 256) + Math.floor(low / 16_777_216)) % TWO_32;
    low = ((low % 16_777_216) * 256) + v[i];
  }
}

/** What went wrong with one value, plus how the user avoids it. */
class ValueProblem {
  constructor(readonly what: string, readonly fix: string) {}
}

function malformed(kind: string): ValueProblem {
  return new ValueProblem(`unexpected ${kind} text from the server`, "CAST(% AS CHAR)");
}

function zeroDate(): ValueProblem {
  return new ValueProblem(
    "a zero or partial date, which no calendar date represents",
    "NULLIF(%, '0000-00-00') to read zero dates as NULL, or CAST(% AS CHAR) to keep the text",
  );
}

/** Days since 1970-01-01 of `YYYY-MM-DD` at the start of `v`; throws a {@link ValueProblem}. */
function parseDays(v: Uint8Array, kind: string): number {
  const year = smallInt(v, 0, 4);
  const month = twoDigits(v, 5);
  const day = twoDigits(v, 8);
  if (!(year >= 0) || v[4] !== 45 || v[7] !== 45 || !(month <= 12) || !(day <= 31)) {
    throw malformed(kind);
  }
  if (month === 0 || day === 0) throw zeroDate();
  if (day > (month === 2 && isLeap(year) ? 29 : DAYS_IN_MONTH[month - 1])) {
    throw new ValueProblem(
      "a day that does not exist in its month (stored under ALLOW_INVALID_DATES)",
      "CAST(% AS CHAR)",
    );
  }
  return daysFromCivil(year, month, day);
}

/** Microseconds of the `.ffffff` fraction starting at `at` (a `.`), or 0 when absent. */
function fraction(v: Uint8Array, at: number, kind: string): number {
  if (at === v.length) return 0;
  const digits = v.length - at - 1;
  if (v[at] !== 46 || digits < 1 || digits > 6) throw malformed(kind);
  const f = smallInt(v, at + 1);
  if (!(f >= 0)) throw malformed(kind);
  return f * MICROS_SCALE[digits];
}

function decodeBool(b: BoolBuilder): Decode {
  return (v) => {
    if (v.length !== 1 || (v[0] !== 48 && v[0] !== 49)) {
      throw new ValueProblem(
        "a value other than 0 or 1 in a TINYINT(1) column, which maps to Boolean",
        "CAST(% AS SIGNED)",
      );
    }
    b.appendValue(v[0] === 49);
  };
}

function decodeSmall(b: NumberBuilder): Decode {
  return (v) => {
    const n = smallInt(v);
    if (Number.isNaN(n)) throw malformed("integer");
    b.appendValue(n);
  };
}

function decodeInt64(b: Int64Builder): Decode {
  return (v) => {
    if (v.length <= 15) {
      const n = smallInt(v);
      if (Number.isNaN(n)) throw malformed("integer");
      b.appendNumber(n);
      return;
    }
    const negative = v[0] === 45;
    const fits = parseWords(v, negative ? 1 : 0, v.length) &&
      (high < 0x80000000 || (negative && high === 0x80000000 && low === 0));
    if (!fits) throw malformed("integer");
    if (!negative) b.appendWords(low, high);
    else if (low === 0) b.appendWords(0, -high);
    else b.appendWords(TWO_32 - low, -high - 1);
  };
}

function decodeUInt64(b: UInt64Builder): Decode {
  return (v) => {
    if (!parseWords(v, 0, v.length)) throw malformed("unsigned integer");
    b.appendWords(low, high);
  };
}

/** The number a floating-point text denotes, correctly rounded to a double. */
function parseFloating(v: Uint8Array): number {
  // Clinger's fast path: an integer mantissa below 2^53 divided by an exact power of ten is
  // correctly rounded, as parseFloat would be; anything else (exponents, long digits) falls back.
  const n = v.length;
  let i = v[0] === 45 ? 1 : 0;
  let mantissa = 0;
  let digits = 0;
  let scale = -1;
  for (; i < n; i++) {
    const d = v[i] - 48;
    if (d >= 0 && d <= 9) {
      mantissa = mantissa * 10 + d;
      digits++;
    } else if (d === -2 && scale < 0) {
      scale = 0;
      continue;
    } else {
      break;
    }
    if (scale >= 0) scale++;
  }
  if (i === n && digits > 0 && digits <= 15) {
    const x = scale > 0 ? mantissa / POW10[scale] : mantissa;
    return v[0] === 45 ? -x : x;
  }
  const x = Number.parseFloat(ascii(v));
  if (Number.isNaN(x)) throw malformed("floating-point");
  return x;
}

function decodeFloat(b: NumberBuilder): Decode {
  return (v) => b.appendValue(parseFloating(v));
}

/** 2^-30: far below half the relative spacing of float32 values (2^-25 at least). */
const FLOAT32_MATCH = 2 ** -30;

/**
 * A FLOAT read as `col * 1e0`: the DOUBLE text is the single-precision value widened, in full
 * (MySQL and MariaDB print the shortest text of the double), so it parses to a double Float32
 * holds exactly. A text accurate to 10 significant digits would still name exactly one float32,
 * the one appended; a value farther from every float32 than that fails instead of being rounded.
 */
function decodeWidenedFloat(b: NumberBuilder): Decode {
  return (v) => {
    const x = parseFloating(v);
    const f = Math.fround(x);
    const exact = Object.is(f, x) ||
      (Number.isFinite(f) && Math.abs(f - x) <= Math.abs(f) * FLOAT32_MATCH);
    if (!exact) {
      throw new ValueProblem(
        "a value that is not a single-precision float, though the column was described as FLOAT",
        "CAST(% AS DOUBLE)",
      );
    }
    b.appendValue(f);
  };
}

function decodeDecimal(b: Decimal128Builder): Decode {
  return (v) => {
    const n = v.length;
    const negative = v[0] === 45;
    let chunk = 0;
    let count = 0;
    let fractionDigits = 0;
    let point = false;
    b.beginValue();
    for (let i = negative ? 1 : 0; i < n; i++) {
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
    b.endValue(negative, fractionDigits);
  };
}

function decodeBytes(b: Utf8Builder | BinaryBuilder): Decode {
  return (v) => b.appendBytes(v, 0, v.length);
}

function decodeDate(b: NumberBuilder): Decode {
  return (v) => {
    if (v.length !== 10) throw malformed("date");
    b.appendValue(parseDays(v, "date"));
  };
}

function decodeDateTime(b: Int64Builder): Decode {
  return (v) => {
    if (v.length < 19 || v[10] !== 32 || v[13] !== 58 || v[16] !== 58) throw malformed("datetime");
    const days = parseDays(v, "datetime");
    const hour = twoDigits(v, 11);
    const minute = twoDigits(v, 14);
    const second = twoDigits(v, 17);
    if (!(hour <= 23 && minute <= 59 && second <= 59)) throw malformed("datetime");
    const micros = fraction(v, 19, "datetime");
    b.appendMicros(days * SECONDS_PER_DAY + hour * 3600 + minute * 60 + second, micros);
  };
}

/**
 * A TIME is a signed duration (MySQL's range is +-838:59:59.999999), stored whole as signed
 * microseconds. Hours are not bounded here, so nothing the server sends is clamped.
 */
function decodeTime(b: Int64Builder): Decode {
  return (v) => {
    const negative = v[0] === 45;
    const colon = v.indexOf(58);
    const hours = smallInt(v, negative ? 1 : 0, colon);
    const minute = twoDigits(v, colon + 1);
    const second = twoDigits(v, colon + 4);
    if (colon < 1 || !(hours >= 0) || v[colon + 3] !== 58 || !(minute <= 59 && second <= 59)) {
      throw malformed("time");
    }
    const micros = fraction(v, colon + 6, "time");
    const total = ((hours * 60 + minute) * 60 + second) * 1_000_000 + micros;
    // Past 2^53 µs (about 285 years) the sum above would no longer be exact.
    if (!Number.isSafeInteger(total)) throw malformed("time");
    b.appendNumber(negative ? -total : total);
  };
}

function decodeGeometry(b: BinaryBuilder): Decode {
  return (v) => {
    if (!appendGeometry(b, v)) {
      throw new ValueProblem("unexpected geometry bytes from the server", "ST_AsBinary(%)");
    }
  };
}

function decodeBit(b: Int64Builder | UInt64Builder): Decode {
  return (v) => {
    bytesToWords(v);
    b.appendWords(low, high);
  };
}

function decodeBitBool(b: BoolBuilder): Decode {
  return (v) => b.appendValue(v.length > 0 && v[v.length - 1] !== 0);
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
  const text = ascii(value);
  return `'${text.length > 64 ? `${text.slice(0, 64)}...` : text}'`;
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
