/**
 * What `rivet run` reports while an export runs, computed from the pipeline's events: rows and
 * bytes so far (summed over the export's pieces), the rate, the elapsed time and, when the
 * planner gave a row estimate, how far along the export is and when it should end. Pure: the
 * caller passes the clock; `progress_display.ts` decides where and how often it is shown.
 *
 * @module
 */
import type { RunEvent } from "../pipeline/events.ts";
import { formatBytes } from "../util/format.ts";

/** Where the running export stands at one instant. */
export interface ProgressSnapshot {
  /** The export running. */
  exportName: string;
  /** Rows written so far, every piece together. */
  rows: number;
  /** Bytes written so far, every piece together. */
  bytes: number;
  /** Milliseconds since the export started. */
  elapsedMs: number;
  /** The planner's estimate of the export's rows, when there is one. */
  estimatedRows?: number;
}

/** One piece's counters: the latest attempt's, replaced by its files' sizes once committed. */
interface PieceProgress {
  rows: number;
  bytes: number;
  committedBytes?: number;
}

/**
 * Follows the events of a run and knows, at any instant, where the running export stands
 * (exports of a run run one after another).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 *
 * const tracker = new ProgressTracker();
 * tracker.observe(
 *   { type: "started", exportName: "orders", runId: "r", mode: "full", format: "csv", pieces: 1 },
 *   1_000,
 * );
 * tracker.observe({
 *   type: "batch",
 *   exportName: "orders",
 *   piece: 0,
 *   rows: 500,
 *   pieceRows: 500,
 *   pieceBytes: 20_000,
 *   at: 0,
 * }, 1_500);
 * assert.deepEqual(tracker.snapshot(3_000), {
 *   exportName: "orders",
 *   rows: 500,
 *   bytes: 20_000,
 *   elapsedMs: 2_000,
 *   estimatedRows: undefined,
 * });
 * ```
 */
export class ProgressTracker {
  #exportName: string | undefined;
  #startedAt = 0;
  #estimatedRows: number | undefined;
  #pieces = new Map<number, PieceProgress>();

  /** Takes in one event, received at `now` (milliseconds on any monotonic clock). */
  observe(event: RunEvent, now: number): void {
    switch (event.type) {
      case "started":
        this.#exportName = event.exportName;
        this.#startedAt = now;
        this.#estimatedRows = event.estimatedRows;
        this.#pieces.clear();
        break;
      case "batch": {
        // A retried piece starts over: its latest attempt's counters replace the failed one's.
        const piece = this.#piece(event.piece);
        piece.rows = event.pieceRows;
        piece.bytes = event.pieceBytes;
        break;
      }
      case "committed": {
        const piece = this.#piece(event.piece);
        piece.committedBytes = (piece.committedBytes ?? 0) + event.bytes;
        break;
      }
      case "finished":
        this.#exportName = undefined;
        break;
    }
  }

  /** Where the running export stands at `now`; `undefined` between exports. */
  snapshot(now: number): ProgressSnapshot | undefined {
    if (this.#exportName === undefined) return undefined;
    let rows = 0;
    let bytes = 0;
    for (const piece of this.#pieces.values()) {
      rows += piece.rows;
      bytes += piece.committedBytes ?? piece.bytes;
    }
    return {
      exportName: this.#exportName,
      rows,
      bytes,
      elapsedMs: Math.max(0, now - this.#startedAt),
      estimatedRows: this.#estimatedRows,
    };
  }

  #piece(index: number): PieceProgress {
    let piece = this.#pieces.get(index);
    if (piece === undefined) this.#pieces.set(index, piece = { rows: 0, bytes: 0 });
    return piece;
  }
}

/** Below this much elapsed time a rate (and so an ETA) is mostly noise. */
const MIN_RATE_MS = 1_000;

/**
 * The progress of `s` as one line's fields: rows (out of the estimate, with the share done, when
 * there is one), rows/s, bytes, elapsed time and the time left. The estimate is dropped once the
 * rows pass it (it was too low), and the rate and time left until a second has passed.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 *
 * const at24s = { exportName: "orders", rows: 120_000, bytes: 13_002_342, elapsedMs: 24_000 };
 * assert.equal(
 *   formatProgress({ ...at24s, estimatedRows: 480_000 }),
 *   "120,000/~480,000 rows (25%), 5,000 rows/s, 12.4 MB, 24s elapsed, ETA 1m12s",
 * );
 * assert.equal(formatProgress(at24s), "120,000 rows, 5,000 rows/s, 12.4 MB, 24s elapsed");
 * ```
 */
export function formatProgress(s: ProgressSnapshot): string {
  const rate = s.elapsedMs >= MIN_RATE_MS ? s.rows / (s.elapsedMs / 1000) : undefined;
  const estimate = s.estimatedRows !== undefined && s.estimatedRows > 0 &&
      s.rows <= s.estimatedRows
    ? s.estimatedRows
    : undefined;
  const parts = [
    estimate === undefined
      ? `${formatCount(s.rows)} rows`
      : `${formatCount(s.rows)}/~${formatCount(estimate)} rows (${
        Math.floor(100 * s.rows / estimate)
      }%)`,
    ...(rate === undefined ? [] : [`${formatCount(Math.round(rate))} rows/s`]),
    formatBytes(s.bytes),
    `${formatClock(s.elapsedMs)} elapsed`,
  ];
  if (estimate !== undefined && rate !== undefined && rate > 0) {
    parts.push(`ETA ${formatClock(1000 * (estimate - s.rows) / rate)}`);
  }
  return parts.join(", ");
}

/**
 * A count with thousands separators, the same whatever the locale: `1,234,567`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 *
 * assert.equal(formatCount(1234567), "1,234,567");
 * assert.equal(formatCount(999), "999");
 * ```
 */
export function formatCount(n: number): string {
  return String(Math.round(n)).replace(/\B(?=(\d{3})+(?!\d))/g, ",");
}

/**
 * A duration as a clock reading, rounded to whole seconds: `42s`, `3m05s`, `2h07m`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 *
 * assert.equal(formatClock(42_400), "42s");
 * assert.equal(formatClock(185_000), "3m05s");
 * assert.equal(formatClock(7_620_000), "2h07m");
 * ```
 */
export function formatClock(ms: number): string {
  const total = Math.max(0, Math.round(ms / 1000));
  if (total < 60) return `${total}s`;
  const minutes = Math.floor(total / 60);
  if (minutes < 60) return `${minutes}m${String(total % 60).padStart(2, "0")}s`;
  return `${Math.floor(minutes / 60)}h${String(minutes % 60).padStart(2, "0")}m`;
}

/**
 * The live line of `s` for a terminal row of `columns` characters: `<export>: <progress>`. One
 * column is left free so the cursor never wraps onto a row a redraw could not erase; a long
 * export name is shortened first, so the figures stay readable.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 *
 * const s = { exportName: "orders_from_the_eu_warehouse", rows: 500, bytes: 0, elapsedMs: 0 };
 * assert.equal(liveLine(s, 80), "orders_from_the_eu_warehouse: 500 rows, 0 B, 0s elapsed");
 * assert.equal(liveLine(s, 40), "orders_from…: 500 rows, 0 B, 0s elapsed");
 * assert.equal(liveLine(s, 20), "…: 500 rows, 0 B, …");
 * ```
 */
export function liveLine(s: ProgressSnapshot, columns: number): string {
  const room = Math.max(1, columns - 1);
  const figures = `: ${formatProgress(s)}`;
  const nameRoom = room - figures.length;
  if (s.exportName.length <= nameRoom) return s.exportName + figures;
  const line = (nameRoom > 1 ? s.exportName.slice(0, nameRoom - 1) : "") + "…" + figures;
  return line.length <= room ? line : `${line.slice(0, room - 1)}…`;
}
