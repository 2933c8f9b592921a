/**
 * Meta columns (spec "Meta Columns"): `_rivet_exported_at` and `_rivet_row_hash`, appended after
 * the source columns of every batch, in that order.
 *
 * `_rivet_exported_at` is `Timestamp(MICROSECOND, "UTC")`, non-null: the wall-clock time at which
 * the batch went through {@link MetaColumnsAppender.apply}, the same for every row of the batch.
 *
 * `_rivet_row_hash` is `Int64`, non-null: XXH3-128 (seed 0) of the row's encoding, of which the low
 * half (`XXH128_hash_t.low64`) is read as a signed two's complement 64-bit integer. The encoding
 * covers every source column (never a meta column), in schema order:
 * - NULL: the single byte `0x00`;
 * - a value: the byte `0x01`, the payload's byte length as a 4-byte little-endian unsigned integer,
 *   then the payload: the raw bytes for a Binary column, and for every other type the UTF-8 of the
 *   value's text exactly as the CSV writer prints it, before CSV quoting (see `writer/text.ts`;
 *   lists are JSON arrays). A Utf8 value's text is the value itself.
 *
 * The NULL marker differs from any value's (an empty value is `01 00 00 00 00`) and every value
 * carries its length, so no two different rows of one schema share an encoding. Because the
 * payload is the CSV text, a row's hash can be recomputed from a CSV export (hex-decoding binary
 * cells), and the Parquet and CSV exports of the same rows carry the same hashes.
 *
 * @module
 */
import { DataType, Field, makeData, RecordBatch, Schema, Struct, util } from "apache-arrow";
import type { Data, Int64, TimestampMicrosecond } from "apache-arrow";
import { grow } from "../arrow/builder.ts";
import { type Int64Builder, int64Builder, timestampBuilder } from "../arrow/int64.ts";
import type { MetaColumns } from "../config/types.ts";
import { TypeMappingError } from "../errors.ts";
import { xxHash128 } from "./hashers.ts";
import { isNullAt, nullBitmap, type Renderer, rendererFor, type ValueText } from "../arrow/text.ts";

/** Appends the configured meta columns to every batch of one piece. */
export interface MetaColumnsAppender {
  /** The source schema plus the meta fields (exported_at first, then row_hash). */
  readonly schema: Schema;
  /** The batch with the meta columns appended (computed over the batch's source columns). */
  apply(batch: RecordBatch): RecordBatch;
}

const EXPORTED_AT = "_rivet_exported_at";
const ROW_HASH = "_rivet_row_hash";

/**
 * `undefined` when no meta column is configured; throws a TypeMappingError when the source already
 * has a column named _rivet_exported_at / _rivet_row_hash.
 *
 * Only the names of the configured meta columns are reserved.
 *
 * @throws {TypeMappingError} also for a source column whose type has no CSV text (see
 * `writer/text.ts`), when `row_hash` is on.
 */
export function metaColumnsFor(
  config: MetaColumns,
  source: Schema,
): MetaColumnsAppender | undefined {
  if (!config.exportedAt && !config.rowHash) return undefined;
  const wanted: string[] = [];
  if (config.exportedAt) wanted.push(EXPORTED_AT);
  if (config.rowHash) wanted.push(ROW_HASH);
  for (const name of wanted) {
    if (source.fields.some((f) => f.name === name)) {
      throw new TypeMappingError(
        `column "${name}": the query already returns a column of this name, which meta_columns ` +
          `would add; rename it in the query (e.g. AS source${name}) or turn that meta column off`,
      );
    }
  }
  return new Appender(config, source);
}

class Appender implements MetaColumnsAppender {
  readonly schema: Schema;
  readonly #source: Schema;
  readonly #exportedAt: Int64Builder<TimestampMicrosecond> | undefined;
  readonly #rowHash: RowHasher | undefined;

  constructor(config: MetaColumns, source: Schema) {
    this.#source = source;
    this.#exportedAt = config.exportedAt ? timestampBuilder(true) : undefined;
    this.#rowHash = config.rowHash ? new RowHasher(source) : undefined;
    const fields = [...source.fields];
    if (this.#exportedAt) fields.push(new Field(EXPORTED_AT, this.#exportedAt.type, false));
    if (this.#rowHash) fields.push(new Field(ROW_HASH, this.#rowHash.type, false));
    this.schema = new Schema(fields, source.metadata);
  }

  apply(batch: RecordBatch): RecordBatch {
    if (batch.schema !== this.#source && !util.compareSchemas(this.#source, batch.schema)) {
      throw new TypeMappingError(
        "batch schema differs from the schema the meta columns were made for",
      );
    }
    const length = batch.numRows;
    const children: Data[] = [...batch.data.children];
    if (this.#exportedAt) {
      const micros = Temporal.Now.instant().epochNanoseconds / 1000n;
      for (let i = 0; i < length; i++) this.#exportedAt.append(micros);
      children.push(this.#exportedAt.finish());
    }
    if (this.#rowHash) children.push(this.#rowHash.hash(batch.data.children, length));
    const data = makeData({ type: new Struct(this.schema.fields), length, nullCount: 0, children });
    return new RecordBatch(this.schema, data);
  }
}

/** How one source column is written into a row's encoding. */
type Encoding =
  /** Binary or Utf8: the stored bytes are the payload. */
  | { kind: "bytes" }
  /** Any other type: the UTF-8 of its CSV text. */
  | { kind: "text"; render: Renderer };

/** One source column of the batch being hashed. */
interface Cell {
  /** Validity bitmap, when the column has NULLs. */
  nulls: Uint8Array | undefined;
  offset: number;
  /** The CSV text of a value; undefined when the stored bytes are the payload. */
  text: ValueText | undefined;
  valueOffsets: Int32Array;
  bytes: Uint8Array;
}

/** Below this length a hand-written ASCII loop beats `encodeInto`'s call overhead. */
const ASCII_FAST_PATH = 64;
/** Below this length a byte loop beats creating a subarray to `set` from. */
const SHORT_COPY = 64;
const encoder = new TextEncoder();

/** Values of the lowercase hex digits, by character code. */
const HEX_VALUE = new Uint8Array(128);
for (let d = 0; d < 16; d++) HEX_VALUE["0123456789abcdef".charCodeAt(d)] = d;

/** The 32-bit word (as int32) written as 8 hex digits from `at`. */
function hexWord(hex: string, at: number): number {
  let word = 0;
  for (let k = at; k < at + 8; k++) word = (word << 4) | HEX_VALUE[hex.charCodeAt(k)];
  return word;
}

/** Computes `_rivet_row_hash` for the rows of a batch (see the module doc for the encoding). */
class RowHasher {
  readonly #encodings: Encoding[];
  readonly #hashes = int64Builder();
  /** One row's encoding; grows to the largest row seen. */
  #row = new Uint8Array(4096);

  constructor(source: Schema) {
    // rendererFor throws for a type with no text, before any batch is read.
    this.#encodings = source.fields.map((field) =>
      DataType.isBinary(field.type) || DataType.isUtf8(field.type)
        ? { kind: "bytes" }
        : { kind: "text", render: rendererFor(field) }
    );
  }

  get type(): Int64 {
    return this.#hashes.type;
  }

  hash(columns: readonly Data[], length: number): Data<Int64> {
    const hasher = xxHash128();
    const cells = this.#encodings.map((encoding, c): Cell => {
      const data = columns[c];
      return {
        nulls: nullBitmap(data),
        offset: data.offset,
        text: encoding.kind === "text" ? encoding.render(data) : undefined,
        valueOffsets: data.valueOffsets as Int32Array,
        bytes: data.values as Uint8Array,
      };
    });
    for (let i = 0; i < length; i++) {
      let end = 0;
      for (const cell of cells) {
        if (cell.nulls && isNullAt(cell.nulls, cell.offset, i)) {
          this.#reserve(end, 1);
          this.#row[end++] = 0x00;
          continue;
        }
        let size: number;
        if (cell.text === undefined) {
          const start = cell.valueOffsets[i];
          size = cell.valueOffsets[i + 1] - start;
          this.#reserve(end, 5 + size);
          this.#copy(cell.bytes, start, size, end + 5);
        } else {
          const text = cell.text(i);
          // A UTF-16 code unit never needs more than 3 UTF-8 bytes.
          this.#reserve(end, 5 + text.length * 3);
          size = this.#writeText(text, end + 5);
        }
        const row = this.#row;
        row[end] = 0x01;
        row[end + 1] = size & 0xff;
        row[end + 2] = (size >>> 8) & 0xff;
        row[end + 3] = (size >>> 16) & 0xff;
        row[end + 4] = size >>> 24;
        end += 5 + size;
      }
      hasher.init();
      hasher.update(this.#row.subarray(0, end));
      // XXH3's canonical form, high64 then low64, each big-endian: low64 is hex digits 16..31. The
      // hex digest is cheaper than the binary one, which copies out of WASM memory every row.
      const hex = hasher.digest("hex");
      this.#hashes.appendWords(hexWord(hex, 24), hexWord(hex, 16));
    }
    return this.#hashes.finish();
  }

  /** Makes room for `more` bytes after the row's first `used` bytes. */
  #reserve(used: number, more: number): void {
    this.#row = grow(this.#row, used + more, used);
  }

  /** Copies `size` bytes of `source` from `start` to the row at `at` (room reserved). */
  #copy(source: Uint8Array, start: number, size: number, at: number): void {
    const row = this.#row;
    if (size <= SHORT_COPY) {
      for (let k = 0; k < size; k++) row[at + k] = source[start + k];
    } else {
      row.set(source.subarray(start, start + size), at);
    }
  }

  /** Writes `text` as UTF-8 at `at` (room reserved); returns the byte count. */
  #writeText(text: string, at: number): number {
    const row = this.#row;
    const n = text.length;
    if (n <= ASCII_FAST_PATH) {
      let i = 0;
      for (; i < n; i++) {
        const c = text.charCodeAt(i);
        if (c >= 0x80) break;
        row[at + i] = c;
      }
      if (i === n) return n;
    }
    return encoder.encodeInto(text, row.subarray(at)).written;
  }
}
