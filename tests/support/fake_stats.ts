/**
 * Makes a small table look large to the planner, without inserting the rows: for tests of what
 * rivet does with a plan over tens of millions of rows (`Source.explain`, `rivet check`).
 *
 * Works on a scratch namespace of `engines.ts` (PostgreSQL, MariaDB); the changes live in the
 * server's statistics of that table only and go away with the namespace.
 *
 * @module
 */
import type { TestDb } from "./engines.ts";

/**
 * Makes the planner estimate that `table` (a plain, unquoted name in `db.ns`) holds `rows` rows,
 * and checks that it does: `EXPLAIN SELECT * FROM <table>` must say `rows` (within 1%), or this
 * throws. Call it after the table's indexes are created and after any ANALYZE, which would
 * overwrite it.
 *
 * - PostgreSQL (superuser): autovacuum is turned off for the table, so no autoanalyze resets the
 *   figures, and `pg_class.reltuples` of the table and of its indexes is set to `rows`. The
 *   planner scales `reltuples / relpages` by the relation's current size in pages, so `relpages`
 *   is set to that size: a `relpages` of its own (say 500000) would shrink the estimate to
 *   `rows × real pages / relpages`. The table must hold at least one row: an empty table has no
 *   page to scale. Inserting rows afterwards grows the estimate with the pages they fill. Row
 *   estimates under a predicate are the histogram's selectivity (from the last ANALYZE) times
 *   `rows`.
 * - MariaDB: an engine-independent table statistic (`mysql.table_stats.cardinality`), which the
 *   optimizer prefers to InnoDB's own row count under the default `use_stat_tables`
 *   (`PREFERABLY_FOR_QUERIES`), then `FLUSH TABLES` so the table is reopened with it. InnoDB's
 *   persistent statistics (`mysql.innodb_table_stats.n_rows` + `FLUSH TABLE`) do not work on
 *   MariaDB 10.11: InnoDB keeps the figures it has cached. Full scans then estimate `rows`;
 *   range and lookup estimates still come from the real index (index dives, index statistics),
 *   so an indexed predicate keeps its real, small estimate. MySQL 8 has no `mysql.table_stats`:
 *   there this throws.
 */
export async function pretendRows(db: TestDb, table: string, rows: number): Promise<void> {
  if (!Number.isSafeInteger(rows) || rows < 1) {
    throw new RangeError(`rows must be a positive integer, got ${rows}`);
  }
  const qualified = `${db.ns}.${table}`;
  if (db.engine === "postgres") {
    const [[bytes]] = await db.textRows(`SELECT pg_relation_size('${qualified}')`);
    if (Number(bytes) === 0) {
      throw new Error(
        `pretendRows: ${qualified} is empty; PostgreSQL scales the row count by the table's ` +
          "real size, so insert at least one row first",
      );
    }
    await db.exec(
      `ALTER TABLE ${qualified} SET (autovacuum_enabled = false);
       UPDATE pg_class
          SET reltuples = ${rows},
              relpages = greatest(1, pg_relation_size(oid) / current_setting('block_size')::int)
        WHERE oid = '${qualified}'::regclass
           OR oid IN (SELECT indexrelid FROM pg_index WHERE indrelid = '${qualified}'::regclass)`,
    );
  } else {
    await db.exec(
      `REPLACE INTO mysql.table_stats (db_name, table_name, cardinality)
         VALUES ('${db.ns}', '${table}', ${rows});
       FLUSH TABLES ${qualified}`,
    );
  }
  const seen = await fullReadEstimate(db, qualified);
  if (seen === undefined || Math.abs(seen - rows) > rows / 100) {
    throw new Error(
      `pretendRows: the planner estimates ${seen} rows for ${qualified}, not ${rows}`,
    );
  }
}

/** The planner's row estimate of `SELECT * FROM <qualified>`, read from its JSON plan. */
async function fullReadEstimate(db: TestDb, qualified: string): Promise<number | undefined> {
  const postgres = db.engine === "postgres";
  const explain = postgres ? "EXPLAIN (FORMAT JSON)" : "EXPLAIN FORMAT=JSON";
  const [[plan]] = await db.textRows(`${explain} SELECT * FROM ${qualified}`);
  // A lone table read is the plan's only node: its first row count is the one.
  const found = (postgres ? /"Plan Rows": (\d+)/ : /"rows": (\d+)/).exec(plan ?? "");
  return found === null ? undefined : Number(found[1]);
}
