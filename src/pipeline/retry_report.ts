/**
 * How a retry of a piece is reported: counted in the export's tally, logged as a warning with
 * its cause, and announced as a `retry` event.
 *
 * @module
 */
import type { Piece } from "../plan/plan.ts";
import { log } from "../util/log.ts";
import type { ExportContext } from "./context.ts";
import { describeError } from "./describe_error.ts";
import type { RetryNotice } from "./retry.ts";
import type { Tally } from "./tally.ts";

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
