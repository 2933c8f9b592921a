/**
 * The pipeline's event channel (`RunOptions.onEvent`): what happens during a run, as it happens,
 * for progress output, notifications and tests. The pipeline itself never prints; it announces.
 *
 * @module
 */
import type { ExportMode, FormatName } from "../config/types.ts";
import { errorMessage, type RetryClass } from "../errors.ts";
import { log } from "../util/log.ts";
import type { ExportSummary } from "./summary.ts";

/** An export began: nothing has been read yet. */
export interface StartedEvent {
  /** Discriminator. */
  type: "started";
  /** The export's name. */
  exportName: string;
  /** The run id that links the summary, metrics and manifest rows. */
  runId: string;
  /** The export's mode. */
  mode: ExportMode;
  /** The output format. */
  format: FormatName;
  /** How many pieces the run is cut into (1 for full and incremental). */
  pieces: number;
  /**
   * The planner's estimate of the rows the run will read, when the pipeline has one (absent for
   * a resumed chunked run, a date-chunked run without statistics, or when the plan gives none).
   * Estimates can be far off: use them for progress, never for correctness.
   */
  estimatedRows?: number;
}

/** One record batch was written to a piece's staged file. */
export interface BatchEvent {
  /** Discriminator. */
  type: "batch";
  /** The export's name. */
  exportName: string;
  /** 0-based index of the piece the batch belongs to. */
  piece: number;
  /** Rows in this batch. */
  rows: number;
  /** Rows written to the piece's file so far in this attempt, this batch included. */
  pieceRows: number;
  /**
   * Bytes written to the piece's files so far in this attempt (every part). Parquet bytes reach
   * the file a row group at a time, so this lags the rows by up to one row group.
   */
  pieceBytes: number;
  /** `performance.now()` when the batch arrived from the source. */
  at: number;
}

/** An attempt failed with a retryable error; the piece starts over on a fresh connection. */
export interface RetryEvent {
  /** Discriminator. */
  type: "retry";
  /** The export's name. */
  exportName: string;
  /** 0-based index of the piece being retried. */
  piece: number;
  /** 1-based number of the retry about to happen. */
  attempt: number;
  /** How long the pipeline waits before it. */
  delayMs: number;
  /** Why the attempt failed (spec "Retry semantics"). */
  retryClass: RetryClass;
  /** The failure, on one line, secrets redacted. */
  error: string;
}

/** A piece's file is durably at the destination and recorded in the manifest. */
export interface CommittedEvent {
  /** Discriminator. */
  type: "committed";
  /** The export's name. */
  exportName: string;
  /** 0-based index of the piece the file belongs to. */
  piece: number;
  /** Where the file is (path, URI or `stdout`). */
  location: string;
  /** Rows in the file. */
  rows: number;
  /** Size of the file. */
  bytes: number;
}

/**
 * The export's last `rivet check` rated it DEGRADED or UNSAFE: it runs, but at a cost to the
 * source worth acting on (notifications' `degraded` trigger).
 */
export interface DegradedEvent {
  /** Discriminator. */
  type: "degraded";
  /** The export's name. */
  exportName: string;
  /** The verdict of its last check. */
  verdict: "DEGRADED" | "UNSAFE";
  /** When that check ran (ISO 8601). */
  checkedAt: string;
}

/** An export ended (success, skipped or failed); its summary is final. */
export interface FinishedEvent {
  /** Discriminator. */
  type: "finished";
  /** The export's outcome, as printed and stored in metrics. */
  summary: ExportSummary;
}

/** Everything the pipeline announces. */
export type RunEvent =
  | StartedEvent
  | DegradedEvent
  | BatchEvent
  | RetryEvent
  | CommittedEvent
  | FinishedEvent;

/** A subscriber to {@link RunEvent}s. */
export type EventListener = (event: RunEvent) => void;

/**
 * Wraps a listener so that a failing subscriber (a broken progress display, a notifier) is logged
 * and never fails the export it listens to.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 *
 * const seen: string[] = [];
 * const emit = safeListener((e) => {
 *   seen.push(e.type);
 *   throw new Error("display broke");
 * });
 * emit({
 *   type: "batch",
 *   exportName: "orders",
 *   piece: 0,
 *   rows: 10,
 *   pieceRows: 10,
 *   pieceBytes: 420,
 *   at: 0,
 * });
 * assert.deepEqual(seen, ["batch"]);
 * ```
 */
export function safeListener(listener: EventListener | undefined): EventListener {
  if (listener === undefined) return () => {};
  return (event) => {
    try {
      listener(event);
    } catch (err) {
      log.warn(`an event listener failed on '${event.type}': ${errorMessage(err)}`);
    }
  };
}
