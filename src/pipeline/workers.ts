/**
 * Runs an export's pieces on its worker connections: each worker takes the next piece when it is
 * free, so at most one query per connection, and at most as many at once as there are slots
 * (`parallel`). When a piece fails for good, no worker starts another; the pieces already running
 * finish and are delivered, then the first failure is thrown.
 *
 * @module
 */
import type { Piece } from "../plan/plan.ts";
import { log } from "../util/log.ts";
import type { ConnectionSlot } from "./connection.ts";
import type { ExportContext } from "./context.ts";
import { describeError } from "./describe_error.ts";
import { type DeliveredPiece, runPiece } from "./piece.ts";

/** Delivers every piece, in parallel over `slots`; results come back in piece order. */
export async function runPieces(
  ctx: ExportContext,
  pieces: readonly Piece[],
  slots: readonly ConnectionSlot[],
): Promise<DeliveredPiece[]> {
  const delivered = new Map<number, DeliveredPiece>();
  const failures: unknown[] = [];
  let next = 0;
  const worker = async (slot: ConnectionSlot): Promise<void> => {
    while (next < pieces.length && failures.length === 0 && !ctx.signal?.aborted) {
      const piece = pieces[next++];
      try {
        delivered.set(piece.index, await runPiece(ctx, piece, slot));
      } catch (err) {
        failures.push(err);
      }
    }
  };
  await Promise.all(slots.map(worker));
  if (failures.length > 0) {
    for (const extra of failures.slice(1)) {
      log.error(`export '${ctx.exp.name}': also failed: ${describeError(extra)}`);
    }
    throw failures[0];
  }
  ctx.signal?.throwIfAborted();
  return pieces.map((p) => delivered.get(p.index)!);
}
