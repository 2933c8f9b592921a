/**
 * Exact text renderings of Arrow values, for the CSV writer.
 *
 * Every renderer reads the column's buffers directly (no per-value Arrow getters, which allocate):
 * 64-bit integers and timestamps go through 32-bit halves and fall back to bigint only beyond
 * 2^53, UTF-8 columns are decoded once per batch and sliced.
 *
 * Conventions:
 * - dates `YYYY-MM-DD`, astronomical years (year 0 is 1 BC), zero-padded to 4 digits, a leading `-`
 *   before year 0 and as many digits as needed after 9999;
 * - timestamps `YYYY-MM-DDTHH:MM:SS.ffffff`, plus `Z` when the column has a time zone;
 * - times `HH:MM:SS.ffffff`; decimals with exactly `scale` fraction digits;
 * - durations as MySQL prints a TIME, `[-]HH:MM:SS` (more hour digits when needed) plus as many
 *   fraction digits as a `rivet.source_type` of `time(n)` declares (`time`: none; otherwise 6), or
 *   all 6 when the value has more precision than declared;
 * - floats as PostgreSQL prints them (`float_text.ts`): the shortest exact digits, `1e+20` and
 *   `1e-05` outside fixed notation's range, `NaN`, `Infinity`, `-Infinity` and `-0`;
 * - binary as lowercase hex; lists as JSON arrays, where non-finite floats, dates, times,
 *   timestamps and binary become JSON strings.
 *
 * @module
 */
import { type Data, DataType, DateUnit, type Field, Precision, TimeUnit } from "apache-arrow";
import { TypeMappingError } from "../errors.ts";
import { float32Text, float64Text } from "./float_text.ts";
import { METADATA } from "./metadata.ts";
import { civilFromDays } from "./temporal.ts";

/** Text of the non-null value at index `i` of the column it was prepared for. */
export type ValueText = (i: number) => string;

/** Prepares a {@link ValueText} for one column of one batch (views are built once per batch). */
export type Renderer = (data: Data) => ValueText;

/** Whether a rendering is a bare CSV value or a JSON value inside a list. */
type Mode = "csv" | "json";

/**
 * Builds the renderer for a field's type (nested types included), so that an unsupported column
 * fails before any byte is written.
 *
 * @throws {TypeMappingError} for a type outside `isSupportedType` (see `types.ts`).
 */
export function rendererFor(field: Field): Renderer {
  if (isMicrosDuration(field.type)) return durationRenderer(durationDigits(field));
  return renderer(field.type, "csv", field.name);
}

/** The validity bitmap when the column has nulls, else undefined. */
export function nullBitmap(data: Data): Uint8Array | undefined {
  return data.nullCount > 0 ? data.nullBitmap : undefined;
}

/** True when index `i` is null according to a bitmap from {@link nullBitmap}. */
export function isNullAt(bitmap: Uint8Array, offset: number, i: number): boolean {
  return !bitAt(bitmap, offset + i);
}

function bitAt(bits: Uint8Array, index: number): boolean {
  return (bits[index >> 3] & (1 << (index & 7))) !== 0;
}

function renderer(type: DataType, mode: Mode, column: string): Renderer {
  if (DataType.isBool(type)) return boolRenderer;
  if (DataType.isInt(type)) return intRenderer(type.bitWidth, type.isSigned);
  if (DataType.isFloat(type) && type.precision !== Precision.HALF) {
    return mode === "csv" ? floatRenderer : jsonFloat;
  }
  if (DataType.isDecimal(type)) return decimalRenderer(type.scale, type.bitWidth);
  if (DataType.isUtf8(type)) return mode === "csv" ? utf8Renderer : jsonUtf8;
  if (DataType.isBinary(type)) return quoted(binaryRenderer, mode);
  if (DataType.isDate(type) && type.unit === DateUnit.DAY) return quoted(dateRenderer, mode);
  if (DataType.isTimestamp(type) && type.unit === TimeUnit.MICROSECOND) {
    return quoted(timestampRenderer(type.timezone ? "Z" : ""), mode);
  }
  if (DataType.isTime(type) && type.unit === TimeUnit.MICROSECOND) {
    return quoted(timeRenderer, mode);
  }
  if (isMicrosDuration(type)) return quoted(durationRenderer(6), mode);
  if (DataType.isList(type)) return listRenderer(renderer(type.children[0].type, "json", column));
  if (DataType.isDictionary(type)) {
    return dictionaryRenderer(renderer(type.dictionary, mode, column));
  }
  throw new TypeMappingError(`column "${column}": CSV output does not support Arrow type ${type}`);
}

/**
 * True when a type's text can contain CSV separators or be empty, so its cells need the quoting
 * check; numbers, dates and times never do.
 */
export function needsQuoting(type: DataType): boolean {
  if (DataType.isDictionary(type)) return needsQuoting(type.dictionary);
  return DataType.isUtf8(type) || DataType.isBinary(type) || DataType.isList(type);
}

/** Wraps a renderer whose text needs no JSON escaping in JSON string quotes inside lists. */
function quoted(render: Renderer, mode: Mode): Renderer {
  if (mode === "csv") return render;
  return (data) => {
    const text = render(data);
    return (i) => `"${text(i)}"`;
  };
}

const boolRenderer: Renderer = (data) => {
  const values = data.values as Uint8Array;
  const offset = data.offset;
  return (i) => (bitAt(values, offset + i) ? "true" : "false");
};

function intRenderer(bitWidth: number, signed: boolean): Renderer {
  if (bitWidth < 64) {
    return (data) => {
      const values = data.values as ArrayLike<number>;
      return (i) => String(values[i]);
    };
  }
  return (data) => {
    const values = data.values as BigInt64Array | BigUint64Array;
    const halves = signed ? int32View(values) : uint32View(values);
    return (i) => {
      const hi = halves[2 * i + 1];
      // Values under 2^53 in magnitude are exact as doubles and cheaper than bigint.
      return hi >= -0x200000 && hi < 0x200000
        ? String(hi * 0x100000000 + (halves[2 * i] >>> 0))
        : String(values[i]);
    };
  };
}

function int32View(values: BigInt64Array | BigUint64Array): Int32Array {
  return new Int32Array(values.buffer, values.byteOffset, values.length * 2);
}

function uint32View(values: BigInt64Array | BigUint64Array): Uint32Array {
  return new Uint32Array(values.buffer, values.byteOffset, values.length * 2);
}

const floatRenderer: Renderer = (data) => {
  const values = data.values as Float32Array | Float64Array;
  return values instanceof Float32Array
    ? (i) => float32Text(values[i])
    : (i) => float64Text(values[i]);
};

const jsonFloat: Renderer = (data) => {
  const text = floatRenderer(data);
  return (i) => {
    const s = text(i);
    // JSON has no literal for these, so they travel as strings rather than being lost.
    return s === "NaN" || s === "Infinity" || s === "-Infinity" ? `"${s}"` : s;
  };
};

function decimalRenderer(scale: number, bitWidth: number): Renderer {
  const stride = bitWidth / 32;
  return (data) => {
    const words = data.values as Uint32Array;
    return (i) => decimalText(words, i * stride, stride, scale);
  };
}

/** Exact text of a little-endian two's-complement decimal of `stride` 32-bit words. */
export function decimalText(
  words: Uint32Array,
  base: number,
  stride: number,
  scale: number,
): string {
  let negative: boolean;
  let digits: string;
  if (fitsDouble(words, base, stride)) {
    // Exact as a double, and far cheaper than bigint.
    const n = smallDecimal(words, base, stride);
    negative = n < 0;
    const abs = negative ? -n : n;
    if (scale > 0 && scale <= 15) return smallDecimalText(negative ? "-" : "", abs, scale);
    digits = String(abs);
  } else {
    let v = 0n;
    for (let k = stride - 1; k >= 0; k--) v = (v << 32n) | BigInt(words[base + k]);
    v = BigInt.asIntN(stride * 32, v);
    negative = v < 0n;
    digits = (negative ? -v : v).toString();
  }
  const sign = negative ? "-" : "";
  if (scale <= 0) return digits === "0" ? "0" : sign + digits + "0".repeat(-scale);
  if (digits.length <= scale) digits = digits.padStart(scale + 1, "0");
  const point = digits.length - scale;
  return `${sign}${digits.slice(0, point)}.${digits.slice(point)}`;
}

/**
 * Whether the two's-complement decimal of `stride` 32-bit words at `base` is within ±2^53, so
 * {@link smallDecimal} reads it exactly.
 */
export function fitsDouble(words: Uint32Array, base: number, stride: number): boolean {
  const fill = words[base + stride - 1] >= 0x80000000 ? 0xffffffff : 0;
  for (let k = 2; k < stride; k++) if (words[base + k] !== fill) return false;
  const w1 = words[base + 1];
  return fill === 0 ? w1 < 0x200000 : w1 >= 0xffe00000;
}

/** The unscaled value of a decimal that {@link fitsDouble}. */
export function smallDecimal(words: Uint32Array, base: number, stride: number): number {
  const w1 = words[base + 1];
  const high = words[base + stride - 1] >= 0x80000000 ? w1 - 0x100000000 : w1;
  return high * 0x100000000 + words[base];
}

/** `abs / 10^scale` as text, for `abs < 2^53` and `scale` in 1..15, without bigint. */
function smallDecimalText(sign: string, abs: number, scale: number): string {
  const unit = POW10[scale];
  // Both exact: `%` on doubles is, and the quotient of a multiple of `unit` is an integer < 2^53.
  const fraction = abs % unit;
  const whole = (abs - fraction) / unit;
  return sign + whole + "." + String(fraction).padStart(scale, "0");
}

const POW10 = Array.from({ length: 16 }, (_, k) => 10 ** k);

// Decoding a whole column at once is only done below this size; bigger text goes value by value
// so one batch can never exceed the engine's maximum string length.
const WHOLE_DECODE_LIMIT = 1 << 26;
// ignoreBOM: a value that starts with U+FEFF keeps it (by default a decoder drops it).
const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

const utf8Renderer: Renderer = (data) => {
  const offsets = data.valueOffsets as Int32Array;
  const bytes = data.values as Uint8Array;
  const start = offsets[0];
  const end = offsets[data.length];
  if (end - start > WHOLE_DECODE_LIMIT) {
    return (i) => utf8.decode(bytes.subarray(offsets[i], offsets[i + 1]));
  }
  const text = utf8.decode(bytes.subarray(start, end));
  if (text.length === end - start) {
    // Pure ASCII: byte offsets are string offsets.
    return (i) => text.substring(offsets[i] - start, offsets[i + 1] - start);
  }
  const units = utf16Offsets(bytes, offsets, data.length);
  return (i) => text.substring(units[i], units[i + 1]);
};

/** Maps each value's byte offset to its UTF-16 offset in the decoded column text. */
function utf16Offsets(bytes: Uint8Array, offsets: Int32Array, n: number): Int32Array {
  const units = new Int32Array(n + 1);
  let pos = offsets[0];
  let unit = 0;
  for (let k = 1; k <= n; k++) {
    const stop = offsets[k];
    for (; pos < stop; pos++) {
      const b = bytes[pos];
      // Lead bytes start a code point; 4-byte sequences need a surrogate pair.
      if ((b & 0xc0) !== 0x80) unit += b >= 0xf0 ? 2 : 1;
    }
    units[k] = unit;
  }
  return units;
}

const jsonUtf8: Renderer = (data) => {
  const text = utf8Renderer(data);
  return (i) => JSON.stringify(text(i));
};

const HEX = Array.from({ length: 256 }, (_, b) => b.toString(16).padStart(2, "0"));

const binaryRenderer: Renderer = (data) => {
  const offsets = data.valueOffsets as Int32Array;
  const bytes = data.values as Uint8Array;
  return (i) => {
    let s = "";
    for (let k = offsets[i], end = offsets[i + 1]; k < end; k++) s += HEX[bytes[k]];
    return s;
  };
};

const dateRenderer: Renderer = (data) => {
  const days = data.values as Int32Array;
  return (i) => dateText(days[i]);
};

const MICROS_PER_DAY = 86_400_000_000;
const MICROS_PER_DAY_N = 86_400_000_000n;

function timestampRenderer(suffix: string): Renderer {
  return (data) => {
    const values = data.values as BigInt64Array;
    const halves = int32View(values);
    return (i) => {
      const hi = halves[2 * i + 1];
      let days: number;
      let micros: number;
      if (hi >= -0x200000 && hi < 0x200000) {
        const v = hi * 0x100000000 + (halves[2 * i] >>> 0);
        days = Math.floor(v / MICROS_PER_DAY);
        micros = v - days * MICROS_PER_DAY;
      } else {
        const v = values[i];
        let d = v / MICROS_PER_DAY_N;
        if (v < 0n && d * MICROS_PER_DAY_N !== v) d -= 1n;
        days = Number(d);
        micros = Number(v - d * MICROS_PER_DAY_N);
      }
      return `${dateText(days)}T${timeText(micros)}${suffix}`;
    };
  };
}

const timeRenderer: Renderer = (data) => {
  const values = data.values as BigInt64Array;
  return (i) => timeText(Number(values[i]));
};

/** `YYYY-MM-DD` for days since 1970-01-01 (proleptic Gregorian, astronomical years). */
export function dateText(days: number): string {
  civilFromDays(days, YMD);
  const year = YMD[0];
  const y = year >= 1000
    ? String(year)
    : year >= 0
    ? String(year).padStart(4, "0")
    : "-" + String(-year).padStart(4, "0");
  return y + "-" + PAD2[YMD[1]] + "-" + PAD2[YMD[2]];
}

const YMD = new Int32Array(3);

/** `HH:MM:SS.ffffff` for microseconds since midnight. */
export function timeText(micros: number): string {
  const seconds = Math.floor(micros / 1_000_000);
  const fraction = micros - seconds * 1_000_000;
  const h = Math.floor(seconds / 3600);
  const m = Math.floor(seconds / 60) % 60;
  // 1_000_000 + fraction has exactly 7 digits: dropping the 1 zero-pads the fraction to 6.
  return (h < 100 ? PAD2[h] : String(h)) + ":" + PAD2[m] + ":" + PAD2[seconds % 60] + "." +
    String(1_000_000 + fraction).slice(1);
}

function isMicrosDuration(type: DataType): boolean {
  return DataType.isDuration(type) && type.unit === TimeUnit.MICROSECOND;
}

/** Fraction digits a duration column shows: the `n` of a MySQL `time(n)`, else all six. */
export function durationDigits(field: Field): number {
  const declared = /^time(?:\(([0-6])\))?$/.exec(field.metadata.get(METADATA.sourceType) ?? "");
  return declared ? Number(declared[1] ?? 0) : 6;
}

function durationRenderer(digits: number): Renderer {
  return (data) => {
    const values = data.values as BigInt64Array;
    const halves = int32View(values);
    return (i) => {
      const hi = halves[2 * i + 1];
      return hi >= -0x200000 && hi < 0x200000
        ? durationText(hi * 0x100000000 + (halves[2 * i] >>> 0), digits)
        : bigDurationText(values[i], digits);
    };
  };
}

/**
 * `[-]HH:MM:SS` plus `digits` fraction digits for signed microseconds (|micros| < 2^53), as MySQL
 * prints a TIME(digits); all six fraction digits when fewer would drop a non-zero one.
 */
export function durationText(micros: number, digits: number): string {
  const abs = micros < 0 ? -micros : micros;
  const seconds = Math.floor(abs / 1_000_000);
  const fraction = abs - seconds * 1_000_000;
  const h = Math.floor(seconds / 3600);
  const m = Math.floor(seconds / 60) % 60;
  const shown = fraction % POW10[6 - digits] === 0 ? digits : 6;
  // 1_000_000 + fraction has exactly 7 digits: dropping the 1 zero-pads the fraction to 6.
  const tail = shown > 0 ? "." + String(1_000_000 + fraction).slice(1, 1 + shown) : "";
  return (micros < 0 ? "-" : "") + (h < 100 ? PAD2[h] : String(h)) + ":" + PAD2[m] + ":" +
    PAD2[seconds % 60] + tail;
}

/** {@link durationText} beyond 2^53 µs: whole hours in bigint, the rest below one hour. */
function bigDurationText(micros: bigint, digits: number): string {
  const abs = micros < 0n ? -micros : micros;
  const microsPerHour = 3_600_000_000n;
  const belowHour = durationText(Number(abs % microsPerHour), digits);
  // Beyond 2^53 µs the hours need far more than two digits, so "00" is swapped for them.
  return (micros < 0n ? "-" : "") + String(abs / microsPerHour) + belowHour.slice(2);
}

const PAD2 = Array.from({ length: 100 }, (_, n) => (n < 10 ? "0" : "") + n);

function listRenderer(element: Renderer): Renderer {
  return (data) => {
    const offsets = data.valueOffsets as Int32Array;
    const child = data.children[0];
    const text = element(child);
    const bitmap = nullBitmap(child);
    const offset = child.offset;
    return (i) => {
      const start = offsets[i];
      const end = offsets[i + 1];
      let s = "[";
      for (let k = start; k < end; k++) {
        if (k > start) s += ",";
        s += bitmap && isNullAt(bitmap, offset, k) ? "null" : text(k);
      }
      return s + "]";
    };
  };
}

/** Renders each dictionary entry once per batch, then looks cells up by index. */
function dictionaryRenderer(values: Renderer): Renderer {
  return (data) => {
    const texts: string[] = [];
    for (const chunk of data.dictionary?.data ?? []) {
      const text = values(chunk);
      const bitmap = nullBitmap(chunk);
      for (let k = 0; k < chunk.length; k++) {
        // A NULL inside the dictionary would need a second null check per cell; no source makes one.
        if (bitmap && isNullAt(bitmap, chunk.offset, k)) {
          throw new TypeMappingError("dictionary holds NULL values (only its indices may be null)");
        }
        texts.push(text(k));
      }
    }
    const indices = data.values as ArrayLike<number | bigint>;
    return (i) => texts[Number(indices[i])];
  };
}
