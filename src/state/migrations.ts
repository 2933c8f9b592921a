/**
 * Versioned schema migrations of the state database. Each entry runs once, in order, inside a
 * transaction that also records the new version; released migrations are never edited.
 *
 * @module
 */
import type { DatabaseSync } from "node:sqlite";
import { RivetError } from "../errors.ts";

/** Ordered DDL steps; index + 1 is the schema version each one produces. */
export const MIGRATIONS: readonly string[] = [
  `CREATE TABLE export_state (
     export_name TEXT PRIMARY KEY,
     last_cursor_value TEXT,
     last_run_at TEXT,
     cursor_column TEXT,
     cursor_kind TEXT
   );
   CREATE TABLE export_metrics (
     id INTEGER PRIMARY KEY AUTOINCREMENT,
     export_name TEXT NOT NULL,
     run_id TEXT NOT NULL,
     run_at TEXT NOT NULL,
     duration_ms INTEGER NOT NULL,
     total_rows INTEGER NOT NULL,
     peak_rss_mb INTEGER,
     status TEXT NOT NULL,
     error_message TEXT,
     tuning_profile TEXT,
     format TEXT,
     mode TEXT,
     files_produced INTEGER NOT NULL DEFAULT 0,
     bytes_written INTEGER NOT NULL DEFAULT 0,
     retries INTEGER NOT NULL DEFAULT 0,
     validated INTEGER,
     schema_changed INTEGER
   );
   CREATE INDEX idx_export_metrics_export ON export_metrics(export_name, id DESC);
   CREATE TABLE export_schema (
     export_name TEXT PRIMARY KEY,
     columns_json TEXT NOT NULL,
     updated_at TEXT NOT NULL
   );
   CREATE TABLE file_manifest (
     id INTEGER PRIMARY KEY AUTOINCREMENT,
     run_id TEXT NOT NULL,
     export_name TEXT NOT NULL,
     file_name TEXT NOT NULL,
     location TEXT NOT NULL,
     row_count INTEGER NOT NULL,
     bytes INTEGER NOT NULL,
     format TEXT NOT NULL,
     compression TEXT,
     created_at TEXT NOT NULL
   );
   CREATE INDEX idx_file_manifest_export ON file_manifest(export_name, id DESC);`,
  // 2: chunked-mode checkpoints. A chunk run keeps its plan (every window's bounds) so that
  // `--resume` replays exactly the windows not yet delivered, and the identity of what it read
  // (query, chunk column and size, source) so that a changed export is never resumed. A window
  // being published lists its files in `delivering` first, so that a crash between publishing
  // and recording can be undone on resume instead of delivering the window twice.
  `CREATE TABLE chunk_run (
     run_id TEXT PRIMARY KEY,
     export_name TEXT NOT NULL,
     status TEXT NOT NULL,
     query_sha256 TEXT NOT NULL,
     source_id TEXT NOT NULL,
     chunk_column TEXT NOT NULL,
     chunk_size INTEGER NOT NULL,
     windows INTEGER NOT NULL,
     created_at TEXT NOT NULL,
     updated_at TEXT NOT NULL
   );
   CREATE INDEX idx_chunk_run_export ON chunk_run(export_name, created_at DESC);
   CREATE TABLE chunk_task (
     run_id TEXT NOT NULL,
     chunk_index INTEGER NOT NULL,
     bound_kind TEXT NOT NULL,
     lo TEXT NOT NULL,
     hi TEXT NOT NULL,
     hi_inclusive INTEGER NOT NULL,
     status TEXT NOT NULL,
     delivering TEXT,
     rows INTEGER,
     files INTEGER,
     updated_at TEXT,
     PRIMARY KEY (run_id, chunk_index)
   );`,
  // 3: what each run imposed on the source: its longest statement and longest transaction.
  `ALTER TABLE export_metrics ADD COLUMN longest_statement_ms INTEGER;
   ALTER TABLE export_metrics ADD COLUMN longest_transaction_ms INTEGER;`,
  // 4: the last preflight check of each export, which a run warns about when it was poor.
  `CREATE TABLE check_result (
     id INTEGER PRIMARY KEY AUTOINCREMENT,
     export_name TEXT NOT NULL,
     checked_at TEXT NOT NULL,
     verdict TEXT,
     strategy TEXT NOT NULL,
     row_estimate REAL,
     report_json TEXT NOT NULL
   );
   CREATE INDEX idx_check_result_export ON check_result(export_name, id DESC);`,
  // 5: the outcome of each run's data gates (quality rules, --reconcile).
  `ALTER TABLE export_metrics ADD COLUMN quality_passed INTEGER;
   ALTER TABLE export_metrics ADD COLUMN reconciled INTEGER;`,
  // 6: deliveries in progress, for every mode: a piece lists its files (and the staging directory
  // of the process delivering them) before any becomes visible, so that the files of a delivery
  // whose process died are removed by the next run instead of lingering unrecorded and
  // duplicating rows. Replaces the chunk-only `chunk_task.delivering`.
  `CREATE TABLE pending_delivery (
     export_name TEXT NOT NULL,
     run_id TEXT NOT NULL,
     piece INTEGER NOT NULL,
     owner TEXT NOT NULL,
     locations_json TEXT NOT NULL,
     started_at TEXT NOT NULL,
     PRIMARY KEY (export_name, run_id, piece)
   );
   INSERT INTO pending_delivery (export_name, run_id, piece, owner, locations_json, started_at)
     SELECT r.export_name, t.run_id, t.chunk_index, '', t.delivering, coalesce(t.updated_at, '')
     FROM chunk_task t JOIN chunk_run r ON r.run_id = t.run_id
     WHERE t.status = 'delivering' AND t.delivering IS NOT NULL;
   UPDATE chunk_task SET status = 'pending' WHERE status = 'delivering';
   ALTER TABLE chunk_task DROP COLUMN delivering;`,
];

/** Brings `db` to the latest version. Refuses a database written by a newer rivet. */
export function migrate(db: DatabaseSync): void {
  db.exec("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)");
  // BEGIN IMMEDIATE takes the write lock first, so two processes cannot both apply a step.
  db.exec("BEGIN IMMEDIATE");
  try {
    const row = db.prepare("SELECT MAX(version) AS v FROM schema_version").get() as
      | { v: number | null }
      | undefined;
    const current = row?.v ?? 0;
    if (current > MIGRATIONS.length) {
      throw new RivetError(
        `state database schema version ${current} is newer than this rivet supports (${MIGRATIONS.length}); upgrade rivet`,
      );
    }
    for (let v = current; v < MIGRATIONS.length; v++) {
      db.exec(MIGRATIONS[v]);
      db.prepare("INSERT INTO schema_version (version) VALUES (?)").run(v + 1);
    }
    db.exec("COMMIT");
  } catch (err) {
    db.exec("ROLLBACK");
    throw err;
  }
}
