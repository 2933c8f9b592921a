/**
 * What every step of one export run shares: the config, the state store, the destination (one per
 * export), the source factory (one connection per attempt), the event channel and the stop signal.
 *
 * @module
 */
import type { RecordBatch } from "apache-arrow";
import type { Config, ExportConfig } from "../config/types.ts";
import type { Destination } from "../destination/destination.ts";
import type { Source } from "../source/source.ts";
import type { StateStore } from "../state/store.ts";
import { ConnectionSlot } from "./connection.ts";
import type { EventListener } from "./events.ts";
import { recordSession, type Tally } from "./tally.ts";

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
  /** Prove each piece's file matches the source column by column (`--reconcile`). */
  reconcile: boolean;
  /** Opens a fresh source connection (one per attempt). */
  openSource: (config: Config["source"]) => Promise<Source>;
  /** Receives the run's events; never throws (see `safeListener`). */
  emit: EventListener;
  /** Stops the run: the current attempt fails cleanly and no retry follows. */
  signal?: AbortSignal;
  /** Fault injection for tests of the gates (never set by the CLI). */
  hooks?: PipelineHooks;
}

/**
 * Fault injection points, for tests that must prove a gate catches what it is meant to catch
 * (a value changed between read and write, a truncated file). Only the library's internal
 * `runExportsWith` takes them; the CLI never sets them.
 */
export interface PipelineHooks {
  /** Replaces each batch just before it is observed by the gates and written. */
  beforeWrite?: (batch: RecordBatch) => RecordBatch;
  /** Runs on each finished part's staged file, before validation and delivery. */
  afterFinish?: (path: string) => Promise<void>;
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
