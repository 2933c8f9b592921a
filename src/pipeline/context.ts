/**
 * What every step of one export run shares: the config, the state store, the destination (one per
 * export), the source factory (one connection per attempt), the event channel and the stop signal.
 *
 * @module
 */
import type { Config, ExportConfig } from "../config/types.ts";
import type { Destination } from "../destination/destination.ts";
import type { Source } from "../source/source.ts";
import type { StateStore } from "../state/store.ts";
import { ConnectionSlot } from "./connection.ts";
import type { EventListener } from "./events.ts";
import { recordSession, type Tally } from "./retry_report.ts";

/** Everything one export run needs. */
export interface ExportContext {
  /** The whole config (source settings, tuning). */
  config: Config;
  /** The export being run. */
  exp: ExportConfig;
  /** The run id linking summary, metrics and manifest rows. */
  runId: string;
  /** The state database. */
  store: StateStore;
  /** Where this export's files go; created once for the export. */
  destination: Destination;
  /** The chunked run whose windows this run delivers (chunked mode), for checkpoints. */
  chunkRunId?: string;
  /** The export's counters: retries, rows, and the longest statement and transaction. */
  tally: Tally;
  /** Re-read each finished file and compare its row count (`--validate`). */
  validate: boolean;
  /** Opens a fresh source connection (one per attempt). */
  openSource: (config: Config["source"]) => Promise<Source>;
  /** Receives the run's events; never throws (see `safeListener`). */
  emit: EventListener;
  /** Stops the run: the current attempt fails cleanly and no retry follows. */
  signal?: AbortSignal;
}

/**
 * A connection slot for one of the export's workers: fresh connections from the export's source,
 * prepared by `prepare`, and what each held on the server folded into the export's tally.
 */
export function slotFor(
  ctx: ExportContext,
  prepare?: (source: Source) => Promise<void>,
): ConnectionSlot {
  return new ConnectionSlot(
    () => ctx.openSource(ctx.config.source),
    prepare,
    (stats) => recordSession(ctx.tally, stats),
  );
}
