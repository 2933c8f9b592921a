/**
 * CSV fields of Arrow values, written as UTF-8 bytes straight into the CSV writer's buffer: byte
 * for byte the field the text of `text.ts` makes, quoted by the CSV writer's rules (`csvField`),
 * but with no string per value. Strings per cell were what kept V8's heap at ~115 MB of pages on
 * 1 M mixed rows and cost ~2.3 s of main-thread time; here a number, a date, a timestamp, a text
 * or a binary value goes from the column's buffers to bytes with nothing for the collector.
 *
 * Rarer renderings still go through `text.ts`'s string and are then copied: lists, dictionaries,
 * doubles of more than 15 significant digits or outside fixed notation, durations, 64-bit
 * integers and decimals beyond 2^53, and decimals with a scale past 15.
 *
 * Text is copied as it is, so it must be UTF-8: a value that is not fails as a fatal
 * `TextDecoder` would (the MySQL CSV passthrough writes its text cells with {@link textFieldInto}
 * too).
 *
 * @module
 */
import { type Data, DataType, DateUnit, type Field, Precision, TimeUnit } from "apache-arrow";
import { TypeMappingError } from "../errors.ts";
import type { ByteBuffer } from "../util/byte_buffer.ts";
import { isUtf8 } from "../util/utf8_check.ts";
import { FLOAT32_TEXT_BYTES, float32Into, FLOAT64_TEXT_BYTES, float64Into } from "./float_text.ts";
import { civilFromDays } from "./temporal.ts";
import {
  decimalText,
  durationDigits,
  fitsDouble,
  needsQuoting,
  type Renderer,
  rendererFor,
  smallDecimal,
  timeText,
} from "./text.ts";

/** Writes the field of the non-null value at index `i` at the end of the buffer. */
export type FieldWriter = (i: number) => void;

/** Prepares a {@link FieldWriter} for one column of one batch, writing into `out`. */
export type FieldRenderer = (data: Data, out: ByteBuffer) => FieldWriter;

const LF = 10;
const CR = 13;
const QUOTE = 34;
const COMMA = 44;
const DASH = 45;
const DOT = 46;
const ZERO = 48;
const COLON = 58;
const BACKSLASH = 92;
const UPPER_T = 84;
const UPPER_Z = 90;
const TRUE = new TextEncoder().encode("true");
const FALSE = new TextEncoder().encode("false");
const HEX = new TextEncoder().encode("0123456789abcdef");

/** A text byte that makes its field quoted. */
const SPECIAL = 1;
/** A byte that is not ASCII: the value is checked to be UTF-8. */
const NOT_ASCII = 2;
const TEXT_BYTES = Uint8Array.from(
  { length: 256 },
  (_, b) => b === QUOTE || b === COMMA || b === CR || b === LF ? SPECIAL : b >= 128 ? NOT_ASCII : 0,
);

/**
 * The field writer of a column of `field`'s type; `alone` when it is the file's only column (then
 * a text of `\.` is quoted, as `csvField` says).
 *
 * @throws {TypeMappingError} for a type CSV output does not support, as `rendererFor` does.
 */
export function fieldRendererFor(field: Field, alone: boolean): FieldRenderer {
  const type = field.type;
  if (DataType.isBool(type)) return boolField;
  if (DataType.isInt(type)) {
    if (type.bitWidth < 64) return smallIntField;
    return int64Field(type.isSigned);
  }
  if (DataType.isFloat(type) && type.precision === Precision.SINGLE) return float32Field;
  if (DataType.isFloat(type) && type.precision === Precision.DOUBLE) return float64Field;
  if (DataType.isDecimal(type) && type.scale >= 0 && type.scale <= 15) {
    return decimalField(type.scale, type.bitWidth);
  }
  if (DataType.isUtf8(type)) return utf8Field(alone);
  if (DataType.isBinary(type)) return binaryField;
  if (DataType.isDate(type) && type.unit === DateUnit.DAY) return dateField;
  if (DataType.isTimestamp(type) && type.unit === TimeUnit.MICROSECOND) {
    return timestampField(type.timezone ? UPPER_Z : 0, rendererFor(field));
  }
  if (DataType.isTime(type) && type.unit === TimeUnit.MICROSECOND) return timeField;
  if (DataType.isDuration(type) && type.unit === TimeUnit.MICROSECOND) {
    return durationField(durationDigits(field), rendererFor(field));
  }
  return textField(rendererFor(field), needsQuoting(type), alone);
}

/**
 * Writes `v[s, e)`, text that must be UTF-8, as one field: as it is, or quoted with `"` doubled
 * when it holds `,` `"` CR or LF, is empty, or is `\.` in a one-column file.
 *
 * @throws {TypeMappingError} when the bytes are not UTF-8.
 */
export function textFieldInto(
  out: ByteBuffer,
  v: Uint8Array,
  s: number,
  e: number,
  alone: boolean,
): void {
  let seen = 0;
  for (let k = s; k < e; k++) seen |= TEXT_BYTES[v[k]];
  if ((seen & NOT_ASCII) !== 0 && !isUtf8(v, s, e)) {
    throw new TypeMappingError("The encoded data was not valid for encoding utf-8");
  }
  const n = e - s;
  if (
    (seen & SPECIAL) === 0 && n !== 0 &&
    !(alone && n === 2 && v[s] === BACKSLASH && v[s + 1] === DOT)
  ) {
    out.reserve(n);
    copyInto(out, v, s, e);
    return;
  }
  out.reserve(2 * n + 2);
  const bytes = out.bytes;
  let o = out.at;
  bytes[o++] = QUOTE;
  for (let k = s; k < e; k++) {
    const b = v[k];
    bytes[o++] = b;
    if (b === QUOTE) bytes[o++] = QUOTE;
  }
  bytes[o++] = QUOTE;
  out.at = o;
}

/** Writes `v[s, e)` as lowercase hex, or `""` when it is empty. */
export function hexFieldInto(out: ByteBuffer, v: Uint8Array, s: number, e: number): void {
  out.reserve(2 * (e - s) + 2);
  const bytes = out.bytes;
  let o = out.at;
  if (s === e) {
    bytes[o++] = QUOTE;
    bytes[o++] = QUOTE;
  }
  for (let k = s; k < e; k++) {
    const b = v[k];
    bytes[o++] = HEX[b >> 4];
    bytes[o++] = HEX[b & 15];
  }
  out.at = o;
}

/** Copies `v[s, e)`, for which room is reserved. */
function copyInto(out: ByteBuffer, v: Uint8Array, s: number, e: number): void {
  const bytes = out.bytes;
  let o = out.at;
  // Below a few dozen bytes a loop beats the view `set` needs.
  if (e - s < 48) {
    for (let k = s; k < e; k++) bytes[o++] = v[k];
  } else {
    bytes.set(v.subarray(s, e), o);
    o += e - s;
  }
  out.at = o;
}

/** Every power of ten that is an exact double below 2^53. */
const POW10 = Array.from({ length: 16 }, (_, k) => 10 ** k);

/**
 * Writes the integer `0 <= n < 2^53` in decimal, zero-padded to `width` digits, at `o` (room
 * reserved); returns the index past it.
 */
export function digitsInto(bytes: Uint8Array, o: number, n: number, width: number): number {
  let length = 1;
  while (length < 16 && n >= POW10[length]) length++;
  if (length < width) length = width;
  const end = o + length;
  let k = end - 1;
  // Above 2^31 the quotient is floored as a double; below, as a 32-bit integer, which is cheaper.
  for (; k > o && n >= INT32_LIMIT; k--) {
    const q = Math.floor(n / 10);
    bytes[k] = ZERO + (n - q * 10);
    n = q;
  }
  for (; k > o; k--) {
    const q = (n / 10) | 0;
    bytes[k] = ZERO + (n - q * 10);
    n = q;
  }
  bytes[o] = ZERO + n;
  return end;
}

const INT32_LIMIT = 2 ** 31;

/** Writes the integer `|n| < 2^53` with its sign. */
export function signedInto(out: ByteBuffer, n: number): void {
  out.reserve(17);
  const bytes = out.bytes;
  let o = out.at;
  if (n < 0) {
    bytes[o++] = DASH;
    n = -n;
  }
  out.at = digitsInto(bytes, o, n, 1);
}

/** Writes `text`, which is ASCII (numbers, durations). */
function asciiInto(out: ByteBuffer, text: string): void {
  out.reserve(text.length);
  const bytes = out.bytes;
  let o = out.at;
  for (let k = 0; k < text.length; k++) bytes[o++] = text.charCodeAt(k);
  out.at = o;
}

/** Writes `true` or `false`. */
export function boolFieldInto(out: ByteBuffer, value: boolean): void {
  const text = value ? TRUE : FALSE;
  out.reserve(5);
  const bytes = out.bytes;
  let o = out.at;
  for (let k = 0; k < text.length; k++) bytes[o++] = text[k];
  out.at = o;
}

const boolField: FieldRenderer = (data, out) => {
  const values = data.values as Uint8Array;
  const offset = data.offset;
  return (i) => {
    const index = offset + i;
    boolFieldInto(out, (values[index >> 3] & (1 << (index & 7))) !== 0);
  };
};

const smallIntField: FieldRenderer = (data, out) => {
  const values = data.values as ArrayLike<number>;
  return (i) => signedInto(out, values[i]);
};

/**
 * Writes the 64-bit integer `high * 2^32 + low` (`low` taken unsigned; `high` signed, or unsigned
 * when `signed` is false).
 */
export function int64Into(out: ByteBuffer, low: number, high: number, signed: boolean): void {
  // Values under 2^53 in magnitude are exact as doubles and cheaper than bigint.
  if (high >= -0x200000 && high < 0x200000) {
    signedInto(out, high * 0x100000000 + (low >>> 0));
  } else {
    const value = (BigInt(signed ? high | 0 : high >>> 0) << 32n) + BigInt(low >>> 0);
    asciiInto(out, String(value));
  }
}

function int64Field(signed: boolean): FieldRenderer {
  return (data, out) => {
    const values = data.values as BigInt64Array | BigUint64Array;
    const words = values.length * 2;
    const halves = signed
      ? new Int32Array(values.buffer, values.byteOffset, words)
      : new Uint32Array(values.buffer, values.byteOffset, words);
    return (i) => int64Into(out, halves[2 * i], halves[2 * i + 1], signed);
  };
}

const float32Field: FieldRenderer = (data, out) => {
  const values = data.values as Float32Array;
  return (i) => {
    out.reserve(FLOAT32_TEXT_BYTES);
    out.at = float32Into(out.bytes, out.at, values, i);
  };
};

const float64Field: FieldRenderer = (data, out) => {
  const values = data.values as Float64Array;
  return (i) => {
    out.reserve(FLOAT64_TEXT_BYTES);
    out.at = float64Into(out.bytes, out.at, values, i);
  };
};

/** Decimals of scale 0 to 15 (others are `text.ts`'s). */
function decimalField(scale: number, bitWidth: number): FieldRenderer {
  const stride = bitWidth / 32;
  const unit = POW10[scale];
  return (data, out) => {
    const words = data.values as Uint32Array;
    return (i) => {
      const base = i * stride;
      if (!fitsDouble(words, base, stride)) {
        asciiInto(out, decimalText(words, base, stride, scale));
        return;
      }
      const n = smallDecimal(words, base, stride);
      if (scale === 0) {
        signedInto(out, n);
        return;
      }
      const abs = n < 0 ? -n : n;
      // Both exact: `%` on doubles is, and the quotient of a multiple of `unit` is an integer.
      const fraction = abs % unit;
      const whole = (abs - fraction) / unit;
      out.reserve(34);
      const bytes = out.bytes;
      let o = out.at;
      if (n < 0) bytes[o++] = DASH;
      o = digitsInto(bytes, o, whole, 1);
      bytes[o++] = DOT;
      out.at = digitsInto(bytes, o, fraction, scale);
    };
  };
}

function utf8Field(alone: boolean): FieldRenderer {
  return (data, out) => {
    const offsets = data.valueOffsets as Int32Array;
    const bytes = data.values as Uint8Array;
    return (i) => textFieldInto(out, bytes, offsets[i], offsets[i + 1], alone);
  };
}

const binaryField: FieldRenderer = (data, out) => {
  const offsets = data.valueOffsets as Int32Array;
  const bytes = data.values as Uint8Array;
  return (i) => hexFieldInto(out, bytes, offsets[i], offsets[i + 1]);
};

const YMD = new Int32Array(3);

/** Writes `YYYY-MM-DD` (the year as `dateText` prints it) at `o`; returns the index past it. */
function dateInto(bytes: Uint8Array, o: number, days: number): number {
  civilFromDays(days, YMD);
  const year = YMD[0];
  if (year < 0) bytes[o++] = DASH;
  o = digitsInto(bytes, o, year < 0 ? -year : year, 4);
  bytes[o++] = DASH;
  o = digitsInto(bytes, o, YMD[1], 2);
  bytes[o++] = DASH;
  return digitsInto(bytes, o, YMD[2], 2);
}

/** Room for a date: a sign, the most year digits an int32 day count makes, `-MM-DD`. */
const DATE_BYTES = 14;

/** Writes the date `days` after 1970-01-01 as `YYYY-MM-DD` (`dateText`'s layout). */
function dateFieldInto(out: ByteBuffer, days: number): void {
  out.reserve(DATE_BYTES);
  out.at = dateInto(out.bytes, out.at, days);
}

const dateField: FieldRenderer = (data, out) => {
  const days = data.values as Int32Array;
  return (i) => dateFieldInto(out, days[i]);
};

/**
 * Writes `HH:MM:SS.ffffff` for `0 <= micros < 100 h` at `o` (`timeText`'s layout); returns the
 * index past it.
 */
function timeInto(bytes: Uint8Array, o: number, micros: number): number {
  const seconds = Math.floor(micros / 1_000_000);
  const h = Math.floor(seconds / 3600);
  o = digitsInto(bytes, o, h, 2);
  bytes[o++] = COLON;
  o = digitsInto(bytes, o, Math.floor(seconds / 60) % 60, 2);
  bytes[o++] = COLON;
  o = digitsInto(bytes, o, seconds % 60, 2);
  bytes[o++] = DOT;
  return digitsInto(bytes, o, micros - seconds * 1_000_000, 6);
}

/** Room for {@link timeInto}'s text. */
const TIME_BYTES = 15;
const MICROS_PER_DAY = 86_400_000_000;
const HUNDRED_HOURS = 360_000_000_000;

/**
 * Fields of 64-bit microsecond counts (timestamps, durations): `write` takes a value within
 * ±2^53 µs (~285 years either side of its zero) as an exact double; beyond, `render`'s
 * (`text.ts`) bigint text serves.
 */
function microsField(
  render: Renderer,
  write: (out: ByteBuffer, micros: number) => void,
): FieldRenderer {
  return (data, out) => {
    const values = data.values as BigInt64Array;
    const halves = new Int32Array(values.buffer, values.byteOffset, values.length * 2);
    const slow = textField(render, false, false)(data, out);
    return (i) => {
      const hi = halves[2 * i + 1];
      if (hi >= -0x200000 && hi < 0x200000) write(out, hi * 0x100000000 + (halves[2 * i] >>> 0));
      else slow(i);
    };
  };
}

/** Timestamps, with a `suffix` byte (`Z`) or none (0). */
function timestampField(suffix: number, render: Renderer): FieldRenderer {
  return microsField(render, (out, v) => {
    const days = Math.floor(v / MICROS_PER_DAY);
    out.reserve(DATE_BYTES + TIME_BYTES + 2);
    const bytes = out.bytes;
    let o = dateInto(bytes, out.at, days);
    bytes[o++] = UPPER_T;
    o = timeInto(bytes, o, v - days * MICROS_PER_DAY);
    if (suffix !== 0) bytes[o++] = suffix;
    out.at = o;
  });
}

const timeField: FieldRenderer = (data, out) => {
  const values = data.values as BigInt64Array;
  const halves = new Int32Array(values.buffer, values.byteOffset, values.length * 2);
  return (i) => {
    const micros = halves[2 * i + 1] * 0x100000000 + (halves[2 * i] >>> 0);
    if (micros >= 0 && micros < HUNDRED_HOURS) {
      out.reserve(TIME_BYTES);
      out.at = timeInto(out.bytes, out.at, micros);
    } else {
      asciiInto(out, timeText(Number(values[i])));
    }
  };
};

/** Room for a duration's text within ±2^53 µs (10 hour digits). */
const DURATION_BYTES = 23;
const MICROS_POW10 = [1, 10, 100, 1_000, 10_000, 100_000, 1_000_000];

/**
 * Writes the signed duration `micros` (|micros| < 2^53) as `durationText` prints it: `[-]hh:mm:ss`,
 * the hours of at least two digits, then `digits` fraction digits, or all six when fewer would
 * drop a non-zero one.
 */
export function durationInto(out: ByteBuffer, micros: number, digits: number): void {
  const abs = micros < 0 ? -micros : micros;
  const seconds = Math.floor(abs / 1_000_000);
  const fraction = abs - seconds * 1_000_000;
  out.reserve(DURATION_BYTES);
  const bytes = out.bytes;
  let o = out.at;
  if (micros < 0) bytes[o++] = DASH;
  o = digitsInto(bytes, o, Math.floor(seconds / 3600), 2);
  bytes[o++] = COLON;
  o = digitsInto(bytes, o, Math.floor(seconds / 60) % 60, 2);
  bytes[o++] = COLON;
  o = digitsInto(bytes, o, seconds % 60, 2);
  const shown = fraction % MICROS_POW10[6 - digits] === 0 ? digits : 6;
  if (shown > 0) {
    bytes[o++] = DOT;
    o = digitsInto(bytes, o, Math.floor(fraction / MICROS_POW10[6 - shown]), shown);
  }
  out.at = o;
}

/** Durations, with `digits` fraction digits. */
function durationField(digits: number, render: Renderer): FieldRenderer {
  return microsField(render, (out, micros) => durationInto(out, micros, digits));
}

const encoder = new TextEncoder();

/**
 * Fields from `text.ts`'s string: copied when the type's text has no separators (`quote` false:
 * ASCII numbers and durations), else encoded and quoted as text.
 */
function textField(render: Renderer, quote: boolean, alone: boolean): FieldRenderer {
  return (data, out) => {
    const text = render(data);
    if (!quote) return (i) => asciiInto(out, text(i));
    let scratch = new Uint8Array(256);
    return (i) => {
      const value = text(i);
      if (scratch.length < 3 * value.length) scratch = new Uint8Array(3 * value.length);
      const { written } = encoder.encodeInto(value, scratch);
      textFieldInto(out, scratch, 0, written, alone);
    };
  };
}
