/**
 * Streaming RFC 4180 CSV writer.
 *
 * Output: UTF-8 without BOM, a header row of field names, LF line endings (RFC 4180 says CRLF;
 * every mainstream reader accepts LF, and LF keeps files diff- and `wc -l`-friendly). A field is
 * quoted only when it contains `,` `"` CR or LF, or is empty, or is `\.` in a one-column file; `"`
 * is doubled inside quotes. These are PostgreSQL's own `COPY ... (FORMAT csv)` rules, so its output
 * can be written as it is. The text of each type is described in `text.ts`.
 *
 * NULL versus empty, one rule for every type and both engines: NULL, and only NULL, is an empty
 * unquoted field (so a record whose only field is NULL is an empty line). A non-NULL value whose
 * text is empty is the quoted empty field `""`: an empty string of any text type, and an empty
 * binary value (zero bytes of hex). No other value has empty text: a list is a JSON array (`[]`,
 * `[""]`, `[null]`), a JSON value is its JSON text (the JSON string `""` is the field `""""`), and
 * numbers, booleans, dates and times always have digits. `needsQuoting` (`text.ts`) is what sends
 * every type whose text can be empty through `csvField`. PostgreSQL's `COPY ... FROM` with
 * `FORMAT csv` reads files this way by default; DuckDB's `read_csv` needs
 * `allow_quoted_nulls = false`.
 *
 * Each batch is written row by row into one byte buffer (`arrow/csv_fields.ts`: no string per
 * value), which is handed to the sink whenever it holds about a megabyte and at the end of the
 * batch, and reused once the sink is done with it: memory stays at one buffer, or one row when a
 * row alone is larger.
 *
 * @module
 */
import { type RecordBatch, type Schema, util } from "apache-arrow";
import { errorMessage, TypeMappingError } from "../errors.ts";
import { type FieldRenderer, fieldRendererFor } from "../arrow/csv_fields.ts";
import { isNullAt, nullBitmap } from "../arrow/text.ts";
import { ByteBuffer } from "../util/byte_buffer.ts";
import { assertSupportedFields } from "./types.ts";
import type { FormatWriter } from "./writer.ts";

/** Bytes gathered before they are handed to the sink. */
const FLUSH_BYTES = 1 << 20;
/** A buffer grown past this for one large row is dropped after its flush rather than kept. */
const KEEP_BYTES = 4 * FLUSH_BYTES;

const COMMA = 44;
const LF = 10;

const NEEDS_QUOTES = /[",\r\n]/;

/**
 * Quotes `text` as one CSV field when RFC 4180 requires it or when it is empty, and, in a file of
 * one column, when it is `\.`: alone on a line, PostgreSQL's `COPY ... FROM` would take it for its
 * end-of-data marker (PostgreSQL's own `COPY ... TO` quotes it for the same reason).
 */
export function csvField(text: string, oneColumn = false): string {
  if (text === "") return '""';
  if (NEEDS_QUOTES.test(text)) return `"${text.replaceAll('"', '""')}"`;
  return oneColumn && text === "\\." ? `"${text}"` : text;
}

/** The header row of a file of columns `names`, as UTF-8. */
export function csvHeader(names: readonly string[]): Uint8Array {
  const row = names.map((name) => csvField(name, names.length === 1)).join(",") + "\n";
  return new TextEncoder().encode(row);
}

interface Column {
  name: string;
  render: FieldRenderer;
}

/**
 * Opens a CSV writer on `sink` and writes the header row.
 *
 * @throws {TypeMappingError} when a column has a type CSV output does not support (the sink is
 * aborted).
 */
export async function createCsvWriter(
  schema: Schema,
  sink: WritableStream<Uint8Array>,
): Promise<FormatWriter> {
  let columns: Column[];
  try {
    assertSupportedFields(schema.fields, "CSV");
    columns = schema.fields.map((field) => ({
      name: field.name,
      render: fieldRendererFor(field, schema.fields.length === 1),
    }));
  } catch (err) {
    await sink.abort(err).catch(() => {});
    throw err;
  }
  const writer = new CsvWriter(schema, columns, sink.getWriter());
  try {
    await writer.start();
  } catch (err) {
    await writer.abort(err);
    throw err;
  }
  return writer;
}

class CsvWriter implements FormatWriter {
  readonly #schema: Schema;
  readonly #columns: Column[];
  readonly #sink: WritableStreamDefaultWriter<Uint8Array>;
  readonly #out = new ByteBuffer(FLUSH_BYTES + (1 << 16));
  #rows = 0;
  #bytes = 0;
  #failure: unknown;
  #state: "open" | "finished" | "aborted" = "open";

  constructor(schema: Schema, columns: Column[], sink: WritableStreamDefaultWriter<Uint8Array>) {
    this.#schema = schema;
    this.#columns = columns;
    this.#sink = sink;
  }

  async start(): Promise<void> {
    const bytes = csvHeader(this.#columns.map((c) => c.name));
    this.#bytes += bytes.length;
    await this.#sink.write(bytes);
  }

  async write(batch: RecordBatch): Promise<void> {
    this.#usable();
    if (!util.compareSchemas(this.#schema, batch.schema)) {
      throw new TypeMappingError("batch schema differs from the CSV file's schema");
    }
    try {
      await this.#writeRows(batch);
    } catch (err) {
      // Part of the batch may already be in the file: nothing more may be appended to it.
      this.#failure ??= err;
      throw err;
    }
    this.#rows += batch.numRows;
  }

  async #writeRows(batch: RecordBatch): Promise<void> {
    const n = batch.numRows;
    const data = batch.data.children;
    const out = this.#out;
    const columns = this.#columns;
    const fields = columns.map((column, c) => inColumn(column, () => column.render(data[c], out)));
    const bitmaps = data.map(nullBitmap);
    const offsets = data.map((d) => d.offset);
    let c = 0;
    try {
      for (let r = 0; r < n; r++) {
        for (c = 0; c < fields.length; c++) {
          if (c > 0) {
            out.reserve(1);
            out.bytes[out.at++] = COMMA;
          }
          const bitmap = bitmaps[c];
          // NULL is the empty unquoted field: nothing between the commas.
          if (bitmap === undefined || !isNullAt(bitmap, offsets[c], r)) fields[c](r);
        }
        out.reserve(1);
        out.bytes[out.at++] = LF;
        if (out.at >= FLUSH_BYTES) await this.#flush();
      }
    } catch (err) {
      // A field's error names its column; the sink's (from a flush, between rows) is as it is.
      throw c < columns.length ? columnError(columns[c], err) : err;
    }
    await this.#flush();
  }

  /** Hands the buffer's bytes to the sink; the sink is done with them once its write resolves. */
  async #flush(): Promise<void> {
    const out = this.#out;
    if (out.at === 0) return;
    const bytes = out.bytes.subarray(0, out.at);
    out.at = 0;
    this.#bytes += bytes.length;
    await this.#sink.write(bytes);
    out.shrink(KEEP_BYTES);
  }

  bytesWritten(): number {
    return this.#bytes;
  }

  async finish(): Promise<{ rows: number; bytes: number }> {
    this.#usable();
    this.#state = "finished";
    try {
      await this.#sink.close();
    } catch (err) {
      this.#failure = err;
      throw err;
    }
    return { rows: this.#rows, bytes: this.#bytes };
  }

  async abort(reason?: unknown): Promise<void> {
    if (this.#state !== "open") return;
    this.#state = "aborted";
    await this.#sink.abort(reason).catch(() => {});
  }

  #usable(): void {
    if (this.#failure !== undefined) throw this.#failure;
    if (this.#state !== "open") throw new Error(`CSV writer already ${this.#state}`);
  }
}

/** Runs `fn`, naming the column in any error (e.g. a NULL inside a dictionary). */
function inColumn<T>(column: Column, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    throw columnError(column, err);
  }
}

/** `err` (e.g. invalid UTF-8 in a text column) as an error that names the column. */
function columnError(column: Column, err: unknown): TypeMappingError {
  return new TypeMappingError(`column "${column.name}": ${errorMessage(err)}`, { cause: err });
}
