/**
 * The byte pass over whole records of `COPY ... TO STDOUT (FORMAT csv)` (see `csv_framing.ts`):
 * PostgreSQL's CSV in, rivet's CSV out, byte for byte what the CSV writer makes of the same rows
 * read into Arrow.
 *
 * PostgreSQL's CSV already follows rivet's rules for everything but a few types: NULL is an empty
 * unquoted field and an empty string `""`, a field is quoted when it holds `,` `"` CR or LF (and
 * `\.` alone in a one-column file), integers, floats (see `arrow/float_text.ts`), text, JSON,
 * uuids and every type exported as its text (intervals, money, ranges, geometric types, ...) print
 * as they are. The pass rewrites the rest in the bytes:
 * - `bool` `t`/`f` becomes `true`/`false`;
 * - `bytea` `\x0a1b` loses its `\x` (zero bytes become `""`);
 * - `timestamp` `2024-01-02 03:04:05.5` becomes `2024-01-02T03:04:05.500000`, `timestamptz` the
 *   same with `Z` for `+00` (the session's time zone is UTC), `time` gets six fraction digits;
 * - `numeric(p,s)` and `date` print as they are, once checked: NaN has no Decimal128 form, and BC
 *   dates, `infinity` and such are left to `csv_value.ts`.
 * What the bytes cannot do simply (BC years, years past 99999, arrays, values that must fail) goes
 * through `csv_value.ts`, one value at a time, with the Arrow path's parsers, renderers and errors.
 *
 * Only the fields up to the last column that needs the pass are parsed; the rest of each record,
 * like every field that needs nothing, is copied in bulk, and a chunk in which nothing changed is
 * returned as it came.
 *
 * @module
 */
import { TypeMappingError } from "../../errors.ts";
import { isDigit } from "../../util/ascii_digit.ts";
import { csvField } from "../../writer/csv.ts";
import { inColumn } from "./columns.ts";
import type { Records } from "./copy_rows.ts";
import { byteaCsv, dateCsv, decimalCsv, listCsv, timestampCsv } from "./csv_value.ts";
import type { PgColumn } from "./types.ts";

/** How a column's fields are rewritten. */
const enum Rule {
  Keep,
  Decimal,
  Bool,
  Bytea,
  Date,
  Timestamp,
  Timestamptz,
  Time,
  List,
}

function ruleOf(column: PgColumn): Rule {
  if (column.isArray) return Rule.List;
  switch (column.scalar.kind) {
    case "bool":
      return Rule.Bool;
    case "decimal":
      return Rule.Decimal;
    case "bytea":
      return Rule.Bytea;
    case "date":
      return Rule.Date;
    case "timestamp":
      return Rule.Timestamp;
    case "timestamptz":
      return Rule.Timestamptz;
    case "time":
      return Rule.Time;
    default:
      return Rule.Keep;
  }
}

/**
 * The most an in-place rewrite adds to a field: `f` becomes `false` (+4), a clock without a
 * fraction gets `.000000` (+7); the rest add less or shrink. So the output never needs more than
 * the input plus this much per rewritten field, and the hot loop writes without bounds checks.
 */
const GROWTH = 8;

const QUOTE = 34;
const COMMA = 44;
const SPACE = 32;
const COLON = 58;
const DOT = 46;
const DASH = 45;
const PLUS = 43;
const ZERO = 48;
const BACKSLASH = 92;
const LOWER_X = 120;
const LOWER_T = 116;
const UPPER_T = 84;
const UPPER_Z = 90;
const TRUE = new TextEncoder().encode("true");
const FALSE = new TextEncoder().encode("false");

const latin1 = new TextDecoder("latin1");
// ignoreBOM: a value that starts with U+FEFF keeps it (by default a decoder drops it).
const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
const encoder = new TextEncoder();

/**
 * Largest output buffer kept from one block to the next. A block is the records of one network
 * chunk (tens of KB), or one record that arrived across several; only such a record needs more.
 */
const KEEP_BYTES = 4 * 1024 * 1024;

/** Rewrites the records of a COPY csv stream of `columns`. */
export class CsvRewriter {
  readonly #columns: readonly PgColumn[];
  readonly #rules: Rule[];
  /** The last column that needs the pass; -1 when none does. */
  readonly #lastRule: number;
  /** How many columns need the pass. */
  readonly #ruled: number;
  /** What the block's in-place rewrites may add to its length (see {@link GROWTH}). */
  #slack = 0;
  /** The output from its start; past `#room`, the block being rewritten (see `#copy`). */
  #out = new Uint8Array(1 << 16);
  #o = 0;
  /** How far the output may reach: every write stays below it. */
  #room = 0;
  /** Where the block's copy starts in `#out`, once made; -1 before. */
  #input = -1;
  #inputLength = 0;
  /** Where each output record ends. */
  #ends = new Int32Array(1 << 12);

  constructor(columns: readonly PgColumn[]) {
    this.#columns = columns;
    this.#rules = columns.map(ruleOf);
    this.#lastRule = this.#rules.findLastIndex((r) => r !== Rule.Keep);
    this.#ruled = this.#rules.filter((r) => r !== Rule.Keep).length;
  }

  /**
   * `records` in rivet's conventions; valid until the next call (they may be the input itself).
   */
  rewrite(records: Records): Records {
    const { bytes: buf, rows, ends } = records;
    const lastRule = this.#lastRule;
    if (lastRule < 0) return records;
    if (this.#ends.length < rows) {
      this.#ends = new Int32Array(Math.max(rows, 2 * this.#ends.length));
    }
    const outEnds = this.#ends;
    const rules = this.#rules;
    const lastColumn = rules.length - 1;
    this.#slack = GROWTH * rows * this.#ruled + 64;
    // The last block's output is spent: a buffer grown for an outsized record is let go, rather
    // than held for the rest of the export.
    if (this.#out.length > KEEP_BYTES) this.#out = new Uint8Array(1 << 16);
    this.#input = -1;
    this.#room = 0;
    this.#reserve(0, buf.length + this.#slack);
    this.#o = 0;
    /** Start of the input not yet copied to the output. */
    let span = 0;
    let start = 0;
    let c = 0;
    try {
      for (let r = 0; r < rows; r++) {
        const end = ends[r];
        let at = start;
        for (c = 0; c <= lastRule; c++) {
          const s = at;
          const quoted = buf[at] === QUOTE;
          if (c === lastColumn) at = end - 1;
          else if (quoted) at = closingQuote(buf, at + 1);
          // Unquoted, a field holds no comma; the one after it is there (not the last field).
          else while (buf[at] !== COMMA) at++;
          const rule = rules[c];
          // An empty unquoted field is NULL, whatever the type; a quoted one is never empty.
          if (rule === Rule.Keep || at === s) {
            at++;
            continue;
          }
          // The checks that almost never rewrite anything come first, inline.
          if (rule === Rule.Decimal) {
            // The only numeric outputs that do not end in a digit are NaN and the infinities.
            if (!isDigit(buf[at - 1])) decimalCsv(latin1.decode(buf.subarray(s, at)));
          } else if (rule === Rule.Date) {
            // AD dates print as rivet writes them; BC ones (`... BC`) and `infinity` do not.
            if (!isDigit(buf[s]) || !isDigit(buf[at - 1])) {
              span = this.#text(buf, s, at, span, dateCsv(latin1.decode(buf.subarray(s, at))));
            }
          } else {
            span = this.#field(rule, c, buf, s, at, span, quoted);
          }
          at++;
        }
        // The input from `span` to the record's end goes out as it is.
        outEnds[r] = this.#o + (end - span);
        start = end;
      }
    } catch (error) {
      throw inColumn(error, this.#columns[c]);
    }
    if (span === 0 && this.#o === 0) return records;
    this.#copy(buf, span, buf.length);
    // The output buffer is reused for the next call.
    return { bytes: this.#out.subarray(0, this.#o), rows, ends: outEnds, owned: false };
  }

  /**
   * Writes field `c` (`buf[s..e)`) rewritten by `rule` (one that always rewrites), copying the
   * input before it from `span` on first; returns where the input not yet copied now starts.
   */
  #field(
    rule: Rule,
    c: number,
    buf: Uint8Array,
    s: number,
    e: number,
    span: number,
    quoted: boolean,
  ): number {
    switch (rule) {
      case Rule.Bool:
        this.#copy(buf, span, s);
        this.#bytes(buf[s] === LOWER_T ? TRUE : FALSE);
        return e;
      case Rule.Bytea:
        if (e - s < 2 || buf[s] !== BACKSLASH || buf[s + 1] !== LOWER_X) {
          byteaCsv(latin1.decode(buf.subarray(s, e)));
        }
        this.#copy(buf, span, s);
        if (e - s === 2) {
          this.#byte(QUOTE);
          this.#byte(QUOTE);
          return e;
        }
        return s + 2;
      case Rule.Timestamp:
      case Rule.Timestamptz:
        return this.#timestamp(rule === Rule.Timestamptz, buf, s, e, span);
      case Rule.Time:
        this.#copy(buf, span, e);
        this.#fraction(buf, s + 8, e);
        return e;
      case Rule.List: {
        const column = this.#columns[c];
        const text = quoted ? unquote(buf.subarray(s, e)) : utf8.decode(buf.subarray(s, e));
        const json = listCsv(column.scalar.kind, column.delimiter, text);
        return this.#text(buf, s, e, span, csvField(json));
      }
      default:
        return span;
    }
  }

  /**
   * `YYYY-MM-DD HH:MM:SS[.f]` (4- or 5-digit AD year), plus `+00` when `zoned`, rewritten in
   * place; anything else through the exact parser.
   */
  #timestamp(zoned: boolean, buf: Uint8Array, s: number, e: number, span: number): number {
    let p = s;
    while (p < e && isDigit(buf[p])) p++;
    const year = p - s;
    const clockEnd = zoned ? e - 3 : e;
    const space = p + 6;
    const fast = (year === 4 || year === 5) && buf[p] === DASH && buf[space] === SPACE &&
      buf[space + 3] === COLON && buf[space + 6] === COLON && clockEnd >= space + 9 &&
      isDigit(buf[clockEnd - 1]) &&
      (!zoned || (buf[e - 3] === PLUS && buf[e - 2] === ZERO && buf[e - 1] === ZERO));
    if (!fast) {
      const text = latin1.decode(buf.subarray(s, e));
      return this.#text(buf, s, e, span, timestampCsv(text, zoned ? "Z" : ""));
    }
    this.#copy(buf, span, space);
    this.#byte(UPPER_T);
    this.#copy(buf, space + 1, clockEnd);
    this.#fraction(buf, space + 9, clockEnd);
    if (zoned) this.#byte(UPPER_Z);
    return e;
  }

  /** Pads the fraction after a clock (`buf[at..end)`: nothing, or `.` and 1–6 digits) to six. */
  #fraction(buf: Uint8Array, at: number, end: number): void {
    let digits = 0;
    if (at === end) this.#byte(DOT);
    else if (buf[at] === DOT) digits = end - at - 1;
    else throw new TypeMappingError("unexpected time text from the server");
    for (; digits < 6; digits++) this.#byte(ZERO);
  }

  /** Writes `text` in place of `buf[s..e)`; returns the new start of the uncopied input. */
  #text(buf: Uint8Array, s: number, e: number, span: number, text: string): number {
    this.#copy(buf, span, s);
    // UTF-8 takes at most three bytes per UTF-16 unit.
    this.#reserve(this.#o, text.length * 3 + (buf.length - e) + this.#slack);
    this.#o += encoder.encodeInto(text, this.#out.subarray(this.#o, this.#room)).written;
    return e;
  }

  /**
   * Copies `buf[from, to)` to the output. Short spans go byte by byte; longer ones with
   * `copyWithin` from a copy of the block in the output's own buffer, made on first need:
   * `set(buf.subarray(...))` would make a view object per span, two or three per record, which
   * was two thirds of all the garbage of a PostgreSQL → CSV export.
   */
  #copy(buf: Uint8Array, from: number, to: number): void {
    const length = to - from;
    if (length <= 0) return;
    let o = this.#o;
    if (length < 16) {
      const out = this.#out;
      for (let k = from; k < to; k++) out[o++] = buf[k];
    } else {
      if (this.#input < 0) this.#keepInput(buf);
      this.#out.copyWithin(o, this.#input + from, this.#input + to);
      o += length;
    }
    this.#o = o;
  }

  /** Copies the block past the output's room, for `#copy`. */
  #keepInput(buf: Uint8Array): void {
    const end = this.#room + buf.length;
    if (end > this.#out.length) this.#grow(end, this.#o);
    this.#out.set(buf, this.#room);
    this.#input = this.#room;
    this.#inputLength = buf.length;
  }

  #byte(b: number): void {
    this.#out[this.#o++] = b;
  }

  #bytes(bytes: Uint8Array): void {
    for (let k = 0; k < bytes.length; k++) this.#out[this.#o++] = bytes[k];
  }

  /**
   * Replaces `#out` by a buffer of at least `size` bytes (twice the old one at least) that starts
   * with the old one's first `keep` bytes; returns the old one.
   */
  #grow(size: number, keep: number): Uint8Array {
    const old = this.#out;
    this.#out = new Uint8Array(Math.max(size, old.length * 2));
    this.#out.set(old.subarray(0, keep));
    return old;
  }

  /**
   * Makes room for `more` bytes after the first `keep` written ones, moving the block's copy
   * (if made) past the new room.
   */
  #reserve(keep: number, more: number): void {
    const room = Math.max(keep + more, this.#room);
    const input = this.#input;
    const length = input < 0 ? 0 : this.#inputLength;
    if (room + length > this.#out.length) {
      const old = this.#grow(room + length, keep);
      if (input >= 0) this.#out.set(old.subarray(input, input + length), room);
    } else if (input >= 0 && room !== input) {
      this.#out.copyWithin(room, input, input + length);
    }
    this.#room = room;
    if (input >= 0) this.#input = room;
  }
}

/**
 * Index just past the quote closing the quoted field whose content starts at `at` (`""` is an
 * escaped quote). The records are whole, so the closing quote is there.
 */
export function closingQuote(buf: Uint8Array, at: number): number {
  for (;;) {
    const q = buf.indexOf(QUOTE, at);
    if (buf[q + 1] !== QUOTE) return q + 1;
    at = q + 2;
  }
}

/** A field's text: its content unquoted (`""` read as `"`) when quoted, else as is. */
export function unquote(field: Uint8Array): string {
  const text = utf8.decode(field);
  return text.charCodeAt(0) === QUOTE ? text.slice(1, -1).replaceAll('""', '"') : text;
}
