/**
 * Decodes MySQL's binary-protocol values (the rows of a prepared statement) into the Arrow
 * builders `decode.ts` makes, with its checks and errors.
 *
 * Integers and floats arrive as little-endian fixed-width bytes, so they are read, not parsed; a
 * FLOAT is its four bytes, exact with no widening (`floats.ts` serves the text protocol only).
 * DATE, DATETIME and TIMESTAMP arrive as a length (0, 4, 7 or 11) then a 2-byte year, month, day,
 * hour, minute, second and a 4-byte microsecond, each part present only when the length covers it
 * (0 is the zero date); TIME as a length (0, 8 or 12) then a sign byte, a 4-byte day count, hour,
 * minute, second and microsecond. A decoder gets the value's bytes after its length byte, so the
 * length is `end - start`. Every other type arrives as the text protocol's bytes, and its text
 * decoder serves (see {@link binaryDecoder}).
 *
 * @module
 */
import {
  BoolBuilder,
  type ColumnBuilder,
  type Int64Builder,
  type NumberBuilder,
  SECONDS_PER_DAY,
  UInt64Builder,
} from "../../arrow/mod.ts";
import { civilDays, type ColumnDecoder, type Decode, malformed, notBoolean } from "./decode.ts";
import type { BinaryWire, MysqlColumn } from "./types.ts";

const TWO_32 = 4_294_967_296;

/** Where a float's bytes are assembled: the packet's bytes need not be aligned for a view. */
const scratch = new Uint8Array(8);
const float32 = new Float32Array(scratch.buffer, 0, 1);
const float64 = new Float64Array(scratch.buffer, 0, 1);

/**
 * The FLOAT at `v[s, s + 4)`, as the one element of an array overwritten by the next call: a
 * double returned from a call V8 does not inline would be a heap object per value.
 */
export function float32At(v: Uint8Array, s: number): Float32Array {
  for (let k = 0; k < 4; k++) scratch[k] = v[s + k];
  return float32;
}

/** The DOUBLE at `v[s, s + 8)`, as {@link float32At} gives a FLOAT. */
export function float64At(v: Uint8Array, s: number): Float64Array {
  for (let k = 0; k < 8; k++) scratch[k] = v[s + k];
  return float64;
}

/** The signed little-endian integer of `width` (1, 2 or 4) bytes at `v[s]`. */
export function signed(v: Uint8Array, s: number, width: number): number {
  if (width === 1) return (v[s] << 24) >> 24;
  if (width === 2) return ((v[s] | (v[s + 1] << 8)) << 16) >> 16;
  return v[s] | (v[s + 1] << 8) | (v[s + 2] << 16) | (v[s + 3] << 24);
}

/** The unsigned little-endian integer of `width` (1, 2 or 4) bytes at `v[s]`. */
export function unsigned(v: Uint8Array, s: number, width: number): number {
  if (width === 1) return v[s];
  if (width === 2) return v[s] | (v[s + 1] << 8);
  return (v[s] | (v[s + 1] << 8) | (v[s + 2] << 16) | (v[s + 3] << 24)) >>> 0;
}

/** Bytes of a fixed-width wire, or 0 for the others. */
export function wireWidth(wire: BinaryWire): number {
  switch (wire) {
    case "i8":
    case "u8":
      return 1;
    case "i16":
    case "u16":
      return 2;
    case "i32":
    case "u32":
    case "f32":
      return 4;
    case "i64":
    case "u64":
    case "f64":
      return 8;
    default:
      return 0;
  }
}

/** The integer of a 1-, 2- or 4-byte wire at `v[s]`. */
export function smallIntOf(wire: BinaryWire, v: Uint8Array, s: number): number {
  const width = wireWidth(wire);
  return wire[0] === "i" ? signed(v, s, width) : unsigned(v, s, width);
}

function decodeBool(b: BoolBuilder, wire: BinaryWire): Decode {
  return (v, s) => {
    const n = smallIntOf(wire, v, s);
    if (n !== 0 && n !== 1) throw notBoolean();
    b.appendValue(n === 1);
  };
}

function decodeSmall(b: NumberBuilder, wire: BinaryWire): Decode {
  const width = wireWidth(wire);
  return wire[0] === "i"
    ? (v, s) => b.appendValue(signed(v, s, width))
    : (v, s) => b.appendValue(unsigned(v, s, width));
}

function decodeInt64(b: Int64Builder, wire: BinaryWire): Decode {
  if (wire === "u32") return (v, s) => b.appendNumber(unsigned(v, s, 4));
  // The high word signed, as Int64Builder takes it.
  return (v, s) => b.appendWords(signed(v, s, 4), signed(v, s + 4, 4));
}

function decodeUInt64(b: UInt64Builder): Decode {
  return (v, s) => b.appendWords(signed(v, s, 4), signed(v, s + 4, 4));
}

function decodeFloat32(b: NumberBuilder): Decode {
  return (v, s) => b.appendValue(float32At(v, s)[0]);
}

function decodeFloat64(b: NumberBuilder): Decode {
  return (v, s) => b.appendValue(float64At(v, s)[0]);
}

/**
 * Days since 1970-01-01 of the packed date at `v[s]` of length `length`; throws for the zero
 * date (length 0 or zero fields) and for dates that do not exist.
 */
export function packedDays(v: Uint8Array, s: number, length: number, kind: string): number {
  if (length === 0) return civilDays(0, 0, 0, kind);
  if (length !== 4 && length !== 7 && length !== 11) throw malformed(kind);
  return civilDays(v[s] | (v[s + 1] << 8), v[s + 2], v[s + 3], kind);
}

function decodeDate(b: NumberBuilder): Decode {
  return (v, s, e) => b.appendValue(packedDays(v, s, e - s, "date"));
}

/**
 * Days since 1970-01-01 of the packed DATETIME or TIMESTAMP at `v[s]` of length `length`, its
 * clock checked too: hour, minute and second (bytes 4-6) and microsecond (7-10) where the length
 * covers them, zero where it does not.
 */
export function packedDateTime(v: Uint8Array, s: number, length: number): number {
  const days = packedDays(v, s, length, "datetime");
  if (length >= 7 && (v[s + 4] > 23 || v[s + 5] > 59 || v[s + 6] > 59)) {
    throw malformed("datetime");
  }
  if (length === 11 && unsigned(v, s + 7, 4) > 999_999) throw malformed("datetime");
  return days;
}

function decodeDateTime(b: Int64Builder): Decode {
  return (v, s, e) => {
    const length = e - s;
    const days = packedDateTime(v, s, length);
    const clock = length >= 7 ? v[s + 4] * 3600 + v[s + 5] * 60 + v[s + 6] : 0;
    b.appendMicros(days * SECONDS_PER_DAY + clock, length === 11 ? unsigned(v, s + 7, 4) : 0);
  };
}

/** The packed TIME at `v[s, e)` as signed microseconds. */
export function packedTime(v: Uint8Array, s: number, e: number): number {
  const length = e - s;
  if (length === 0) return 0;
  if (length !== 8 && length !== 12) throw malformed("time");
  const hour = v[s + 5];
  const minute = v[s + 6];
  const second = v[s + 7];
  const micros = length === 12 ? unsigned(v, s + 8, 4) : 0;
  if (v[s] > 1 || hour > 23 || minute > 59 || second > 59 || micros > 999_999) {
    throw malformed("time");
  }
  const hours = unsigned(v, s + 1, 4) * 24 + hour;
  const total = ((hours * 60 + minute) * 60 + second) * 1_000_000 + micros;
  // Past 2^53 µs (about 285 years) the sum above would no longer be exact.
  if (!Number.isSafeInteger(total)) throw malformed("time");
  return v[s] === 1 ? -total : total;
}

function decodeTime(b: Int64Builder): Decode {
  return (v, s, e) => {
    const micros = packedTime(v, s, e);
    const high = Math.floor(micros / TWO_32);
    b.appendWords((micros - high * TWO_32) | 0, high);
  };
}

function mismatch(column: MysqlColumn, wire: BinaryWire): Error {
  return new Error(`no binary decoder for ${column.kind} sent as ${wire} (${column.sourceType})`);
}

/**
 * The binary-protocol decoder of `column`, whose values travel as `wire`, into the builder of
 * `text` (its text-protocol decoder from `createDecoders`), which serves values that travel as
 * the text protocol's bytes.
 */
export function binaryDecoder(column: MysqlColumn, wire: BinaryWire, text: ColumnDecoder): Decode {
  if (wire === "bytes") return text.decode;
  const builder: ColumnBuilder = text.builder;
  switch (column.kind) {
    case "bool":
      if (wireWidth(wire) > 4 || !(builder instanceof BoolBuilder)) break;
      return decodeBool(builder, wire);
    case "int16":
    case "int32":
      if (wireWidth(wire) > 4 || wire[0] === "f") break;
      return decodeSmall(builder as NumberBuilder, wire);
    case "int64":
      if (wire !== "u32" && wire !== "i64") break;
      return decodeInt64(builder as Int64Builder, wire);
    case "uint64":
      if (wire !== "u64" || !(builder instanceof UInt64Builder)) break;
      return decodeUInt64(builder);
    case "float32":
      if (wire !== "f32") break;
      return decodeFloat32(builder as NumberBuilder);
    case "float64":
      if (wire !== "f64") break;
      return decodeFloat64(builder as NumberBuilder);
    case "date":
      if (wire !== "datetime") break;
      return decodeDate(builder as NumberBuilder);
    case "datetime":
    case "timestamp":
      if (wire !== "datetime") break;
      return decodeDateTime(builder as Int64Builder);
    case "time":
      if (wire !== "time") break;
      return decodeTime(builder as Int64Builder);
  }
  throw mismatch(column, wire);
}

function pad(n: number, width: number): string {
  return String(n).padStart(width, "0");
}

/**
 * The value at `v[s, e)` of a fixed-width or packed wire as the text protocol would have sent it,
 * for error messages (`0000-00-00` for a zero date, `5` for a TINYINT(1) of 5). `digits` is the
 * column's fractional-second digits.
 */
export function binaryValueText(
  wire: BinaryWire,
  v: Uint8Array,
  s: number,
  e: number,
  digits: number,
): string {
  if (wireWidth(wire) > 0 && wireWidth(wire) <= 4 && wire[0] !== "f") {
    return String(smallIntOf(wire, v, s));
  }
  const length = e - s;
  // Fields a malformed length leaves out show as zeros.
  const fields = new Uint8Array(12);
  fields.set(v.subarray(s, Math.min(e, s + 12)));
  v = fields;
  s = 0;
  const fraction = (micros: number) => digits > 0 ? `.${pad(micros, 6).slice(0, digits)}` : "";
  if (wire === "time") {
    const sign = length > 0 && v[s] === 1 ? "-" : "";
    const hours = length > 0 ? unsigned(v, s + 1, 4) * 24 + v[s + 5] : 0;
    const clock = length > 0 ? `${pad(v[s + 6], 2)}:${pad(v[s + 7], 2)}` : "00:00";
    return `${sign}${pad(hours, 2)}:${clock}${fraction(length === 12 ? unsigned(v, s + 8, 4) : 0)}`;
  }
  if (wire !== "datetime") return "?";
  const date = length >= 4
    ? `${pad(v[s] | (v[s + 1] << 8), 4)}-${pad(v[s + 2], 2)}-${pad(v[s + 3], 2)}`
    : "0000-00-00";
  if (digits < 0) return date;
  const clock = length >= 7
    ? `${pad(v[s + 4], 2)}:${pad(v[s + 5], 2)}:${pad(v[s + 6], 2)}`
    : "00:00:00";
  return `${date} ${clock}${fraction(length === 11 ? unsigned(v, s + 7, 4) : 0)}`;
}
