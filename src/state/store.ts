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

  /** Forgets the cursor of `exportName`; returns whether one existed. */
  resetCursor(exportName: string): boolean {
    const result = this.db.prepare("DELETE FROM export_state WHERE export_name = ?").run(
      exportName,
    );
    return Number(result.changes) > 0;
  }

  /** The tracked schema of `exportName`, if any. */
  schema(exportName: string): ColumnInfo[] | undefined {
    const row = this.db.prepare("SELECT columns_json FROM export_schema WHERE export_name = ?")
      .get(exportName) as { columns_json: string } | undefined;
    return row ? JSON.parse(row.columns_json) as ColumnInfo[] : undefined;
  }

  /**
   * Records files that are durably at their destination, atomically: a crash leaves all of them
   * recorded or none.
   */
  recordFiles(files: readonly FileRecord[]): void {
    this.transaction(() => {
      const insert = this.db.prepare(
        `INSERT INTO file_manifest (run_id, export_name, file_name, location, row_count, bytes, format, compression, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      );
      for (const f of files) {
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
    });
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

  /** Appends one run's metrics (written for every run: success, skipped or failed). */
  recordMetrics(m: MetricsRecord): void {
    this.db.prepare(
      `INSERT INTO export_metrics (export_name, run_id, run_at, duration_ms, total_rows, peak_rss_mb,
         status, error_message, tuning_profile, format, mode, files_produced, bytes_written, retries,
         validated, schema_changed)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
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
