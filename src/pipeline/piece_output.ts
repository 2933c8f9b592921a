/**
 * The writing side of one attempt at one piece: batches go through the meta columns into a
 * writer whose sink is a staged file, rotated into a new part whenever `max_file_size` is
 * reached; the incremental cursor is noted and every batch announced. Nothing is visible at the
 * destination: `finish` hands over the staged parts, `abort` discards them.
 *
 * @module
 */
import type { RecordBatch, Schema } from "apache-arrow";
import type { Piece } from "../plan/plan.ts";
import type { TypedValue } from "../sql.ts";
import { log } from "../util/log.ts";
import { createWriter } from "../writer/create.ts";
import type { FormatWriter } from "../writer/writer.ts";
import type { ExportContext } from "./context.ts";
import { CursorTracker } from "./cursor.ts";
import { faultPoint } from "./fault_point.ts";
import type { PieceGate } from "./gate.ts";
import { gatesFor } from "./gates.ts";
import { type MetaColumnsAppender, metaColumnsFor } from "./meta_columns.ts";
import { abortPart, finishPart, type OpenPart, type StagedPart, startPart } from "./staged_part.ts";

/** What one successful attempt produced, before anything is committed. */
export interface Extracted {
  /** The Arrow schema of the source rows (known even when there were none). */
  schema: Schema;
  /** The finished parts, in order; none when the piece had no rows. */
  parts: StagedPart[];
  /** Rows written. */
  rows: number;
  /** The incremental cursor after the last row, when the mode has one and a row carried it. */
  cursor?: TypedValue;
  /** The gates that saw every row and decide before delivery. */
  gates: PieceGate[];
}

/** Writes one piece's batches into staged parts. */
export class PieceOutput {
  readonly #ctx: ExportContext;
  readonly #piece: Piece;
  readonly #schema: Schema;
  readonly #cursor: CursorTracker | undefined;
  readonly #meta: MetaColumnsAppender | undefined;
  readonly #gates: PieceGate[];
  readonly #label: string;
  readonly #parts: StagedPart[] = [];
  #open: OpenPart<FormatWriter> | undefined;
  #rows = 0;
  #batches = 0;

  /**
   * Prepares the output of `piece` for rows of `schema`. Throws before any file is created when
   * the cursor column is missing or a meta column name is taken.
   */
  constructor(ctx: ExportContext, piece: Piece, schema: Schema) {
    this.#ctx = ctx;
    this.#piece = piece;
    this.#schema = schema;
    const mode = ctx.exp.mode;
    this.#cursor = mode.kind === "incremental" ? new CursorTracker(mode.cursorColumn) : undefined;
    this.#cursor?.check(schema.fields);
    this.#meta = metaColumnsFor(ctx.exp.metaColumns, schema);
    this.#gates = gatesFor(ctx, piece, schema);
    this.#label = piece.window ? `chunk ${piece.window.index} ` : "";
  }

  /** Rows written so far. */
  get rows(): number {
    return this.#rows;
  }

  /**
   * Writes one batch (read at `at`, `performance.now()`), starting a new part when needed. Keeps
   * nothing of the batch once it resolves: the cursor, the gates and the writer take what they
   * need as it goes by, so the caller may free it.
   */
  async write(read: RecordBatch, at: number): Promise<void> {
    const { exp } = this.#ctx;
    const batch = this.#ctx.hooks?.beforeWrite?.(read) ?? read;
    if (this.#batches === 0) await faultPoint("read");
    this.#cursor?.observe(batch);
    for (const gate of this.#gates) gate.observe(batch);
    const part = this.#open ??= await this.#startPart();
    await part.writer!.write(this.#meta ? this.#meta.apply(batch) : batch);
    part.rows += batch.numRows;
    this.#rows += batch.numRows;
    this.#batches++;
    if (this.#batches === 1) await faultPoint("written");
    log.debug(
      `export '${exp.name}': ${this.#label}batch ${this.#batches}: ${batch.numRows} rows (total ${this.#rows})`,
    );
    this.#ctx.emit({
      type: "batch",
      exportName: exp.name,
      piece: this.#piece.index,
      rows: batch.numRows,
      pieceRows: this.#rows,
      pieceBytes: this.#bytes() + part.writer!.bytesWritten(),
      at,
    });
    if (exp.maxFileSize !== undefined && part.writer!.bytesWritten() >= exp.maxFileSize) {
      this.#open = undefined;
      this.#parts.push(await finishPart(part));
    }
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
      cursor: this.#cursor?.value,
      gates: this.#gates,
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

  async #startPart(): Promise<OpenPart<FormatWriter>> {
    const { exp } = this.#ctx;
    return await startPart(
      this.#ctx,
      (sink) =>
        createWriter(this.#meta?.schema ?? this.#schema, sink, {
          format: exp.format,
          compression: exp.compression,
          compressionLevel: exp.compressionLevel,
          partBytes: exp.maxFileSize,
        }),
    );
  }
}
