/**
 * Memory-sized batches (`batch_size_memory_mb`): which rows a batch may still take so that its
 * column data stays near a byte budget.
 *
 * The Arrow size of a row is only known once it is decoded, so the PostgreSQL paths (COPY and
 * FETCH) predict it from its bytes on the wire, calibrated against what earlier rows really took.
 * A batch takes a row while the row's predicted size still fits the budget (the first row of a
 * batch always does) and is cut before the first one that does not, or at `batchRows`. The first
 * row of a query is decoded alone, to calibrate. MySQL streams rows one at a time and checks the
 * real size after each: its batch is cut once one more row of the mean width would not fit, so it
 * can exceed the budget by one row.
 *
 * The FETCH path also chooses how many rows to ask the server for: a small probe first
 * ({@link PROBE_ROWS}), then the rows the batch still has room for at the measured width. A single
 * row wider than the budget makes a batch on its own.
 *
 * @module
 */
import { log } from "../util/log.ts";
import type { StreamOptions } from "./source.ts";

/** Rows read before the width of a row is known (the FETCH path's first FETCH). */
export const PROBE_ROWS = 100;

/** The byte budget of one query's batches and the width of its rows measured so far. */
export class BatchBudget {
  /** Bytes of column data a batch aims to hold. */
  readonly bytes: number;
  /** Rows a batch holds at most, whatever their width. */
  readonly maxRows: number;
  #rows = 0;
  #measured = 0;
  /** `#measured / #rows` rounded up: whole bytes, for the per-row questions (see {@link predict}). */
  #width = 0;
  /** The paths' cheap sizes of the measured rows, for {@link predict}. */
  #raw = 0;
  /** The latest measurement, so widening rows are noticed at once. */
  #latestRows = 0;
  #latestBytes = 0;
  #logged = false;

  private constructor(bytes: number, maxRows: number) {
    this.bytes = bytes;
    this.maxRows = maxRows;
  }

  /**
   * The budget `options` ask for (`batchBytes`, else the `maxBatchBytes` ceiling), or undefined
   * when batches are sized by rows only.
   */
  static of(options: StreamOptions): BatchBudget | undefined {
    const { batchBytes, maxBatchBytes, batchRows } = options;
    const bytes = batchBytes ?? maxBatchBytes;
    if (bytes === undefined) return undefined;
    if (!Number.isFinite(bytes) || bytes < 1) {
      throw new RangeError(`batchBytes must be a positive number, got ${bytes}`);
    }
    const budget = new BatchBudget(bytes, batchRows);
    // A ceiling the user did not set is not worth a log line.
    if (batchBytes === undefined) budget.#logged = true;
    return budget;
  }

  /** The budget the user asked for (`batchBytes`) only: the FETCH path ignores the ceiling. */
  static requested(options: StreamOptions): BatchBudget | undefined {
    return BatchBudget.of({ ...options, maxBatchBytes: undefined });
  }

  /**
   * Mean Arrow bytes per row over everything measured, rounded up to a whole byte, or undefined
   * before the first row.
   */
  get rowBytes(): number | undefined {
    return this.#rows > 0 ? this.#width : undefined;
  }

  /** Rows of a full batch at the measured width, between 1 and {@link maxRows}. */
  get batchRows(): number {
    const width = this.rowBytes;
    if (width === undefined || width === 0) return this.maxRows;
    return Math.min(this.maxRows, Math.max(1, Math.floor(this.bytes / width)));
  }

  /**
   * Adds `rows` decoded rows that took `bytes` bytes of column data to the measurement; `raw` is
   * their total cheap size, on the paths that {@link predict} from one.
   */
  measure(rows: number, bytes: number, raw = 0): void {
    if (rows === 0) return;
    this.#rows += rows;
    this.#measured += bytes;
    this.#width = Math.ceil(this.#measured / this.#rows);
    this.#raw += raw;
    this.#latestRows = rows;
    this.#latestBytes = bytes;
  }

  /**
   * Predicted Arrow bytes of a row of cheap size `raw`, rounded up; undefined until a row was
   * measured. The read paths ask this (and {@link full}) once per row, so the answers are whole
   * numbers: a fractional one is a heap-allocated number wherever the call is not inlined, and
   * those were ~20 bytes of garbage per row read (70 MB per 3M rows of PostgreSQL COPY, 30 MB
   * per 3M rows of MySQL, as V8's sampling heap profiler measured).
   */
  predict(raw: number): number | undefined {
    return this.#raw > 0 ? Math.ceil((raw * this.#measured) / this.#raw) : undefined;
  }

  /**
   * Whether a row of `rowBytes` bytes still fits a batch holding `rows` rows in `bytes` bytes.
   * The first row of a batch always does.
   */
  fits(rows: number, bytes: number, rowBytes: number): boolean {
    return rows === 0 || (rows < this.maxRows && bytes + rowBytes <= this.bytes);
  }

  /** Whether a batch holding `rows` rows in `bytes` bytes has no room for a row of mean width. */
  full(rows: number, bytes: number): boolean {
    const width = this.rowBytes ?? (rows > 0 ? Math.ceil(bytes / rows) : 0);
    return !this.fits(rows, bytes, width);
  }

  /**
   * Rows to ask the server for next, for a batch holding `rows` rows in `bytes` bytes: a probe of
   * {@link PROBE_ROWS} while nothing is measured, then as many as the batch has room for at the
   * wider of the mean and the latest rows' width (at least one), or 0 when it is full.
   */
  readSize(rows: number, bytes: number): number {
    const left = this.maxRows - rows;
    const mean = this.rowBytes;
    if (left <= 0) return 0;
    if (mean === undefined) return Math.min(left, PROBE_ROWS);
    const width = Math.max(mean, this.#latestBytes / this.#latestRows);
    if (width === 0) return left;
    const fit = Math.floor((this.bytes - bytes) / width);
    if (fit < 1) return rows === 0 ? 1 : 0;
    return Math.min(left, fit);
  }

  /** Logs the measured width and the batch size it gives, once per query (after a measurement). */
  report(): void {
    const width = this.rowBytes;
    if (this.#logged || width === undefined) return;
    this.#logged = true;
    const mb = Math.round((this.bytes / 1048576) * 100) / 100;
    log.info(
      `batch_size_memory_mb=${mb}: measured row ~${Math.round(width)} B, ` +
        `batch_size=${this.batchRows}`,
    );
  }
}
