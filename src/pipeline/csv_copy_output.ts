/**
 * The writing side of a CSV passthrough attempt (`extract_csv_copy.ts`): the source's CSV records
 * go into staged parts as `piece_output.ts` writes batches, rotated into a new part (with its own
 * header) right after the record that reaches `max_file_size`; the incremental cursor is taken
 * from the watched column of the last record that has one, and every chunk is announced as a
 * batch. Nothing is visible at the destination: `finish` hands over the staged parts, `abort`
 * discards them.
 *
 * @module
 */
import type { Field, Schema } from "apache-arrow";
import type { Piece } from "../plan/plan.ts";
import type { CsvChunk } from "../source/source.ts";
import type { TypedValue } from "../sql.ts";
import { log } from "../util/log.ts";
import { createCsvRecordsWriter, type CsvRecordsWriter } from "../writer/csv_records.ts";
import type { ExportContext } from "./context.ts";
import { CursorTracker } from "./cursor.ts";
import { faultPoint } from "./fault_point.ts";
import type { Extracted } from "./piece_output.ts";
import { abortPart, finishPart, type OpenPart, type StagedPart, startPart } from "./staged_part.ts";
import { csvValue } from "./typed_value.ts";

/** Writes one piece's CSV records into staged parts. */
export class CsvCopyOutput {
  readonly #ctx: ExportContext;
  readonly #piece: Piece;
  readonly #schema: Schema;
  /** The cursor column's field, for an incremental export. */
  readonly #cursorField: Field | undefined;
  readonly #label: string;
  readonly #parts: StagedPart[] = [];
  #open: OpenPart<CsvRecordsWriter> | undefined;
  #cursor: TypedValue | undefined;
  #rows = 0;
  #chunks = 0;

  /**
   * Prepares the output of `piece`; throws before any file is created when the cursor column is
   * missing or cannot be a cursor.
   */
  constructor(ctx: ExportContext, piece: Piece, schema: Schema) {
    this.#ctx = ctx;
    this.#piece = piece;
    this.#schema = schema;
    const mode = ctx.exp.mode;
    if (mode.kind === "incremental") {
      new CursorTracker(mode.cursorColumn).check(schema.fields);
      this.#cursorField = schema.fields.find((f) => f.name === mode.cursorColumn);
    }
    this.#label = piece.window ? `chunk ${piece.window.index} ` : "";
  }

  /**
   * Writes a chunk of records (read at `at`, `performance.now()`), starting a part when needed
   * and ending one right after the record that brings it to `max_file_size`.
   */
  async write(chunk: CsvChunk, at: number): Promise<void> {
    const { exp } = this.#ctx;
    if (this.#chunks === 0) await faultPoint("read");
    if (chunk.watched !== undefined && this.#cursorField) {
      this.#cursor = csvValue(this.#cursorField, chunk.watched);
    }
    const { bytes, rows, ends } = chunk;
    let row = 0;
    while (row < rows) {
      const part = this.#open ??= await this.#startPart();
      const writer = part.writer!;
      const from = row === 0 ? 0 : ends[row - 1];
      let to = rows;
      if (exp.maxFileSize !== undefined) {
        const limit = from + exp.maxFileSize - writer.bytesWritten();
        to = row;
        while (to < rows - 1 && ends[to] < limit) to++;
        to++;
      }
      await writer.write(bytes.subarray(from, ends[to - 1]), to - row);
      part.rows += to - row;
      row = to;
      if (exp.maxFileSize !== undefined && writer.bytesWritten() >= exp.maxFileSize) {
        this.#open = undefined;
        this.#parts.push(await finishPart(part));
      }
    }
    this.#rows += rows;
    this.#chunks++;
    if (this.#chunks === 1) await faultPoint("written");
    log.debug(
      `export '${exp.name}': ${this.#label}batch ${this.#chunks}: ${rows} rows (total ${this.#rows})`,
    );
    this.#ctx.emit({
      type: "batch",
      exportName: exp.name,
      piece: this.#piece.index,
      rows,
      pieceRows: this.#rows,
      pieceBytes: this.#bytes() +
        (this.#open?.writer?.bytesWritten() ?? 0),
      at,
    });
  }

  /** Finishes the last part and hands over everything written. */
  async finish(): Promise<Extracted> {
    const open = this.#open;
    this.#open = undefined;
    if (open) this.#parts.push(await finishPart(open));
    const bytes = this.#bytes();
    log.info(
      `export '${this.#ctx.exp.name}': ${this.#label}read ${this.#rows} rows, wrote ${bytes} bytes${
        this.#parts.length > 1 ? ` in ${this.#parts.length} parts` : ""
      }`,
    );
    return {
      schema: this.#schema,
      parts: [...this.#parts],
      rows: this.#rows,
      cursor: this.#cursor,
      gates: [],
    };
  }

  /** Discards every staged part, finished or not. */
  async abort(reason: unknown): Promise<void> {
    const open = this.#open;
    this.#open = undefined;
    if (open) await abortPart(open, reason);
    for (const part of this.#parts) await part.staged.abort();
    this.#parts.length = 0;
  }

  /** Bytes of the parts already finished. */
  #bytes(): number {
    return this.#parts.reduce((sum, p) => sum + p.bytes, 0);
  }

  async #startPart(): Promise<OpenPart<CsvRecordsWriter>> {
    const names = this.#schema.fields.map((f) => f.name);
    return await startPart(this.#ctx, (sink) => createCsvRecordsWriter(names, sink));
  }
}
