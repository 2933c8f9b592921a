/**
 * A consistent snapshot on MySQL/MariaDB: one read-only transaction that every query of the
 * connection runs in, until it closes.
 *
 * Facts from the MySQL 8 and MariaDB manuals ("Consistent Nonlocking Reads", `START TRANSACTION`)
 * this relies on:
 * - `START TRANSACTION WITH CONSISTENT SNAPSHOT` creates the InnoDB read view at once (a plain
 *   `START TRANSACTION` would wait for the first read), so the snapshot is the moment of the pin.
 * - It only does so at REPEATABLE READ: at READ COMMITTED (a common server default) every
 *   statement would see the latest commits. `SET TRANSACTION ISOLATION LEVEL` (no `SESSION`)
 *   fixes the level for this one transaction.
 * - The `READ ONLY` modifier is MySQL 5.6.5+ and MariaDB 10.0+.
 * - The snapshot belongs to its connection: it cannot be exported, so parallel connections each
 *   pin their own, at slightly different moments.
 * - Only transactional tables (InnoDB) are read as of the snapshot; MyISAM, MEMORY and other
 *   non-transactional tables always show their latest rows.
 * - A statement that commits implicitly (DDL, `LOCK TABLES`, `START TRANSACTION`, ...) ends the
 *   transaction. The source only runs SELECTs and describes them with `COM_STMT_PREPARE` (a
 *   protocol command, not the SQL `PREPARE`), which commits nothing.
 * - A table altered, truncated or created by another connection after the snapshot cannot be
 *   read in it: error 1412, "Table definition has changed, please retry transaction".
 * - A deadlock or lock wait timeout (with `innodb_rollback_on_timeout`) rolls the whole
 *   transaction back, after which statements would run outside it: so any failed read ends the
 *   pin for the source (see `mod.ts`).
 *
 * @module
 */
import type { MysqlSession } from "./connect.ts";

/**
 * Starts the connection's snapshot transaction; for `Source.stats()` it lasts until the
 * connection ends.
 */
export async function startSnapshot(session: MysqlSession): Promise<void> {
  await session.run("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ");
  session.clock.beginTransaction();
  try {
    await session.run("START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY");
  } catch (error) {
    session.clock.endTransaction();
    throw error;
  }
}
