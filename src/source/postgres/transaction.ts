/**
 * The transactions PostgreSQL reads run in: one per query, or one snapshot pinned for them all.
 *
 * Unpinned (the default), every read opens its own `BEGIN READ ONLY` transaction, commits it once
 * its rows are read and rolls it back when it stops early.
 *
 * Pinned ({@link PgTransactions.pin}), the connection holds one
 * `BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY` transaction from the pin until it closes, and
 * every read runs inside it: a read only closes its cursor. Facts from the PostgreSQL docs
 * ("Snapshot Synchronization Functions", `SET TRANSACTION`) this relies on:
 * - `pg_export_snapshot()` names the transaction's snapshot; another session imports it with
 *   `SET TRANSACTION SNAPSHOT '<id>'` as the first statement of a REPEATABLE READ (or
 *   SERIALIZABLE) transaction and then sees exactly the same data, whatever commits later.
 * - An id can be imported only while the exporting transaction is open; once it ends (its
 *   connection closed), importing fails and the snapshot is gone for good.
 * - The importing transactions do not depend on the exporter after the import.
 * - A statement that fails aborts the transaction: the snapshot is lost for this connection, so
 *   later reads are refused rather than run outside it. The caller closes the connection.
 * - Like any long transaction, a pinned one holds back VACUUM's cleanup horizon on the server
 *   until it ends.
 *
 * @module
 */
import { errorMessage, SourceError } from "../../errors.ts";
import { LOCAL_FORMAT_SQL, type PgSession, type TextRow } from "./connect.ts";

/** Opens a read's own transaction, with the format settings (see {@link LOCAL_FORMAT_SQL}). */
const BEGIN_SQL = `BEGIN READ ONLY; ${LOCAL_FORMAT_SQL}`;

/** The shape of `pg_export_snapshot()` ids (e.g. `00000003-0000001B-1`). */
const SNAPSHOT_ID = /^[0-9A-F]+-[0-9A-F]+-[0-9]+$/i;

/**
 * SQLSTATEs of `SET TRANSACTION SNAPSHOT` when the id names no live snapshot:
 * invalid_parameter_value ("invalid snapshot identifier") and object_not_in_prerequisite_state
 * ("could not import the requested snapshot": the exporting process is gone).
 */
const SNAPSHOT_GONE = new Set(["22023", "55000"]);

const SAVEPOINT = "_rivet_s";

/** The transaction policy of one session: per read, or one pinned snapshot. */
export class PgTransactions {
  /** The session the reads run on. */
  readonly session: PgSession;
  #pinned = false;
  /** Set once the pinned transaction can no longer be used, with the reason. */
  #lost: SourceError | undefined;

  /** Starts unpinned: each read in its own transaction. */
  constructor(session: PgSession) {
    this.session = session;
  }

  /**
   * Opens the pinned transaction: exports its snapshot and returns the id, or, given `snapshot`,
   * imports it and returns it. A snapshot that no longer exists is a permanent
   * {@link SourceError}: retrying cannot bring it back.
   */
  async pin(snapshot?: string): Promise<string> {
    if (this.#pinned) throw new Error("PostgreSQL: the connection is already pinned to a snapshot");
    // From here on a failure leaves the connection refusing reads, never reading unpinned.
    this.#pinned = true;
    if (snapshot !== undefined && !SNAPSHOT_ID.test(snapshot)) {
      const malformed = new SourceError(
        `PostgreSQL: ${JSON.stringify(snapshot)} is not a snapshot id (pg_export_snapshot() ` +
          `returns ids like 00000003-0000001B-1)`,
        "permanent",
      );
      this.#lose(malformed);
      throw malformed;
    }
    const statements = ["BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"];
    // The id was checked above: it holds no quote, so it can stand in the literal as is.
    if (snapshot !== undefined) statements.push(`SET TRANSACTION SNAPSHOT '${snapshot}'`);
    statements.push(LOCAL_FORMAT_SQL);
    this.session.clock.beginTransaction();
    try {
      await this.session.run(statements.join("; "));
      if (snapshot !== undefined) return snapshot;
      const { rows } = await this.session.run("SELECT pg_export_snapshot()");
      return textOf(rows);
    } catch (error) {
      const failure = snapshot !== undefined && error instanceof SourceError &&
          SNAPSHOT_GONE.has(error.code ?? "")
        ? new SourceError(
          `PostgreSQL: the run's snapshot ${snapshot} is no longer available (the connection ` +
            `that exported it has ended); \`rivet run --resume\` starts a new one ` +
            `(${error.message.replace(/^PostgreSQL: /, "")})`,
          "permanent",
          { cause: error, code: error.code },
        )
        : error;
      this.#lose(failure);
      await this.session.rollback();
      throw failure;
    }
  }

  /** Opens the transaction of one read; pinned, it is already open and only checked. */
  async begin(): Promise<void> {
    if (this.#lost !== undefined) throw this.#lost;
    if (this.#pinned) return;
    this.session.clock.beginTransaction();
    await this.session.run(BEGIN_SQL);
  }

  /** Ends a read whose rows were all read: closes `cursor` and, unless pinned, commits. */
  async finish(cursor?: string): Promise<void> {
    const close = cursor === undefined ? [] : [`CLOSE ${cursor}`];
    const sql = [...close, ...(this.#pinned ? [] : ["COMMIT"])].join("; ");
    if (sql !== "") await this.session.run(sql);
    if (!this.#pinned) this.session.clock.endTransaction();
  }

  /**
   * Ends a read that stopped early. `error` is why (undefined when the consumer just stopped
   * reading). Unpinned, the read's transaction is rolled back. Pinned, a consumer that stopped
   * only costs the cursor; a failure aborted the transaction, so it is rolled back and every
   * later read on this connection is refused.
   */
  async abandon(error: unknown, cursor?: string): Promise<void> {
    if (!this.#pinned) {
      await this.session.rollback();
      return;
    }
    if (error === undefined) {
      if (cursor === undefined) return;
      try {
        await this.session.run(`CLOSE ${cursor}`);
        return;
      } catch (closeError) {
        error = closeError;
      }
    }
    this.#lose(error);
    await this.session.rollback();
  }

  /**
   * Runs `body` so that its failure does not abort the pinned transaction (inside a savepoint);
   * unpinned, `body` runs as it is, outside any transaction.
   */
  async guarded<T>(body: () => Promise<T>): Promise<T> {
    if (!this.#pinned) return await body();
    if (this.#lost !== undefined) throw this.#lost;
    await this.session.run(`SAVEPOINT ${SAVEPOINT}`);
    let result: T;
    try {
      result = await body();
    } catch (error) {
      try {
        await this.session.run(`ROLLBACK TO SAVEPOINT ${SAVEPOINT}`);
      } catch (rollbackError) {
        this.#lose(rollbackError);
        await this.session.rollback();
      }
      throw error;
    }
    await this.session.run(`RELEASE SAVEPOINT ${SAVEPOINT}`);
    return result;
  }

  #lose(error: unknown): void {
    this.#lost ??= new SourceError(
      "PostgreSQL: this connection's snapshot transaction was aborted by an earlier failure " +
        `(${errorMessage(error).replace(/^PostgreSQL: /, "")}); close the connection and open ` +
        "a new one",
      "permanent",
    );
  }
}

function textOf(rows: readonly TextRow[]): string {
  const value = rows[0]?.[0];
  if (typeof value !== "string") {
    throw new SourceError("PostgreSQL: pg_export_snapshot() returned no id", "permanent");
  }
  return value;
}
