/**
 * The planner's row estimate of the statement a run is about to read (one `EXPLAIN`, never the
 * query itself), for progress (the `started` event's `estimatedRows`) and advice. Best effort:
 * a failure is logged at debug level, the connection is discarded so the next step starts on a
 * fresh one, and the run goes on without an estimate.
 *
 * @module
 */
import type { SqlQuery } from "../sql.ts";
import { log } from "../util/log.ts";
import type { ConnectionSlot } from "./connection.ts";
import type { ExportContext } from "./context.ts";
import { describeError } from "./describe_error.ts";

/** The estimate for `query` on the connection in `slot`, or `undefined` when there is none. */
export async function estimateRows(
  ctx: ExportContext,
  query: SqlQuery,
  slot: ConnectionSlot,
): Promise<number | undefined> {
  try {
    const rows = await (await slot.acquire()).estimateRows(query);
    return rows === undefined ? undefined : Math.round(rows);
  } catch (err) {
    await slot.discard();
    log.debug(`export '${ctx.exp.name}': no row estimate (${describeError(err)})`);
    return undefined;
  }
}
