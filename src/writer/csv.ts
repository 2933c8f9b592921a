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
 * Each batch is rendered in blocks of rows, column by column, then assembled row by row into
 * strings of about a million characters that are encoded and written one at a time, so memory
 * stays bounded by one block plus one chunk whatever the value sizes.
 *
 * @module
 */
import { type Data, type RecordBatch, type Schema, util } from "apache-arrow";
import { errorMessage, TypeMappingError } from "../errors.ts";
import { isNullAt, needsQuoting, nullBitmap, type Renderer, rendererFor } from "../arrow/text.ts";
import { assertSupportedFields } from "./types.ts";
import type { FormatWriter } from "./writer.ts";

/**
 * Rows rendered at a time, each column on its own slice of the batch. A text column is decoded a
 * block at a time, not a batch at a time, so its strings die young: with 8,192-row blocks and the
 * whole batch's text decoded up front, they lived through the batch's writes and V8 moved them to
 * its old generation, which grew between full collections until peak RSS was 320-355 MB on 1 M
 * mixed rows (`balanced` profile, both engines). 1,024: 240-290 MB and 10-20% less CPU.
 */
const BLOCK_ROWS = 1024;
/** Characters gathered before a chunk is encoded and handed to the sink. */
const FLUSH_CHARS = 1 << 20;

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

interface Column {
  name: string;
  render: Renderer;
  /** Whether cells need the RFC 4180 quoting check (see `needsQuoting`). */
  quote: boolean;
  /** Whether it is the file's only column (see {@link csvField}). */
  alone: boolean;
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
      render: rendererFor(field),
      quote: needsQuoting(field.type),
      alone: schema.fields.length === 1,
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
  readonly #encoder = new TextEncoder();
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
    await this.#emit(this.#columns.map((c) => csvField(c.name, c.alone)).join(",") + "\n");
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
    for (let r0 = 0; r0 < n; r0 += BLOCK_ROWS) {
      const r1 = Math.min(n, r0 + BLOCK_ROWS);
      const cells = this.#columns.map((column, c) =>
        inColumn(column, () => renderBlock(data[c].slice(r0, r1 - r0), column))
      );
      // Array joins build flat strings; `+=` would build a rope that encoding must flatten.
      const lines: string[] = [];
      const row = new Array<string>(cells.length);
      let chars = 0;
      for (let r = 0; r < r1 - r0; r++) {
        for (let c = 0; c < cells.length; c++) row[c] = cells[c][r];
        const line = row.join(",");
        lines.push(line);
        chars += line.length + 1;
        if (chars >= FLUSH_CHARS) {
          await this.#emit(lines.join("\n") + "\n");
          lines.length = 0;
          chars = 0;
        }
      }
      if (lines.length > 0) await this.#emit(lines.join("\n") + "\n");
    }
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

  async #emit(text: string): Promise<void> {
    const bytes = this.#encoder.encode(text);
    this.#bytes += bytes.length;
    await this.#sink.write(bytes);
  }
}

/** The CSV cells of one column's rows (a block's slice); NULL is the empty string. */
function renderBlock(data: Data, { render, quote, alone }: Column): string[] {
  const n = data.length;
  const out = new Array<string>(n);
  const text = render(data);
  const bitmap = nullBitmap(data);
  const offset = data.offset;
  for (let i = 0; i < n; i++) {
    if (bitmap && isNullAt(bitmap, offset, i)) out[i] = "";
    else out[i] = quote ? csvField(text(i), alone) : text(i);
  }
  return out;
}

/** Runs `fn`, naming the column in any error (e.g. invalid UTF-8 in a text column). */
function inColumn<T>(column: Column, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    throw new TypeMappingError(`column "${column.name}": ${errorMessage(err)}`, { cause: err });
  }
}
