/**
 * The MySQL CSV passthrough's cells: each value of a text-protocol row, given as the bytes the
 * server sent, written straight into the chunk's buffer (`csv_chunk.ts`) as its CSV field, byte
 * for byte what the CSV writer renders for the same value read into Arrow (`decode.ts`, then
 * `arrow/text.ts`; docs/types.md "CSV: text of values"), and failing with the same errors.
 *
 * The server's text already is rivet's for most types (the session pins UTC and utf8mb4), so a
 * cell is copied once the bytes are checked to be what the Arrow path would print:
 * - integers, DECIMAL(p ≤ 38, s) and DOUBLE when in canonical form (no leading zeros, no `-0`,
 *   exactly `s` fraction digits; a DOUBLE in fixed notation within PostgreSQL's range, at most 15
 *   significant digits, no trailing fraction zeros: such a text is the shortest one of the double
 *   it parses to, so `float_text.ts` prints it as it is);
 * - text (CHAR, VARCHAR, TEXT, ENUM, SET, JSON, DECIMAL(p > 38)) quoted as RFC 4180 and the CSV
 *   writer say, once checked to be UTF-8 (only a cell holding a non-ASCII byte is checked);
 * - DATE, DATETIME and TIMESTAMP once `decode.ts` has parsed them (zero dates fail there), the
 *   latter two with `T`, six fraction digits and, for TIMESTAMP, `Z`;
 * - TIME when it already has the declared fraction digits and no `-` on a zero.
 * TINYINT(1) becomes `true`/`false`, binary strings lowercase hex, FLOAT the float32's text
 * (`float_text.ts`). What is not canonical (ZEROFILL, `-0.00`, `1e20`, YEAR `0000`, an unsigned
 * BIGINT of 20 digits) and the types the passthrough is not offered for (BIT, spatial: see
 * {@link passesThrough}) go through the Arrow path's own decoder and renderer, one value at a time.
 *
 * A cell writer also writes the comma before its field; the row reserves room first
 * (`csv_stream.ts`: twice the packet plus {@link CELL_SLACK} per column), so writers index the
 * buffer without bounds checks, except where they write a JS string.
 *
 * @module
 */
import type { Field, Schema } from "apache-arrow";
import { FLOAT32_TEXT_BYTES, float32Into, float64Text } from "../../arrow/float_text.ts";
import { boolFieldInto, hexFieldInto, textFieldInto } from "../../arrow/csv_fields.ts";
import { durationDigits, durationText, needsQuoting, rendererFor } from "../../arrow/text.ts";
import { isDigit } from "../../util/ascii_digit.ts";
import type { CsvChunkBuffer } from "./csv_chunk.ts";
import {
  createDecoders,
  type Decode,
  floatingInto,
  parseBool,
  parseDate,
  parseDateTime,
  parsedValue,
  parseFloating,
  parseTime,
  widenedFloatInto,
} from "./decode.ts";
import type { CellTarget } from "./text_row.ts";
import type { MysqlColumn } from "./types.ts";

/**
 * The most a cell's field may exceed twice its bytes on the wire (length prefix included), comma
 * included: `false` for a one-byte `0`, a DATETIME's `T`, fraction and `Z`, a TIME's fraction.
 */
export const CELL_SLACK = 8;

const QUOTE = 34;
const COMMA = 44;
const DASH = 45;
const DOT = 46;
const ZERO = 48;
const UPPER_T = 84;
const UPPER_Z = 90;
const encoder = new TextEncoder();

/** Whether `column`'s cells are written here rather than read as batches: not BIT or spatial. */
export function passesThrough(column: MysqlColumn): boolean {
  return column.kind !== "bit" && column.kind !== "geometry" && column.sourceType !== "bit(1)";
}

/**
 * The cell writer and NULL writer of every column of `schema` (from `createDecoders(columns)`),
 * writing into `buffer`, in column order.
 */
export function cellTargets(
  columns: readonly MysqlColumn[],
  schema: Schema,
  buffer: CsvChunkBuffer,
): CellTarget[] {
  return columns.map((column, c) => {
    const lead = c > 0;
    return {
      decode: cellWriter(column, schema.fields[c], buffer, lead, columns.length === 1),
      builder: { appendNull: lead ? () => buffer.bytes[buffer.at++] = COMMA : () => {} },
    };
  });
}

function cellWriter(
  column: MysqlColumn,
  field: Field,
  buffer: CsvChunkBuffer,
  lead: boolean,
  alone: boolean,
): Decode {
  switch (column.kind) {
    case "int16":
      return integerCell(buffer, lead, 5, 2 ** 15, arrowText(column, field));
    case "int32":
      return integerCell(buffer, lead, 10, 2 ** 31, arrowText(column, field));
    case "int64":
      // Every integer of up to 18 digits fits.
      return integerCell(buffer, lead, 18, Infinity, arrowText(column, field));
    case "uint64":
      return integerCell(buffer, lead, 19, Infinity, arrowText(column, field));
    case "decimal":
      return decimalCell(buffer, lead, column.precision, column.scale, arrowText(column, field));
    case "float64":
      return doubleCell(buffer, lead);
    case "float32":
      return column.widened
        ? (v, s, e) => {
          widenedFloatInto(v, s, e);
          putFloat32(buffer, lead);
        }
        : (v, s, e) => {
          floatingInto(v, s, e);
          parsedValue[0] = Math.fround(parsedValue[0]);
          putFloat32(buffer, lead);
        };
    case "text":
    case "null":
      return textCell(buffer, lead, alone);
    case "binary":
      return hexCell(buffer, lead);
    case "date":
      return dateCell(buffer, lead);
    case "datetime":
    case "timestamp":
      return dateTimeCell(buffer, lead, column.kind === "timestamp");
    case "time":
      return timeCell(buffer, lead, durationDigits(field));
    case "bool":
      if (column.sourceType !== "bit(1)") return boolCell(buffer, lead);
      return slowCell(buffer, lead, arrowText(column, field), needsQuoting(field.type));
    case "bit":
    case "geometry":
      return slowCell(buffer, lead, arrowText(column, field), needsQuoting(field.type));
  }
}

/**
 * The CSV writer's text of one value of `column`, decoded into a builder of its own and rendered
 * by the Arrow path's renderer: exact by construction, and the decoder's errors.
 */
function arrowText(
  column: MysqlColumn,
  field: Field,
): (v: Uint8Array, s: number, e: number) => string {
  const { decoders } = createDecoders([column]);
  const { builder, decode } = decoders[0];
  const render = rendererFor(field);
  return (v, s, e) => {
    decode(v, s, e);
    return render(builder.finish())(0);
  };
}

/**
 * Writes the float32 value the parser left in `parsedValue` as a field (`float_text.ts`'s text),
 * after a comma when `lead`.
 */
function putFloat32(buffer: CsvChunkBuffer, lead: boolean): void {
  buffer.reserve(FLOAT32_TEXT_BYTES + 1);
  const out = buffer.bytes;
  let o = buffer.at;
  if (lead) out[o++] = COMMA;
  buffer.at = float32Into(out, o, parsedValue, 0);
}

/**
 * Writes `text` (no CSV separators in it: numbers, dates, times, hex) as a field, after a comma
 * when `lead`; an empty one is `""` when the type's text needs the quoting check (binary).
 */
function putText(buffer: CsvChunkBuffer, lead: boolean, text: string, quote = false): void {
  buffer.reserve(3 * text.length + 3);
  const out = buffer.bytes;
  let o = buffer.at;
  if (lead) out[o++] = COMMA;
  if (quote && text === "") {
    out[o++] = QUOTE;
    out[o++] = QUOTE;
  } else {
    o += encoder.encodeInto(text, out.subarray(o)).written;
  }
  buffer.at = o;
}

function slowCell(
  buffer: CsvChunkBuffer,
  lead: boolean,
  text: (v: Uint8Array, s: number, e: number) => string,
  quote: boolean,
): Decode {
  return (v, s, e) => putText(buffer, lead, text(v, s, e), quote);
}

/** Copies `v[s, e)` to the buffer after a comma when `lead`. */
function copy(buffer: CsvChunkBuffer, lead: boolean, v: Uint8Array, s: number, e: number): void {
  const out = buffer.bytes;
  let o = buffer.at;
  if (lead) out[o++] = COMMA;
  if (e - s < 32) {
    for (let i = s; i < e; i++) out[o++] = v[i];
  } else {
    out.set(v.subarray(s, e), o);
    o += e - s;
  }
  buffer.at = o;
}

/**
 * An integer without leading zeros that fits the Arrow type (at most `maxDigits` digits, from
 * `-bound` to `bound - 1`) is printed as it is.
 */
function integerCell(
  buffer: CsvChunkBuffer,
  lead: boolean,
  maxDigits: number,
  bound: number,
  slow: (v: Uint8Array, s: number, e: number) => string,
): Decode {
  return (v, s, e) => {
    const d = s < e && v[s] === DASH ? s + 1 : s;
    let ok = e > d && e - d <= maxDigits && (v[d] !== ZERO || (e - d === 1 && d === s));
    let n = 0;
    for (let i = d; ok && i < e; i++) {
      ok = isDigit(v[i]);
      n = n * 10 + v[i] - ZERO;
    }
    if (ok && (d === s ? n < bound : n <= bound)) copy(buffer, lead, v, s, e);
    else putText(buffer, lead, slow(v, s, e));
  };
}

/**
 * A DECIMAL(p,s) with no leading zero, exactly `s` fraction digits, at most `p` digits and no
 * `-` on a zero is printed as it is.
 */
function decimalCell(
  buffer: CsvChunkBuffer,
  lead: boolean,
  precision: number,
  scale: number,
  slow: (v: Uint8Array, s: number, e: number) => string,
): Decode {
  return (v, s, e) => {
    const negative = s < e && v[s] === DASH;
    const from = negative ? s + 1 : s;
    let i = from;
    while (i < e && isDigit(v[i])) i++;
    const whole = i - from;
    const zeroWhole = whole === 1 && v[from] === ZERO;
    let ok = whole >= 1 && (v[from] !== ZERO || zeroWhole) &&
      (zeroWhole || whole + scale <= precision);
    let zero = zeroWhole;
    if (scale > 0) {
      ok = ok && e - i === scale + 1 && v[i] === DOT;
      for (let k = i + 1; ok && k < e; k++) {
        ok = isDigit(v[k]);
        if (v[k] !== ZERO) zero = false;
      }
    } else {
      ok = ok && i === e;
    }
    if (ok && !(negative && zero)) copy(buffer, lead, v, s, e);
    else putText(buffer, lead, slow(v, s, e));
  };
}

/** Significant digits that always name one double, and one double only by them. */
const DOUBLE_DIGITS = 15;

/**
 * A DOUBLE printed as `float_text.ts` would print it is copied: fixed notation, no leading or
 * trailing zeros, no `-0`, at most 15 significant digits and a first digit from 10^-4 to 10^14.
 * Fifteen digits name a double uniquely, so the double's shortest text is that very text, and
 * PostgreSQL's layout prints fixed notation in that range. Anything else is parsed and printed.
 */
function doubleCell(buffer: CsvChunkBuffer, lead: boolean): Decode {
  return (v, s, e) => {
    const negative = s < e && v[s] === DASH;
    const from = negative ? s + 1 : s;
    let i = from;
    while (i < e && isDigit(v[i])) i++;
    const whole = i - from;
    let ok = whole >= 1 && (v[from] !== ZERO || whole === 1);
    let fraction = 0;
    if (ok && i < e) {
      fraction = e - i - 1;
      ok = v[i] === DOT && fraction > 0 && v[e - 1] !== ZERO;
      for (let k = i + 1; ok && k < e; k++) ok = isDigit(v[k]);
    }
    if (ok) {
      if (v[from] !== ZERO) {
        ok = whole + fraction <= DOUBLE_DIGITS;
      } else if (fraction === 0) {
        ok = !negative;
      } else {
        let zeros = 0;
        while (v[i + 1 + zeros] === ZERO) zeros++;
        ok = zeros <= 3 && fraction - zeros <= DOUBLE_DIGITS;
      }
    }
    if (ok) copy(buffer, lead, v, s, e);
    else putText(buffer, lead, float64Text(parseFloating(v, s, e)));
  };
}

function boolCell(buffer: CsvChunkBuffer, lead: boolean): Decode {
  return (v, s, e) => {
    if (lead) buffer.bytes[buffer.at++] = COMMA;
    boolFieldInto(buffer, parseBool(v, s, e));
  };
}

/** Text as the CSV writer writes it (`csv_fields.ts`), after a comma when `lead`. */
function textCell(buffer: CsvChunkBuffer, lead: boolean, alone: boolean): Decode {
  return (v, s, e) => {
    if (lead) buffer.bytes[buffer.at++] = COMMA;
    textFieldInto(buffer, v, s, e, alone);
  };
}

/** Binary as lowercase hex; zero bytes are the empty text `""`. */
function hexCell(buffer: CsvChunkBuffer, lead: boolean): Decode {
  return (v, s, e) => {
    if (lead) buffer.bytes[buffer.at++] = COMMA;
    hexFieldInto(buffer, v, s, e);
  };
}

/** A DATE, once parsed (a zero date fails), prints as the server sends it. */
function dateCell(buffer: CsvChunkBuffer, lead: boolean): Decode {
  return (v, s, e) => {
    parseDate(v, s, e);
    copy(buffer, lead, v, s, e);
  };
}

/**
 * A DATETIME or TIMESTAMP, once parsed (a zero date fails): `YYYY-MM-DD hh:mm:ss[.f]` becomes
 * `YYYY-MM-DDThh:mm:ss.ffffff`, plus `Z` when `zoned`.
 */
function dateTimeCell(buffer: CsvChunkBuffer, lead: boolean, zoned: boolean): Decode {
  return (v, s, e) => {
    parseDateTime(v, s, e);
    const out = buffer.bytes;
    let o = buffer.at;
    if (lead) out[o++] = COMMA;
    for (let i = s; i < s + 10; i++) out[o++] = v[i];
    out[o++] = UPPER_T;
    for (let i = s + 11; i < e; i++) out[o++] = v[i];
    // The parser accepted nothing, or `.` and 1 to 6 digits, after the seconds.
    if (e === s + 19) out[o++] = DOT;
    for (let digits = e === s + 19 ? 0 : e - s - 20; digits < 6; digits++) out[o++] = ZERO;
    if (zoned) out[o++] = UPPER_Z;
    buffer.at = o;
  };
}

/**
 * A TIME prints as the server sends it when that is how `durationText` prints it: hours of two
 * digits or without a leading zero, no `-` on a zero, the declared fraction digits.
 */
function timeCell(buffer: CsvChunkBuffer, lead: boolean, digits: number): Decode {
  return (v, s, e) => {
    const micros = parseTime(v, s, e);
    const from = s < e && v[s] === DASH ? s + 1 : s;
    const colon = v.indexOf(58, from);
    const hours = colon - from;
    const fraction = e - colon - 6;
    const ok = (hours === 2 || (hours > 2 && v[from] !== ZERO)) && (from === s || micros !== 0) &&
      (fraction === 0 ? digits === 0 : fraction === digits + 1);
    if (ok) copy(buffer, lead, v, s, e);
    else putText(buffer, lead, durationText(micros, digits));
  };
}
