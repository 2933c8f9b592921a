/**
 * Cleans up after a run that died mid-delivery: files its pieces were publishing when it was
 * killed are visible at the destination but were never recorded (no manifest row, no checkpoint,
 * no cursor). Left in place they would be delivered again, by the next run, under another name.
 * So before an export runs, the unrecorded deliveries of processes that are gone (their staging
 * heartbeat stopped) are taken back. A delivery owned by a live process (two runs of one export
 * at once) is left alone.
 *
 * @module
 */
import { isAbandoned } from "../destination/staging.ts";
import { log } from "../util/log.ts";
import type { ExportContext } from "./context.ts";

/** Removes the files of this export's abandoned deliveries and forgets them. */
export async function undoAbandonedDeliveries(ctx: ExportContext): Promise<void> {
  for (const d of ctx.store.pendingDeliveries(ctx.exp.name)) {
    if (!await isAbandoned(d.owner)) {
      log.warn(
        `export '${ctx.exp.name}': run ${d.runId} is still delivering piece ${d.piece} in another process; leaving its files alone`,
      );
      continue;
    }
    for (const location of d.locations) await ctx.destination.retract(location);
    ctx.store.endDelivery(d);
    log.warn(
      `export '${ctx.exp.name}': run ${d.runId} died while delivering piece ${d.piece}; its unrecorded files were removed (${
        d.locations.join(", ")
      }) and its rows will be read again`,
    );
  }
}
