/**
 * Prepares a chunked run (spec "Chunked Extraction"): the first connection pins a fresh snapshot
 * and reads the chunk column's range in it; the windows are cut and checkpointed; every worker
 * connection then reads the same snapshot (PostgreSQL: exported and imported; MySQL: one
 * consistent snapshot per connection, see docs/semantics.md). With `--resume`, the newest
 * interrupted run of the export is continued instead: only its windows not yet delivered, and
 * only if the export still reads what it read.
 *
 * @module
 */
import type { ExportConfig } from "../config/types.ts";
import { RivetError } from "../errors.ts";
import { type ChunkWindow, cutWindows, renderBound, windowCount } from "../plan/chunks.ts";
import { dialectFor } from "../source/dialect.ts";
import type { Source } from "../source/source.ts";
import { stripTerminator } from "../sql.ts";
import type { ChunkRunRecord, ChunkTaskRecord } from "../state/store.ts";
import { log } from "../util/log.ts";
import { readColumnRange } from "../source/column_range.ts";
import type { ConnectionSlot } from "./connection.ts";
import { type ExportContext, slotFor } from "./context.ts";
import { withRetries } from "./retry.ts";

/** Below this share of rows per key value, most windows would be empty (spec "Sparse IDs"). */
const SPARSE_DENSITY = 0.1;

type ChunkedMode = Extract<ExportConfig["mode"], { kind: "chunked" }>;

/** A prepared chunked run. */
export interface ChunkedRun {
  /** The run whose checkpoints the pieces update. */
  chunkRunId: string;
  /** The windows still to deliver, in order. */
  windows: ChunkWindow[];
  /** One connection slot per worker (at most `parallel`), all on the run's snapshot. */
  slots: ConnectionSlot[];
  /** The planner's estimate of the query's rows, for a new run when the plan gives one. */
  estimatedRows?: number;
}

/** Plans (or resumes) the windows of a chunked export and opens its snapshot. */
export async function prepareChunkedRun(
  ctx: ExportContext,
  mode: ChunkedMode,
  resume: boolean,
): Promise<ChunkedRun> {
  const { exp, store } = ctx;
  const identity = await identityOf(ctx, mode);
  const open = store.openChunkRun(exp.name);
  // Keyset paging reads each page in its own short transaction: no run-long snapshot to share.
  const slots = ctx.exp.keyColumns
    ? Array.from({ length: mode.parallel }, () => slotFor(ctx))
    : snapshotSlots(ctx, mode.parallel);
  try {
    if (resume && open) {
      refuseChangedPlan(open, identity);
      const pending = store.chunkTasks(open.runId).filter((t) => t.status !== "done");
      log.info(
        `export '${exp.name}': resuming chunked run ${open.runId}: ${pending.length} of ${open.windows} windows left`,
      );
      // The coordinator pins a fresh snapshot first: the resumed windows share it.
      if (pending.length > 0) await acquireWithRetries(ctx, slots[0]);
      return {
        chunkRunId: open.runId,
        windows: pending.map(toWindow),
        slots: trim(slots, pending),
      };
    }
    if (resume) {
      log.info(`export '${exp.name}': no interrupted chunked run to resume; starting one`);
    }
    if (open) {
      const done = store.chunkTasks(open.runId).filter((t) => t.status === "done").length;
      log.warn(
        `export '${exp.name}': chunked run ${open.runId} was interrupted after ${done} of ${open.windows} windows; starting over (its delivered files stay; use --resume to continue a run instead)`,
      );
      store.endChunkRun(open.runId, "abandoned");
    }
    const { windows, estimatedRows } = await planWindows(ctx, mode, slots[0]);
    const now = new Date().toISOString();
    store.startChunkRun(
      {
        runId: ctx.runId,
        exportName: exp.name,
        status: "in_progress",
        ...identity,
        windows: windows.length,
        createdAt: now,
        updatedAt: now,
      },
      windows.map(toTask),
    );
    return { chunkRunId: ctx.runId, windows, slots: trim(slots, windows), estimatedRows };
  } catch (err) {
    for (const slot of slots) await slot.close();
    throw err;
  }
}

/** What a resumed run must still match. */
type Identity = Pick<ChunkRunRecord, "querySha256" | "sourceId" | "chunkColumn" | "chunkSize">;

async function identityOf(ctx: ExportContext, mode: ChunkedMode): Promise<Identity> {
  const digest = await crypto.subtle.digest(
    "SHA-256",
    new TextEncoder().encode(stripTerminator(ctx.exp.query)),
  );
  const { type, connection: c } = ctx.config.source;
  return {
    querySha256: Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join(
      "",
    ),
    sourceId: `${type}://${c.user}@${c.host}:${c.port}/${c.database}`,
    chunkColumn: mode.chunkColumn,
    chunkSize: mode.chunkSize,
  };
}

function refuseChangedPlan(open: ChunkRunRecord, now: Identity): void {
  const changed = [
    open.querySha256 !== now.querySha256 ? "the query" : undefined,
    open.sourceId !== now.sourceId ? `the source (${open.sourceId} -> ${now.sourceId})` : undefined,
    open.chunkColumn !== now.chunkColumn
      ? `chunk_column (${open.chunkColumn} -> ${now.chunkColumn})`
      : undefined,
    open.chunkSize !== now.chunkSize
      ? `chunk_size (${open.chunkSize} -> ${now.chunkSize})`
      : undefined,
  ].filter((c) => c !== undefined);
  if (changed.length > 0) {
    throw new RivetError(
      `cannot resume chunked run ${open.runId}: ${
        changed.join(", ")
      } changed since it was planned; run without --resume to start over`,
    );
  }
}

/**
 * One slot per worker. The first connection pins a new snapshot; every later one (another
 * worker, or a retry's fresh connection) joins it. Where snapshots cannot be shared (MySQL) each
 * connection pins its own.
 */
function snapshotSlots(ctx: ExportContext, parallel: number): ConnectionSlot[] {
  let snapshot: string | undefined;
  let started = false;
  const pin = async (source: Source): Promise<void> => {
    if (!started) {
      started = true;
      snapshot = await source.pinSnapshot();
    } else {
      await source.pinSnapshot(snapshot);
    }
  };
  return Array.from({ length: parallel }, () => slotFor(ctx, pin));
}

/** Never more connections than windows. */
function trim(slots: ConnectionSlot[], windows: readonly unknown[]): ConnectionSlot[] {
  const keep = Math.max(1, Math.min(slots.length, windows.length));
  for (const extra of slots.slice(keep)) void extra.close();
  return slots.slice(0, keep);
}

async function acquireWithRetries(ctx: ExportContext, slot: ConnectionSlot): Promise<Source> {
  return await withRetries(async () => {
    try {
      return await slot.acquire();
    } catch (err) {
      await slot.discard();
      throw err;
    }
  }, { tuning: ctx.config.source.tuning, signal: ctx.signal, onRetry: () => {} });
}

/** The windows of a new run, and the query's estimated rows (logged when the key is sparse). */
async function planWindows(
  ctx: ExportContext,
  mode: ChunkedMode,
  coordinator: ConnectionSlot,
): Promise<{ windows: ChunkWindow[]; estimatedRows?: number }> {
  const { exp, config } = ctx;
  const dialect = dialectFor(config.source.type);
  const base = stripTerminator(exp.query);
  const range = await withRetries(async () => {
    const source = await coordinator.acquire();
    try {
      return await readColumnRange(source, base, mode.chunkColumn, dialect, ctx.signal);
    } catch (err) {
      await coordinator.discard();
      throw err;
    }
  }, { tuning: config.source.tuning, signal: ctx.signal, onRetry: () => {} });
  if (range === undefined) {
    log.info(`export '${exp.name}': ${mode.chunkColumn} has no values; nothing to export`);
    return { windows: [] };
  }
  const render = (value: bigint) => renderBound(range.unit, value);
  const windows = cutWindows(range, mode.chunkSize, render);
  log.info(
    `export '${exp.name}': ${mode.chunkColumn} ${render(range.min).text} .. ${
      render(range.max).text
    }: ${windows.length} windows of ${mode.chunkSize}${range.unit === "int" ? "" : " days"}`,
  );
  // On the pinned snapshot: a failure here leaves the coordinator's transaction unusable, so it
  // fails the plan like the range read above rather than being skipped.
  const raw = await (await coordinator.acquire()).estimateRows({ text: base, params: [] });
  const estimate = raw === undefined ? undefined : Math.round(raw);
  if (range.unit === "int" && estimate !== undefined) {
    const span = Number(range.max - range.min) + 1;
    if (estimate / span < SPARSE_DENSITY) {
      log.warn(
        `export '${exp.name}': sparse key range: about ${estimate} rows over ${span} ${mode.chunkColumn} values (${
          (100 * estimate / span).toFixed(1)
        }% dense), so most of the ${
          windowCount(range, mode.chunkSize)
        } windows will be empty; chunk on a dense surrogate, e.g. ROW_NUMBER() OVER (ORDER BY ${mode.chunkColumn}) AS chunk_rownum with chunk_column: chunk_rownum (see "Sparse IDs")`,
      );
    }
  }
  return { windows, estimatedRows: estimate };
}

function toTask(w: ChunkWindow): ChunkTaskRecord {
  return {
    index: w.index,
    boundKind: w.lo.kind,
    lo: w.lo.text,
    hi: w.hi.text,
    hiInclusive: w.hiInclusive,
    status: "pending",
    rows: null,
    files: null,
  };
}

function toWindow(t: ChunkTaskRecord): ChunkWindow {
  return {
    index: t.index,
    lo: { kind: t.boundKind, text: t.lo },
    hi: { kind: t.boundKind, text: t.hi },
    hiInclusive: t.hiInclusive,
  };
}
