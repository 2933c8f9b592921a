/**
 * Gates: checks that watch a piece's rows as they are written and, once its files are finished
 * (and validated), decide whether they may be delivered at all. A gate that refuses throws a
 * `DataIntegrityError`: the piece's staged files are discarded, nothing is delivered, the cursor
 * stays, and the run exits with the data-integrity code.
 *
 * @module
 */
import type { RecordBatch } from "apache-arrow";
import type { Source } from "../source/source.ts";

/** One gate of one piece. */
export interface PieceGate {
  /** What the gate reports in the summary (`quality`, `reconciled`). */
  readonly name: "quality" | "reconciled";
  /** Sees every source batch of the piece, in order, before meta columns are added. */
  observe(batch: RecordBatch): void;
  /**
   * Decides after the piece's last row, before delivery; `source` is the piece's own connection,
   * still in the piece's snapshot. Throws a `DataIntegrityError` naming every failed check.
   */
  verify(source: Source): Promise<void>;
}
