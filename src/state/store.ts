/**
 * The SQLite state store (`.rivet_state.db` beside the config): cursors, run metrics, tracked
 * schemas and the file manifest.
 *
 * @module
 */
import { dirname, join, resolve } from "node:path";
import { DatabaseSync } from "node:sqlite";
import type { TypedValue } from "../sql.ts";
import { migrate } from "./migrations.ts";

/** The stored cursor of one incremental export. */
export interface CursorState {
  exportName: string;
  /** Column the value belongs to; a changed `cursor_column` must not inherit it. */
  column: string | null;
  value: TypedValue | null;
  lastRunAt: string | null;
}

/** One column of a tracked schema. */
export interface ColumnInfo {
  name: string;
  type: string;
}

/** One row of `file_manifest`. */
export interface FileRecord {
  runId: string;
  exportName: string;
  fileName: string;
  /** Full location (path or URI) at the destination. */
  location: string;
  rows: number;
  bytes: number;
  format: string;
  compression: string | null;
  createdAt: string;
}

/** One row of `export_metrics`. */
export interface MetricsRecord {
  exportName: string;
  runId: string;
  runAt: string;
  durationMs: number;
  rows: number;
  peakRssMb: number | null;
  status: "success" | "failed" | "skipped";
  error: string | null;
  profile: string;
  format: string;
  mode: string;
  files: number;
  bytes: number;
  retries: number;
  validated: boolean | null;
  schemaChanged: boolean | null;
  /** The run's longest statement on the source, in ms (null for runs before migration 3). */
  longestStatementMs: number | null;
  /** The run's longest transaction on the source, in ms (null for runs before migration 3). */
  longestTransactionMs: number | null;
  /** Whether the quality rules passed (null without rules). */
  qualityPassed: boolean | null;
  /** Whether `--reconcile` passed (null without it). */
  reconciled: boolean | null;
}

/** One chunked run: its plan's identity and progress (`chunk_run`). */
export interface ChunkRunRecord {
  /** The run that planned the windows. */
  runId: string;
  /** The export it belongs to. */
  exportName: string;
  /** `in_progress` until every window is delivered; `abandoned` when a new run replaced it. */
  status: "in_progress" | "complete" | "abandoned";
  /** SHA-256 of the export query, to refuse resuming a changed query. */
  querySha256: string;
  /** The source it read (engine, host, port, database, user), to refuse resuming elsewhere. */
  sourceId: string;
  /** The chunk column of the plan. */
  chunkColumn: string;
  /** The chunk size of the plan. */
  chunkSize: number;
  /** How many windows the plan has. */
  windows: number;
  /** When the run planned its windows (ISO 8601). */
  createdAt: string;
  /** When the run last changed (ISO 8601). */
  updatedAt: string;
}

/** One window of a chunked run (`chunk_task`). */
export interface ChunkTaskRecord {
  /** 0-based window index. */
  index: number;
  /** The bound type (a TypedValue kind). */
  boundKind: TypedValue["kind"];
  /** Inclusive lower bound, as exact text. */
  lo: string;
  /** Upper bound, as exact text. */
  hi: string;
  /** Whether `hi` is inclusive (the last window). */
  hiInclusive: boolean;
  /** `done` once the window's files are delivered and recorded. */
  status: "pending" | "done";
  /** Rows delivered (when done). */
  rows: number | null;
  /** Files delivered (when done). */
  files: number | null;
}

/** A piece being delivered: whose it is, and where its files will appear. */
export interface PendingDelivery {
  /** The export. */
  exportName: string;
  /** The run delivering it. */
  runId: string;
  /** The piece's index in the run. */
  piece: number;
  /** The staging directory of the process delivering it (its heartbeat says it is alive). */
  owner: string;
  /** The locations its files are published to. */
  locations: string[];
}

/** A delivered piece: its files, and the chunk window it completes, if any. */
export interface PieceRecord {
  /** The delivery this record completes. */
  delivery: Pick<PendingDelivery, "exportName" | "runId" | "piece">;
  /** The files now at the destination. */
  files: readonly FileRecord[];
  /** The window this piece delivered (chunked mode). */
  chunk?: { runId: string; index: number; rows: number };
}

/** One stored `rivet check` result. */
export interface CheckRecord {
  /** The export checked. */
  exportName: string;
  /** When (ISO 8601). */
  checkedAt: string;
  /** EFFICIENT, ACCEPTABLE, DEGRADED or UNSAFE; null when the query did not plan. */
  verdict: string | null;
  /** The strategy's name, e.g. `incremental(updated_at)`. */
  strategy: string;
  /** The planner's row estimate, if any. */
  rowEstimate: number | null;
  /** The whole report, as `rivet check --json` prints it. */
  reportJson: string;
}

/** What a successful export leaves for the next run. */
export interface ExportStateRecord {
  /** The incremental cursor to resume after, when it advanced. */
  cursor?: { column: string; value: TypedValue };
  /** The columns of this run, for the next run's schema comparison. */
  schema: ColumnInfo[];
  /** When the export finished (ISO 8601). */
  at: string;
}

/** The state file name, created in the config's directory. */
const STATE_FILE = ".rivet_state.db";

/**
 * Where the state database of the config at `configPath` lives: beside the config (spec
 * "Incremental Mode"), so every command run on one config shares one state.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 *
 * assert.equal(statePathFor("/etc/rivet/rivet.yaml"), "/etc/rivet/.rivet_state.db");
 * ```
 */
export function statePathFor(configPath: string): string {
  return join(dirname(resolve(configPath)), STATE_FILE);
}

/**
 * Access to one state database. Open per command, close when done.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 *
 * const dir = await Deno.makeTempDir();
 * const store = StateStore.open(`${dir}/.rivet_state.db`);
 * try {
 *   assert.equal(store.cursor("orders"), undefined); // a new database has no state
 * } finally {
 *   store.close();
 *   await Deno.remove(dir, { recursive: true });
 * }
 * ```
 */
export class StateStore {
  private constructor(private readonly db: DatabaseSync) {}

  /** Opens (creating and migrating if needed) the database at `path`. */
  static open(path: string): StateStore {
    const db = new DatabaseSync(path);
    // A second rivet process (cron overlap) waits for the lock instead of failing at once.
    db.exec("PRAGMA busy_timeout = 10000");
    db.exec("PRAGMA journal_mode = WAL");
    db.exec("PRAGMA synchronous = FULL");
    migrate(db);
    return new StateStore(db);
  }

  /** Closes the connection. */
  close(): void {
    this.db.close();
  }

  /** The stored cursor of `exportName`, if any. */
  cursor(exportName: string): CursorState | undefined {
    const row = this.db.prepare(
      "SELECT export_name, last_cursor_value, last_run_at, cursor_column, cursor_kind FROM export_state WHERE export_name = ?",
    ).get(exportName) as Record<string, string | null> | undefined;
    return row ? toCursor(row) : undefined;
  }

  /** Every stored cursor, by export name. */
  cursors(): CursorState[] {
    const rows = this.db.prepare(
      "SELECT export_name, last_cursor_value, last_run_at, cursor_column, cursor_kind FROM export_state ORDER BY export_name",
    ).all() as Record<string, string | null>[];
    return rows.map(toCursor);
  }

  /**
   * Forgets where `exportName` would resume: its cursor, and any interrupted chunked run (marked
   * abandoned, so `--resume` cannot continue it). Returns whether there was anything to forget.
   */
  resetExport(exportName: string): boolean {
    let changes = 0;
    this.transaction(() => {
      changes += Number(
        this.db.prepare("DELETE FROM export_state WHERE export_name = ?").run(exportName).changes,
      );
      changes += Number(
        this.db.prepare(
          `UPDATE chunk_run SET status = 'abandoned', updated_at = ?
           WHERE export_name = ? AND status = 'in_progress'`,
        ).run(new Date().toISOString(), exportName).changes,
      );
    });
    return changes > 0;
  }

  /** The tracked schema of `exportName`, if any. */
  schema(exportName: string): ColumnInfo[] | undefined {
    const row = this.db.prepare("SELECT columns_json FROM export_schema WHERE export_name = ?")
      .get(exportName) as { columns_json: string } | undefined;
    return row ? JSON.parse(row.columns_json) as ColumnInfo[] : undefined;
  }

  /**
   * Records a delivered piece atomically: its files in the manifest, its delivery as finished and,
   * in chunked mode, its window as done. A crash leaves all of it recorded or none, so a resume
   * never skips a window whose files are not in the manifest.
   */
  recordPiece(piece: PieceRecord): void {
    this.transaction(() => {
      const insert = this.db.prepare(
        `INSERT INTO file_manifest (run_id, export_name, file_name, location, row_count, bytes, format, compression, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      );
      for (const f of piece.files) {
        insert.run(
          f.runId,
          f.exportName,
          f.fileName,
          f.location,
          f.rows,
          f.bytes,
          f.format,
          f.compression,
          f.createdAt,
        );
      }
      this.db.prepare(
        "DELETE FROM pending_delivery WHERE export_name = ? AND run_id = ? AND piece = ?",
      ).run(piece.delivery.exportName, piece.delivery.runId, piece.delivery.piece);
      if (piece.chunk) {
        const now = new Date().toISOString();
        this.db.prepare(
          `UPDATE chunk_task SET status = 'done', rows = ?, files = ?, updated_at = ?
           WHERE run_id = ? AND chunk_index = ?`,
        ).run(piece.chunk.rows, piece.files.length, now, piece.chunk.runId, piece.chunk.index);
        this.db.prepare("UPDATE chunk_run SET updated_at = ? WHERE run_id = ?").run(
          now,
          piece.chunk.runId,
        );
      }
    });
  }

  /**
   * Records, durably, that a piece's files are about to be published: a crash before
   * {@link StateStore.recordPiece} leaves this row, and the next run removes the listed files.
   */
  beginDelivery(d: PendingDelivery): void {
    this.db.prepare(
      `INSERT OR REPLACE INTO pending_delivery
         (export_name, run_id, piece, owner, locations_json, started_at)
       VALUES (?, ?, ?, ?, ?, ?)`,
    ).run(
      d.exportName,
      d.runId,
      d.piece,
      d.owner,
      JSON.stringify(d.locations),
      new Date().toISOString(),
    );
  }

  /** Forgets a delivery whose files were taken back after a failure. */
  endDelivery(d: Pick<PendingDelivery, "exportName" | "runId" | "piece">): void {
    this.db.prepare(
      "DELETE FROM pending_delivery WHERE export_name = ? AND run_id = ? AND piece = ?",
    ).run(d.exportName, d.runId, d.piece);
  }

  /** The deliveries of `exportName` that were begun and never recorded. */
  pendingDeliveries(exportName: string): PendingDelivery[] {
    const rows = this.db.prepare(
      "SELECT * FROM pending_delivery WHERE export_name = ? ORDER BY started_at",
    ).all(exportName) as Record<string, string | number>[];
    return rows.map((r) => ({
      exportName: String(r.export_name),
      runId: String(r.run_id),
      piece: Number(r.piece),
      owner: String(r.owner),
      locations: JSON.parse(String(r.locations_json)) as string[],
    }));
  }

  /** Records a new chunked run and its windows, all pending. */
  startChunkRun(run: ChunkRunRecord, tasks: readonly ChunkTaskRecord[]): void {
    this.transaction(() => {
      this.db.prepare(
        `INSERT INTO chunk_run (run_id, export_name, status, query_sha256, source_id, chunk_column,
           chunk_size, windows, created_at, updated_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      ).run(
        run.runId,
        run.exportName,
        run.status,
        run.querySha256,
        run.sourceId,
        run.chunkColumn,
        run.chunkSize,
        run.windows,
        run.createdAt,
        run.updatedAt,
      );
      const insert = this.db.prepare(
        `INSERT INTO chunk_task (run_id, chunk_index, bound_kind, lo, hi, hi_inclusive, status)
         VALUES (?, ?, ?, ?, ?, ?, 'pending')`,
      );
      for (const t of tasks) {
        insert.run(run.runId, t.index, t.boundKind, t.lo, t.hi, Number(t.hiInclusive));
      }
    });
  }

  /** The newest chunked run of `exportName` still in progress, if any. */
  openChunkRun(exportName: string): ChunkRunRecord | undefined {
    const row = this.db.prepare(
      `SELECT * FROM chunk_run WHERE export_name = ? AND status = 'in_progress'
       ORDER BY created_at DESC, rowid DESC LIMIT 1`,
    ).get(exportName) as Record<string, string | number> | undefined;
    return row ? toChunkRun(row) : undefined;
  }

  /** The newest chunked run of each export (or of one), newest first. */
  chunkRuns(exportName?: string): ChunkRunRecord[] {
    const rows = this.db.prepare(
      `SELECT * FROM chunk_run r WHERE (? IS NULL OR export_name = ?) AND rowid = (
         SELECT rowid FROM chunk_run WHERE export_name = r.export_name
         ORDER BY created_at DESC, rowid DESC LIMIT 1)
       ORDER BY created_at DESC`,
    ).all(exportName ?? null, exportName ?? null) as Record<string, string | number>[];
    return rows.map(toChunkRun);
  }

  /** The windows of a chunked run, in order. */
  chunkTasks(runId: string): ChunkTaskRecord[] {
    const rows = this.db.prepare(
      "SELECT * FROM chunk_task WHERE run_id = ? ORDER BY chunk_index",
    ).all(runId) as Record<string, string | number | null>[];
    return rows.map((r) => ({
      index: Number(r.chunk_index),
      boundKind: String(r.bound_kind) as TypedValue["kind"],
      lo: String(r.lo),
      hi: String(r.hi),
      hiInclusive: r.hi_inclusive === 1,
      status: r.status === "done" ? "done" : "pending",
      rows: r.rows === null ? null : Number(r.rows),
      files: r.files === null ? null : Number(r.files),
    }));
  }

  /** Marks a chunked run `complete` or `abandoned`. */
  endChunkRun(runId: string, status: "complete" | "abandoned"): void {
    this.db.prepare("UPDATE chunk_run SET status = ?, updated_at = ? WHERE run_id = ?").run(
      status,
      new Date().toISOString(),
      runId,
    );
  }

  /**
   * Stores what a successful export leaves for the next run, atomically: the advanced cursor (if
   * any) and the tracked schema. Called only after every file of the export is delivered.
   */
  saveExportState(exportName: string, record: ExportStateRecord): void {
    this.transaction(() => {
      if (record.cursor) {
        this.db.prepare(
          `INSERT INTO export_state (export_name, last_cursor_value, last_run_at, cursor_column, cursor_kind)
           VALUES (?, ?, ?, ?, ?)
           ON CONFLICT(export_name) DO UPDATE SET last_cursor_value = excluded.last_cursor_value,
             last_run_at = excluded.last_run_at, cursor_column = excluded.cursor_column,
             cursor_kind = excluded.cursor_kind`,
        ).run(
          exportName,
          record.cursor.value.text,
          record.at,
          record.cursor.column,
          record.cursor.value.kind,
        );
      }
      this.db.prepare(
        `INSERT INTO export_schema (export_name, columns_json, updated_at) VALUES (?, ?, ?)
         ON CONFLICT(export_name) DO UPDATE SET columns_json = excluded.columns_json,
           updated_at = excluded.updated_at`,
      ).run(exportName, JSON.stringify(record.schema), record.at);
    });
  }

  /** Stores one export's check result. */
  recordCheck(c: CheckRecord): void {
    this.db.prepare(
      `INSERT INTO check_result (export_name, checked_at, verdict, strategy, row_estimate, report_json)
       VALUES (?, ?, ?, ?, ?, ?)`,
    ).run(c.exportName, c.checkedAt, c.verdict, c.strategy, c.rowEstimate, c.reportJson);
  }

  /** The newest check result of `exportName`, if it was ever checked. */
  lastCheck(exportName: string): CheckRecord | undefined {
    const r = this.db.prepare(
      "SELECT * FROM check_result WHERE export_name = ? ORDER BY id DESC LIMIT 1",
    ).get(exportName) as Record<string, string | number | null> | undefined;
    if (!r) return undefined;
    return {
      exportName: String(r.export_name),
      checkedAt: String(r.checked_at),
      verdict: r.verdict === null ? null : String(r.verdict),
      strategy: String(r.strategy),
      rowEstimate: r.row_estimate === null ? null : Number(r.row_estimate),
      reportJson: String(r.report_json),
    };
  }

  /** Appends one run's metrics (written for every run: success, skipped or failed). */
  recordMetrics(m: MetricsRecord): void {
    this.db.prepare(
      `INSERT INTO export_metrics (export_name, run_id, run_at, duration_ms, total_rows, peak_rss_mb,
         status, error_message, tuning_profile, format, mode, files_produced, bytes_written, retries,
         validated, schema_changed, longest_statement_ms, longest_transaction_ms, quality_passed,
         reconciled)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ).run(
      m.exportName,
      m.runId,
      m.runAt,
      m.durationMs,
      m.rows,
      m.peakRssMb,
      m.status,
      m.error,
      m.profile,
      m.format,
      m.mode,
      m.files,
      m.bytes,
      m.retries,
      m.validated === null ? null : Number(m.validated),
      m.schemaChanged === null ? null : Number(m.schemaChanged),
      m.longestStatementMs,
      m.longestTransactionMs,
      m.qualityPassed === null ? null : Number(m.qualityPassed),
      m.reconciled === null ? null : Number(m.reconciled),
    );
  }

  /** The newest `last` metrics rows, optionally for one export, newest first. */
  metrics(options: { exportName?: string; last: number }): MetricsRecord[] {
    const rows =
      (options.exportName === undefined
        ? this.db.prepare("SELECT * FROM export_metrics ORDER BY id DESC LIMIT ?").all(options.last)
        : this.db.prepare(
          "SELECT * FROM export_metrics WHERE export_name = ? ORDER BY id DESC LIMIT ?",
        ).all(options.exportName, options.last)) as Record<string, string | number | null>[];
    return rows.map((r) => ({
      exportName: String(r.export_name),
      runId: String(r.run_id),
      runAt: String(r.run_at),
      durationMs: Number(r.duration_ms),
      rows: Number(r.total_rows),
      peakRssMb: r.peak_rss_mb === null ? null : Number(r.peak_rss_mb),
      status: r.status as MetricsRecord["status"],
      error: r.error_message === null ? null : String(r.error_message),
      profile: String(r.tuning_profile ?? ""),
      format: String(r.format ?? ""),
      mode: String(r.mode ?? ""),
      files: Number(r.files_produced),
      bytes: Number(r.bytes_written),
      retries: Number(r.retries),
      validated: r.validated === null ? null : r.validated === 1,
      schemaChanged: r.schema_changed === null ? null : r.schema_changed === 1,
      longestStatementMs: r.longest_statement_ms === null ? null : Number(r.longest_statement_ms),
      longestTransactionMs: r.longest_transaction_ms === null
        ? null
        : Number(r.longest_transaction_ms),
      qualityPassed: r.quality_passed === null ? null : r.quality_passed === 1,
      reconciled: r.reconciled === null ? null : r.reconciled === 1,
    }));
  }

  /** The newest `last` manifest rows, optionally for one export, newest first. */
  files(options: { exportName?: string; last: number }): FileRecord[] {
    const rows =
      (options.exportName === undefined
        ? this.db.prepare("SELECT * FROM file_manifest ORDER BY id DESC LIMIT ?").all(options.last)
        : this.db.prepare(
          "SELECT * FROM file_manifest WHERE export_name = ? ORDER BY id DESC LIMIT ?",
        ).all(options.exportName, options.last)) as Record<string, string | number | null>[];
    return rows.map((r) => ({
      runId: String(r.run_id),
      exportName: String(r.export_name),
      fileName: String(r.file_name),
      location: String(r.location),
      rows: Number(r.row_count),
      bytes: Number(r.bytes),
      format: String(r.format),
      compression: r.compression === null ? null : String(r.compression),
      createdAt: String(r.created_at),
    }));
  }

  private transaction(body: () => void): void {
    this.db.exec("BEGIN IMMEDIATE");
    try {
      body();
      this.db.exec("COMMIT");
    } catch (err) {
      this.db.exec("ROLLBACK");
      throw err;
    }
  }
}

function toChunkRun(r: Record<string, string | number>): ChunkRunRecord {
  return {
    runId: String(r.run_id),
    exportName: String(r.export_name),
    status: String(r.status) as ChunkRunRecord["status"],
    querySha256: String(r.query_sha256),
    sourceId: String(r.source_id),
    chunkColumn: String(r.chunk_column),
    chunkSize: Number(r.chunk_size),
    windows: Number(r.windows),
    createdAt: String(r.created_at),
    updatedAt: String(r.updated_at),
  };
}

function toCursor(row: Record<string, string | null>): CursorState {
  const value = row.last_cursor_value;
  return {
    exportName: String(row.export_name),
    column: row.cursor_column,
    value: value === null
      ? null
      : { kind: (row.cursor_kind ?? "text") as TypedValue["kind"], text: value },
    lastRunAt: row.last_run_at,
  };
}
