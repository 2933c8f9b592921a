/**
 * The MySQL CSV passthrough's cells: each value of a binary row (`binary_row.ts`), given as the
 * bytes the server sent, written straight into the chunk's buffer (`csv_chunk.ts`) as its CSV
 * field, byte for byte what the CSV writer renders for the same value read into Arrow
 * (`binary_values.ts`, then `arrow/text.ts`; docs/types.md "CSV: text of values"), and failing with
 * the same errors.
 *
 * - Integers, dates, datetimes, timestamps and times are written from their bytes with the CSV
 *   writer's own digit writer (`csv_fields.ts`), once checked as the batches check them (zero
 *   dates fail): a DATETIME with `T` and six fraction digits, a TIMESTAMP also with `Z`, a TIME as
 *   `durationText` lays it out. TINYINT(1) becomes `true`/`false` through the same check. FLOAT is
 *   its four bytes, printed by `float32Into`; DOUBLE its eight, by `float64Into`.
 * - The types the binary protocol sends as the text protocol's bytes are copied once checked:
 *   DECIMAL(p ≤ 38, s) in canonical form (no leading zeros, no `-0`, exactly `s` fraction digits);
 *   text (CHAR, VARCHAR, TEXT, ENUM, SET, JSON, DECIMAL(p > 38)) quoted as RFC 4180 and the CSV
 *   writer say, once checked to be UTF-8 (only a cell holding a non-ASCII byte is checked); binary
 *   strings become lowercase hex.
 * A decimal that is not canonical (ZEROFILL, `-0.00`) and the types the passthrough is not
 * offered for (BIT, spatial: see {@link passesThrough}) go through the Arrow path's own decoder
 * and renderer, one value at a time.
 *
 * A cell writer also writes the comma before its field; the row reserves room first
 * (`csv_stream.ts`: twice the packet plus {@link CELL_SLACK} per column), so writers index the
 * buffer without bounds checks, except where a field may be longer (they reserve it).
 *
 * @module
 */
import type { Field, Schema } from "apache-arrow";
import {
  FLOAT32_TEXT_BYTES,
  float32Into,
  FLOAT64_TEXT_BYTES,
  float64Into,
} from "../../arrow/float_text.ts";
import {
  boolFieldInto,
  durationInto,
  hexFieldInto,
  int64Into,
  signedInto,
  textFieldInto,
} from "../../arrow/csv_fields.ts";
import { durationDigits, needsQuoting, rendererFor } from "../../arrow/text.ts";
import { isDigit } from "../../util/ascii_digit.ts";
import type { CsvChunkBuffer } from "./csv_chunk.ts";
import {
  float32At,
  float64At,
  packedDateTime,
  packedDays,
  packedTime,
  signed,
  smallIntOf,
  unsigned,
} from "./binary_values.ts";
import { createDecoders, type Decode, notBoolean } from "./decode.ts";
import type { CellTarget } from "./row_framing.ts";
import type { BinaryWire, MysqlColumn } from "./types.ts";

/**
 * The most a cell's field may exceed twice its bytes on the wire without reserving room itself,
 * comma included: `false` for a one-byte `0`, a DECIMAL's canonical copy, a NULL's comma.
 */
export const CELL_SLACK = 8;

const QUOTE = 34;
const COMMA = 44;
const DASH = 45;
const DOT = 46;
const ZERO = 48;
const COLON = 58;
const UPPER_T = 84;
const UPPER_Z = 90;
const encoder = new TextEncoder();

/** Whether `column`'s cells are written here rather than read as batches: not BIT or spatial. */
export function passesThrough(column: MysqlColumn): boolean {
  return column.kind !== "bit" && column.kind !== "geometry" && column.sourceType !== "bit(1)";
}

/**
 * The cell writer and NULL writer of every column of `schema` (from `createDecoders(columns)`),
 * whose values travel as `wires` says, writing into `buffer`, in column order.
 */
export function cellTargets(
  columns: readonly MysqlColumn[],
  wires: readonly BinaryWire[],
  schema: Schema,
  buffer: CsvChunkBuffer,
): CellTarget[] {
  return columns.map((column, c) => {
    const lead = c > 0;
    return {
      decode: cellWriter(column, wires[c], schema.fields[c], buffer, lead, columns.length === 1),
      builder: { appendNull: lead ? () => buffer.bytes[buffer.at++] = COMMA : () => {} },
    };
  });
}

function cellWriter(
  column: MysqlColumn,
  wire: BinaryWire,
  field: Field,
  buffer: CsvChunkBuffer,
  lead: boolean,
  alone: boolean,
): Decode {
  const slow = () => slowCell(buffer, lead, arrowText(column, field), needsQuoting(field.type));
  if (wire === "bytes") {
    switch (column.kind) {
      case "decimal":
        return decimalCell(buffer, lead, column.precision, column.scale, arrowText(column, field));
      case "text":
      case "null":
        return textCell(buffer, lead, alone);
      case "binary":
        return hexCell(buffer, lead);
      case "bool":
      case "bit":
      case "geometry":
        return slow();
    }
  } else {
    switch (column.kind) {
      case "bool":
        return boolCell(buffer, lead, wire);
      case "int16":
      case "int32":
        return intCell(buffer, lead, wire);
      case "int64":
      case "uint64":
        return wire === "i64" || wire === "u64"
          ? int64Cell(buffer, lead, wire === "i64")
          : intCell(buffer, lead, wire);
      case "float32":
        return floatCell(buffer, lead);
      case "float64":
        return doubleCell(buffer, lead);
      case "date":
        return dateCell(buffer, lead);
      case "datetime":
      case "timestamp":
        return dateTimeCell(buffer, lead, column.kind === "timestamp");
      case "time":
        return timeCell(buffer, lead, durationDigits(field));
    }
  }
  throw new Error(`no CSV cell for ${column.kind} sent as ${wire} (${column.sourceType})`);
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
    buffer.at = o;
    return;
  }
  // The texts are ASCII but for rare renderings; a loop beats the encoder's call on short ones.
  let k = 0;
  for (; k < text.length; k++) {
    const code = text.charCodeAt(k);
    if (code >= 128) break;
    out[o++] = code;
  }
  if (k < text.length) o += encoder.encodeInto(text.slice(k), out.subarray(o)).written;
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

/** The comma before a field, when `lead`. */
function comma(buffer: CsvChunkBuffer, lead: boolean): void {
  if (lead) buffer.bytes[buffer.at++] = COMMA;
}

/** An integer of 1 to 4 bytes. */
function intCell(buffer: CsvChunkBuffer, lead: boolean, wire: BinaryWire): Decode {
  return (v, s) => {
    comma(buffer, lead);
    signedInto(buffer, smallIntOf(wire, v, s));
  };
}

/** An integer of 8 bytes: the low word, then the high word (signed when `isSigned`). */
function int64Cell(buffer: CsvChunkBuffer, lead: boolean, isSigned: boolean): Decode {
  return (v, s) => {
    comma(buffer, lead);
    const high = isSigned ? signed(v, s + 4, 4) : unsigned(v, s + 4, 4);
    int64Into(buffer, unsigned(v, s, 4), high, isSigned);
  };
}

/** A FLOAT's four bytes, printed as `float_text.ts` prints a float32. */
function floatCell(buffer: CsvChunkBuffer, lead: boolean): Decode {
  return (v, s) => {
    buffer.reserve(FLOAT32_TEXT_BYTES + 1);
    comma(buffer, lead);
    buffer.at = float32Into(buffer.bytes, buffer.at, float32At(v, s), 0);
  };
}

/** A DOUBLE's eight bytes, printed as `float_text.ts` prints a double. */
function doubleCell(buffer: CsvChunkBuffer, lead: boolean): Decode {
  return (v, s) => {
    buffer.reserve(FLOAT64_TEXT_BYTES + 1);
    comma(buffer, lead);
    buffer.at = float64Into(buffer.bytes, buffer.at, float64At(v, s), 0);
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

/** A TINYINT(1): `true` or `false`, and anything but 0 and 1 fails as the batches fail. */
function boolCell(buffer: CsvChunkBuffer, lead: boolean, wire: BinaryWire): Decode {
  return (v, s) => {
    const n = smallIntOf(wire, v, s);
    if (n !== 0 && n !== 1) throw notBoolean();
    comma(buffer, lead);
    boolFieldInto(buffer, n === 1);
  };
}

/** Text as the CSV writer writes it (`csv_fields.ts`), after a comma when `lead`. */
function textCell(buffer: CsvChunkBuffer, lead: boolean, alone: boolean): Decode {
  return (v, s, e) => {
    comma(buffer, lead);
    textFieldInto(buffer, v, s, e, alone);
  };
}

/** Binary as lowercase hex; zero bytes are the empty text `""`. */
function hexCell(buffer: CsvChunkBuffer, lead: boolean): Decode {
  return (v, s, e) => {
    comma(buffer, lead);
    hexFieldInto(buffer, v, s, e);
  };
}

/**
 * Writes the packed date at `v[s]` as `YYYY-MM-DD`: the year (0 to 9999) of four digits, as the
 * CSV writer writes it. The date must be checked first.
 */
function packedDateInto(out: Uint8Array, o: number, v: Uint8Array, s: number): number {
  const year = v[s] | (v[s + 1] << 8);
  const century = (year / 100) | 0;
  o = twoDigits(out, o, century);
  o = twoDigits(out, o, year - 100 * century);
  out[o++] = DASH;
  o = twoDigits(out, o, v[s + 2]);
  out[o++] = DASH;
  return twoDigits(out, o, v[s + 3]);
}

/** Writes `0 <= n < 100` as two digits at `o`; returns the index past them. */
function twoDigits(out: Uint8Array, o: number, n: number): number {
  const tens = (n / 10) | 0;
  out[o] = ZERO + tens;
  out[o + 1] = ZERO + n - 10 * tens;
  return o + 2;
}

/** Room for a comma and `YYYY-MM-DDThh:mm:ss.ffffffZ`. */
const DATE_TIME_BYTES = 28;

/** A DATE, once checked (a zero date fails), as `YYYY-MM-DD`. */
function dateCell(buffer: CsvChunkBuffer, lead: boolean): Decode {
  return (v, s, e) => {
    packedDays(v, s, e - s, "date");
    buffer.reserve(DATE_TIME_BYTES);
    comma(buffer, lead);
    buffer.at = packedDateInto(buffer.bytes, buffer.at, v, s);
  };
}

/**
 * A DATETIME or TIMESTAMP, once checked (a zero date fails), as `YYYY-MM-DDThh:mm:ss.ffffff`,
 * plus `Z` when `zoned`; the packed value leaves out a zero clock and a zero fraction.
 */
function dateTimeCell(buffer: CsvChunkBuffer, lead: boolean, zoned: boolean): Decode {
  return (v, s, e) => {
    const length = e - s;
    packedDateTime(v, s, length);
    buffer.reserve(DATE_TIME_BYTES);
    comma(buffer, lead);
    const out = buffer.bytes;
    let o = packedDateInto(out, buffer.at, v, s);
    out[o++] = UPPER_T;
    o = twoDigits(out, o, length >= 7 ? v[s + 4] : 0);
    out[o++] = COLON;
    o = twoDigits(out, o, length >= 7 ? v[s + 5] : 0);
    out[o++] = COLON;
    o = twoDigits(out, o, length >= 7 ? v[s + 6] : 0);
    out[o++] = DOT;
    const micros = length === 11 ? unsigned(v, s + 7, 4) : 0;
    const high = (micros / 10_000) | 0;
    const low = micros - 10_000 * high;
    const mid = (low / 100) | 0;
    o = twoDigits(out, o, high);
    o = twoDigits(out, o, mid);
    o = twoDigits(out, o, low - 100 * mid);
    if (zoned) out[o++] = UPPER_Z;
    buffer.at = o;
  };
}

/** A TIME, as `durationText` prints it with the declared fraction `digits`. */
function timeCell(buffer: CsvChunkBuffer, lead: boolean, digits: number): Decode {
  return (v, s, e) => {
    const micros = packedTime(v, s, e);
    comma(buffer, lead);
    durationInto(buffer, micros, digits);
  };
}
