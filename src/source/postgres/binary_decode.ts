/**
 * Decodes a `COPY ... TO STDOUT (FORMAT binary)` byte stream, or the rows of a BINARY cursor,
 * straight into the column sinks.
 *
 * Chunks arrive split anywhere. The decoder first scans whole tuples (field offsets only), then
 * decodes column by column from the raw bytes with a DataView, so no JS value is created per field
 * except where Arrow needs one. Formats: PostgreSQL docs "COPY, Binary Format" and the types'
 * `*send` functions. Columns whose binary form is not their text arrive as text (see
 * `binarySelect`).
 *
 * @module
 */
import { releaseBuffer } from "../../util/release_buffer.ts";
import { TypeMappingError } from "../../errors.ts";
import { pendingBytes } from "../../arrow/batch.ts";
import type { ColumnBuilder } from "../../arrow/builder.ts";
import type { BatchBudget } from "../batch_budget.ts";
import type { Decimal128Builder } from "../../arrow/decimal.ts";
import type { NumberBuilder } from "../../arrow/fixed.ts";
import type { Int64Builder } from "../../arrow/int64.ts";
import type { Utf8Builder } from "../../arrow/utf8.ts";
import { DAYS_1970_TO_2000, SECONDS_PER_DAY } from "../../arrow/temporal.ts";
import {
  buildersOf,
  type ColumnSink,
  inColumn,
  type ScalarSink,
  unrepresentable,
} from "./columns.ts";
import { appendArrayText } from "./text_decode.ts";
import { malformedRows, type RowMessages } from "./copy_rows.ts";
import type { PgColumn } from "./types.ts";

/** `PGCOPY\n\377\r\n\0`, then int32 flags and int32 header-extension length. */
const SIGNATURE = [0x50, 0x47, 0x43, 0x4f, 0x50, 0x59, 0x0a, 0xff, 0x0d, 0x0a, 0x00];
const HEADER_BYTES = 19;
/** Tuples scanned per pass: bounds the offset tables whatever the batch size. */
const SCAN_ROWS = 2048;

const TWO_32 = 4294967296;
/** Microseconds from 1970-01-01 to 2000-01-01, PostgreSQL's timestamp epoch, as two words. */
const EPOCH_MICROS = DAYS_1970_TO_2000 * SECONDS_PER_DAY * 1e6;
const EPOCH_HIGH = Math.floor(EPOCH_MICROS / TWO_32);
const EPOCH_LOW = EPOCH_MICROS - EPOCH_HIGH * TWO_32;

const NUMERIC_POS = 0x0000;
const NUMERIC_NEG = 0x4000;
const NUMERIC_NAN = 0xc000;
const NUMERIC_PINF = 0xd000;
const POW10 = [1, 10, 100, 1000, 10000];

const HEX_DIGITS = new TextEncoder().encode("0123456789abcdef");
// ignoreBOM: a value that starts with U+FEFF keeps it (by default a decoder drops it).
const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/**
 * A value whose length its type does not allow. The value decoders do not know whether they read
 * COPY data or FETCH rows; the decoder turns this into `malformedRows` for the one it reads.
 */
class WrongLength extends Error {}

function expectLength(actual: number, expected: number): void {
  if (actual !== expected) {
    throw new WrongLength(`a ${expected}-byte value arrived as ${actual} bytes`);
  }
}

function appendTimestamp(b: Int64Builder, view: DataView, at: number): void {
  const high = view.getInt32(at);
  const low = view.getUint32(at + 4);
  if (high === 0x7fffffff && low === 0xffffffff) throw unrepresentable("the value infinity");
  if (high === -0x80000000 && low === 0) throw unrepresentable("the value -infinity");
  const sum = low + EPOCH_LOW;
  const carry = sum >= TWO_32 ? 1 : 0;
  const shifted = high + EPOCH_HIGH + carry;
  // PostgreSQL counts from 2000 and allows years up to 294276; from 1970 that can pass 2^63.
  if (shifted > 0x7fffffff) throw unrepresentable("a timestamp after year 294247");
  b.appendWords((sum - carry * TWO_32) | 0, shifted);
}

function appendDate(b: NumberBuilder, view: DataView, at: number): void {
  const days = view.getInt32(at);
  if (days === 0x7fffffff) throw unrepresentable("the value infinity");
  if (days === -0x80000000) throw unrepresentable("the value -infinity");
  b.appendValue(days + DAYS_1970_TO_2000);
}

/**
 * numeric_send: int16 ndigits, int16 weight, uint16 sign, uint16 dscale, then ndigits base-10000
 * digits, the first worth 10000^weight. Groups are contiguous; zero groups at either end are
 * left out.
 */
function appendNumeric(b: Decimal128Builder, view: DataView, at: number, length: number): void {
  const ndigits = view.getUint16(at);
  expectLength(length, 8 + 2 * ndigits);
  const weight = view.getInt16(at + 2);
  const sign = view.getUint16(at + 4);
  if (sign === NUMERIC_NAN) throw unrepresentable("the value NaN");
  if (sign !== NUMERIC_POS && sign !== NUMERIC_NEG) {
    throw unrepresentable(sign === NUMERIC_PINF ? "the value Infinity" : "the value -Infinity");
  }
  const scale = b.scale;
  b.beginValue();
  let fraction = 0;
  for (let i = 0; i < ndigits; i++) {
    const digit = view.getUint16(at + 8 + 2 * i);
    const power = weight - i;
    if (power >= 0) {
      b.pushDigits(digit, 4);
      continue;
    }
    // Fraction digits that precede this group; only the first `keep` of its four are in scale.
    const before = (-power - 1) * 4;
    const keep = Math.min(4, scale - before);
    const drop = POW10[4 - Math.max(keep, 0)];
    const kept = Math.floor(digit / drop);
    if (kept * drop !== digit) {
      throw new TypeMappingError(
        `a value has more fraction digits than decimal(${b.precision},${scale}) holds`,
      );
    }
    if (keep > 0) {
      b.pushDigits(kept, keep);
      fraction = before + keep;
    }
  }
  for (let power = weight - ndigits; power >= 0; power--) b.pushDigits(0, 4);
  b.endValue(sign === NUMERIC_NEG, fraction);
}

function appendUuid(b: Utf8Builder, bytes: Uint8Array, at: number): void {
  const out = b.reserve(36);
  const buf = b.bytes;
  let o = out;
  for (let i = 0; i < 16; i++) {
    if (i === 4 || i === 6 || i === 8 || i === 10) buf[o++] = 45; // -
    const v = bytes[at + i];
    buf[o++] = HEX_DIGITS[v >> 4];
    buf[o++] = HEX_DIGITS[v & 15];
  }
  b.commit(36);
}

/** Appends one non-NULL value of `length` bytes at `at`. */
function appendValue(
  sink: ScalarSink,
  view: DataView,
  bytes: Uint8Array,
  at: number,
  length: number,
): void {
  switch (sink.kind) {
    case "bool":
      expectLength(length, 1);
      sink.b.appendValue(bytes[at] !== 0);
      return;
    case "int16":
      expectLength(length, 2);
      sink.b.appendValue(view.getInt16(at));
      return;
    case "int32":
      expectLength(length, 4);
      sink.b.appendValue(view.getInt32(at));
      return;
    case "float32":
      expectLength(length, 4);
      sink.b.appendValue(view.getFloat32(at));
      return;
    case "float64":
      expectLength(length, 8);
      sink.b.appendValue(view.getFloat64(at));
      return;
    case "date":
      expectLength(length, 4);
      appendDate(sink.b, view, at);
      return;
    case "int64":
    case "time":
      expectLength(length, 8);
      sink.b.appendWords(view.getInt32(at + 4), view.getInt32(at));
      return;
    case "oid":
      expectLength(length, 4);
      sink.b.appendNumber(view.getUint32(at));
      return;
    case "timestamp":
    case "timestamptz":
      expectLength(length, 8);
      appendTimestamp(sink.b, view, at);
      return;
    case "decimal":
      appendNumeric(sink.b, view, at, length);
      return;
    case "text":
    case "bytea":
      sink.b.appendBytes(bytes, at, at + length);
      return;
    case "uuid":
      expectLength(length, 16);
      appendUuid(sink.b, bytes, at);
      return;
  }
}

/** array_send: int32 ndim, int32 has-nulls, int32 element OID, ndim x (size, lower bound), items. */
function appendArray(
  sink: Extract<ColumnSink, { kind: "list" }>,
  view: DataView,
  bytes: Uint8Array,
  at: number,
): void {
  const ndim = view.getInt32(at);
  if (ndim > 1) {
    throw new TypeMappingError("holds a multi-dimensional array, which has no exact List mapping");
  }
  if (ndim === 1) {
    const count = view.getInt32(at + 12);
    const element = sink.element;
    let p = at + 20;
    for (let i = 0; i < count; i++) {
      const length = view.getInt32(p);
      p += 4;
      if (length < 0) element.b.appendNull();
      else {
        appendValue(element, view, bytes, p, length);
        p += length;
      }
    }
  }
  sink.b.endList();
}

/**
 * Incremental decoder of one COPY binary stream into batches of `batchRows` rows, or fewer when a
 * memory budget fills first. Or of a BINARY cursor's rows (`fetch`): the same tuples, without the
 * file header and the end-of-data marker; the caller says where they end ({@link end}).
 */
export class CopyBinaryDecoder {
  readonly #columns: readonly PgColumn[];
  readonly #sinks: readonly ColumnSink[];
  readonly #batchRows: number;
  readonly #budget: BatchBudget | undefined;
  readonly #builders: readonly ColumnBuilder[];
  #buf: Uint8Array = new Uint8Array(0);
  /** `#buf` may be released once decoded past (see {@link push}). */
  #bufOwned = false;
  #view = new DataView(this.#buf.buffer);
  #pos = 0;
  #pending: Uint8Array[] = [];
  #pendingOwned: boolean[] = [];
  #pendingBytes = 0;
  /** Bytes needed from `#pos` before decoding can make progress. */
  #need = HEADER_BYTES;
  #headerDone: boolean;
  #trailerSeen = false;
  readonly #messages: RowMessages;
  #rows = 0;
  /** The next tuple does not fit the memory budget: the batch is complete. */
  #full = false;
  readonly #starts: Int32Array;
  readonly #lengths: Int32Array;

  constructor(
    columns: readonly PgColumn[],
    sinks: readonly ColumnSink[],
    batchRows: number,
    budget?: BatchBudget,
    messages: RowMessages = "copy",
  ) {
    this.#messages = messages;
    this.#headerDone = messages === "fetch";
    if (this.#headerDone) this.#need = 2;
    this.#columns = columns;
    this.#sinks = sinks;
    this.#batchRows = batchRows;
    this.#budget = budget;
    this.#builders = buildersOf(sinks);
    this.#starts = new Int32Array(SCAN_ROWS * sinks.length);
    this.#lengths = new Int32Array(SCAN_ROWS * sinks.length);
  }

  /** Rows decoded into the sinks since the last batch was taken. */
  get rows(): number {
    return this.#rows;
  }

  /** Resets the row count after the caller finished the sinks into a batch. */
  batchTaken(): void {
    this.#rows = 0;
    this.#full = false;
  }

  /**
   * Queues the next chunk of COPY data (any split). `owned`: nothing else uses the chunk's buffer,
   * so the decoder releases it once decoded (`util/release_buffer.ts`): the main thread, busy with
   * few allocations of its own, would otherwise let tens of MB of spent socket bytes pile up.
   */
  push(chunk: Uint8Array, owned = false): void {
    if (chunk.length === 0) return;
    if (this.#trailerSeen) throw malformedRows("data after the end-of-data marker", this.#messages);
    this.#pending.push(chunk);
    this.#pendingOwned.push(owned);
    this.#pendingBytes += chunk.length;
  }

  /**
   * Decodes what is buffered. Returns true when a full batch is ready (finish the sinks, call
   * {@link batchTaken}, then call again); false when more input is needed or the data ended.
   */
  decode(): boolean {
    while (!this.#trailerSeen && !this.#full && this.#rows < this.#batchRows && this.#fill()) {
      if (!this.#headerDone) {
        this.#readHeader();
        continue;
      }
      const start = this.#pos;
      const before = this.#budget === undefined ? 0 : pendingBytes(this.#builders);
      const scanned = this.#scan(Math.min(SCAN_ROWS, this.#batchRows - this.#rows), before);
      if (scanned > 0) {
        this.#decodeRows(scanned);
        this.#rows += scanned;
        this.#budget?.measure(scanned, pendingBytes(this.#builders) - before, this.#pos - start);
      }
    }
    return this.#full || this.#rows === this.#batchRows;
  }

  /**
   * Checks that the stream ended exactly at the end-of-data marker; for a cursor's rows, that the
   * last one was whole (call once {@link decode} returned false after the last rows).
   */
  end(): void {
    if (this.#messages === "copy" && !this.#trailerSeen) {
      throw malformedRows("the stream ended before the end-of-data marker");
    }
    if (this.#pendingBytes > 0 || this.#pos < this.#buf.length) {
      throw malformedRows("data after the end-of-data marker", this.#messages);
    }
  }

  /** Makes `#need` bytes contiguous at `#pos` when they are available; false otherwise. */
  #fill(): boolean {
    const remaining = this.#buf.length - this.#pos;
    if (remaining >= this.#need) return true;
    if (remaining + this.#pendingBytes < this.#need) return false;
    let merged: Uint8Array;
    let owned: boolean;
    if (remaining === 0 && this.#pending.length === 1) {
      merged = this.#pending[0];
      owned = this.#pendingOwned[0];
    } else {
      merged = new Uint8Array(remaining + this.#pendingBytes);
      owned = true;
      merged.set(this.#buf.subarray(this.#pos));
      let o = remaining;
      for (const [i, chunk] of this.#pending.entries()) {
        merged.set(chunk, o);
        o += chunk.length;
        if (this.#pendingOwned[i]) releaseBuffer(chunk);
      }
    }
    // Every value read from the old buffer was copied into the builders.
    if (this.#bufOwned) releaseBuffer(this.#buf);
    this.#pending = [];
    this.#pendingOwned = [];
    this.#pendingBytes = 0;
    this.#buf = merged;
    this.#bufOwned = owned;
    this.#view = new DataView(merged.buffer, merged.byteOffset, merged.byteLength);
    this.#pos = 0;
    return true;
  }

  #readHeader(): void {
    const at = this.#pos;
    for (let i = 0; i < SIGNATURE.length; i++) {
      if (this.#buf[at + i] !== SIGNATURE[i]) throw malformedRows("bad signature");
    }
    const total = HEADER_BYTES + this.#view.getInt32(at + 15);
    if (this.#buf.length - at < total) {
      this.#need = total;
      return;
    }
    this.#pos = at + total;
    this.#headerDone = true;
    this.#need = 2;
  }

  /**
   * Records field offsets of up to `room` complete tuples; returns how many. With a memory budget
   * it also stops before a tuple whose predicted size (from its bytes on the wire) does not fit
   * next to the `bytes` the batch holds, and after the first tuple of all (to calibrate).
   */
  #scan(room: number, bytes: number): number {
    const budget = this.#budget;
    const view = this.#view;
    const end = this.#buf.length;
    const ncols = this.#sinks.length;
    const starts = this.#starts;
    const lengths = this.#lengths;
    let p = this.#pos;
    let k = 0;
    while (k < room) {
      if (p + 2 > end) {
        this.#need = 2;
        break;
      }
      const fields = view.getInt16(p);
      if (fields === -1) {
        this.#trailerSeen = true;
        p += 2;
        break;
      }
      if (fields !== ncols) {
        throw malformedRows(`a row has ${fields} fields, expected ${ncols}`, this.#messages);
      }
      let q = p + 2;
      let complete = true;
      const base = k * ncols;
      for (let c = 0; c < ncols; c++) {
        if (q + 4 > end) {
          complete = false;
          q += 4;
          break;
        }
        const length = view.getInt32(q);
        q += 4;
        starts[base + c] = q;
        lengths[base + c] = length;
        if (length > 0) q += length;
      }
      if (!complete || q > end) {
        this.#need = q - p;
        break;
      }
      if (budget !== undefined) {
        const rowBytes = budget.predict(q - p);
        if (rowBytes === undefined) {
          room = k + 1;
        } else if (budget.fits(this.#rows + k, bytes, rowBytes)) {
          bytes += rowBytes;
        } else {
          this.#full = true;
          this.#need = 2;
          break;
        }
      }
      p = q;
      k++;
    }
    this.#pos = p;
    if (k === room) this.#need = 2;
    return k;
  }

  #decodeRows(count: number): void {
    for (let c = 0; c < this.#sinks.length; c++) {
      try {
        this.#decodeColumn(c, count);
      } catch (error) {
        if (error instanceof WrongLength) throw malformedRows(error.message, this.#messages);
        throw inColumn(error, this.#columns[c]);
      }
    }
  }

  #decodeColumn(c: number, count: number): void {
    const sink = this.#sinks[c];
    const view = this.#view;
    const bytes = this.#buf;
    const starts = this.#starts;
    const lengths = this.#lengths;
    const stride = this.#sinks.length;
    // The hottest kinds get their own loop so each call site stays monomorphic.
    switch (sink.kind) {
      case "int32": {
        const b = sink.b;
        for (let r = 0, i = c; r < count; r++, i += stride) {
          if (lengths[i] < 0) b.appendNull();
          else {
            expectLength(lengths[i], 4);
            b.appendValue(view.getInt32(starts[i]));
          }
        }
        return;
      }
      case "int64": {
        const b = sink.b;
        for (let r = 0, i = c; r < count; r++, i += stride) {
          if (lengths[i] < 0) b.appendNull();
          else {
            expectLength(lengths[i], 8);
            b.appendWords(view.getInt32(starts[i] + 4), view.getInt32(starts[i]));
          }
        }
        return;
      }
      case "float64": {
        const b = sink.b;
        for (let r = 0, i = c; r < count; r++, i += stride) {
          if (lengths[i] < 0) b.appendNull();
          else {
            expectLength(lengths[i], 8);
            b.appendValue(view.getFloat64(starts[i]));
          }
        }
        return;
      }
      case "text": {
        const b = sink.b;
        for (let r = 0, i = c; r < count; r++, i += stride) {
          if (lengths[i] < 0) b.appendNull();
          else b.appendBytes(bytes, starts[i], starts[i] + lengths[i]);
        }
        return;
      }
      case "list": {
        // Arrays of text-cast types arrive as array text, parsed exactly as the FETCH path does.
        const asText = this.#columns[c].scalar.castText;
        for (let r = 0, i = c; r < count; r++, i += stride) {
          if (lengths[i] < 0) sink.b.appendNull();
          else if (asText) {
            appendArrayText(sink, utf8.decode(bytes.subarray(starts[i], starts[i] + lengths[i])));
          } else appendArray(sink, view, bytes, starts[i]);
        }
        return;
      }
      default:
        for (let r = 0, i = c; r < count; r++, i += stride) {
          if (lengths[i] < 0) sink.b.appendNull();
          else appendValue(sink, view, bytes, starts[i], lengths[i]);
        }
    }
  }
}
