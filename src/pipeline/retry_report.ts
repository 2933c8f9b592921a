/**
 * How a retry of a piece is reported: counted in the export's tally, logged as a warning with
 * its cause, and announced as a `retry` event.
 *
 * @module
 */
import type { Piece } from "../plan/plan.ts";
import type { SessionStats } from "../source/source.ts";
import { log } from "../util/log.ts";
import type { ExportContext } from "./context.ts";
import { describeError } from "./describe_error.ts";
import type { RetryNotice } from "./retry.ts";

/** Counters shared by the pieces of one export. */
export interface Tally {
  /** Retry attempts so far. */
  retries: number;
  /** Rows extracted so far (counted before delivery, so a failed delivery still reports them). */
  rows: number;
  /** The longest statement any connection of the export ran, in ms. */
  longestStatementMs: number;
  /** The longest transaction any connection of the export held, in ms. */
  longestTransactionMs: number;
  /** Whether every file passed `--validate` (unset without it). */
  validated?: boolean;
  /** Whether every piece passed its quality gate (unset without quality rules). */
  quality?: boolean;
  /** Whether every piece reconciled with the source (unset without `--reconcile`). */
  reconciled?: boolean;
}

/** Folds what a closed connection held on the server into the export's tally. */
export function recordSession(tally: Tally, stats: SessionStats): void {
  tally.longestStatementMs = Math.max(tally.longestStatementMs, stats.longestStatementMs);
  tally.longestTransactionMs = Math.max(tally.longestTransactionMs, stats.longestTransactionMs);
}

/** `chunk 3: ` for a window, nothing for a whole-query piece. */
export function pieceLabel(piece: Piece): string {
  return piece.window ? `chunk ${piece.window.index}: ` : "";
}

/** The `onRetry` of one piece's retries; `what` says what is read again (`reconnecting`, ...). */
export function retryReporter(
  ctx: ExportContext,
  piece: Piece,
  tally: Tally,
  what: string,
): (notice: RetryNotice) => void {
  const { exp, config } = ctx;
  return ({ attempt, delayMs, error }) => {
    tally.retries++;
    const why = describeError(error);
    log.warn(
      `export '${exp.name}': ${
        pieceLabel(piece)
      }retry ${attempt}/${config.source.tuning.maxRetries} in ${delayMs}ms, ${what} (${error.retryClass}: ${why})`,
    );
    ctx.emit({
      type: "retry",
      exportName: exp.name,
      piece: piece.index,
      attempt,
      delayMs,
      retryClass: error.retryClass,
      error: why,
    });
  };
}
