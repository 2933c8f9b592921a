/**
 * The planning parts of the Source seam against the local servers: `pinSnapshot` (one consistent
 * snapshot for every query of a connection, shared between connections on PostgreSQL) and
 * `estimateRows` (the planner's estimate, without running the query).
 *
 * Run: deno test --allow-all tests/source_snapshot_test.ts
 */
import assert from "node:assert/strict";
import type { RecordBatch } from "apache-arrow";
import { SourceError } from "../src/errors.ts";
import { usesCopy } from "../src/source/postgres/mod.ts";
import { openSource } from "../src/source/open.ts";
import type { Source, StreamOptions } from "../src/source/source.ts";
import type { SqlQuery, TypedValue } from "../src/sql.ts";
import type { SourceConfig } from "../src/config/types.ts";
import { sourceConfig, withSchema } from "./support/pg.ts";
import { withMysqlDb } from "./support/mysql.ts";

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

const OPTIONS: StreamOptions = { batchRows: 4, throttleMs: 0 };

function sql(text: string, params: TypedValue[] = []): SqlQuery {
  return { text, params };
}

/** The first column of every row, as text. */
async function column(source: Source, query: SqlQuery, batchRows = 4): Promise<string[]> {
  const { batches } = await source.query(query, { ...OPTIONS, batchRows });
  const out: string[] = [];
  for await (const batch of batches) out.push(...firstColumn(batch));
  return out;
}

function firstColumn(batch: RecordBatch): string[] {
  return [...batch.getChildAt(0)!].map((v) => String(v));
}

async function withSource<T>(config: SourceConfig, body: (s: Source) => Promise<T>): Promise<T> {
  const source = await openSource(config);
  try {
    return await body(source);
  } finally {
    await source.close();
  }
}

/** Awaits `fn`, expecting a SourceError; returns it. */
async function sourceError(fn: () => Promise<unknown>): Promise<SourceError> {
  try {
    await fn();
  } catch (error) {
    assert.ok(error instanceof SourceError, `expected a SourceError, got ${error}`);
    return error;
  }
  throw new assert.AssertionError({ message: "expected a SourceError" });
}

const range = (from: number, to: number) =>
  Array.from({ length: to - from + 1 }, (_, i) => String(from + i));

// ---------------------------------------------------------------------------------------------
// PostgreSQL: pinSnapshot
// ---------------------------------------------------------------------------------------------

type Path = "fetch" | "copy";

/** FETCH is forced by a statement timeout; COPY is what an unbounded read without params gets. */
function pgConfig(schema: string, path: Path): SourceConfig {
  return sourceConfig(schema, { statementTimeoutS: path === "fetch" ? 30 : 0 });
}

const PG_SETUP = "CREATE TABLE t (id int PRIMARY KEY, v text);" +
  "INSERT INTO t SELECT g, 'v' || g FROM generate_series(1, 10) g";

for (const path of ["fetch", "copy"] as const) {
  Deno.test(`postgres snapshot (${path}): a worker importing the snapshot sees what the coordinator saw`, async () => {
    await withSchema(PG_SETUP, async (schema, admin) => {
      const config = pgConfig(schema, path);
      const all = sql("SELECT id FROM t ORDER BY id");
      assert.equal(usesCopy(config, all, OPTIONS), path === "copy");
      await withSource(config, async (coordinator) => {
        const id = await coordinator.pinSnapshot();
        assert.match(id ?? "", /^[0-9A-F]+-[0-9A-F]+-[0-9]+$/i);
        // Committed by a third, ordinary connection after the export.
        await admin.query("INSERT INTO t VALUES (11, 'v11'); DELETE FROM t WHERE id = 1");
        await withSource(config, async (worker) => {
          assert.equal(await worker.pinSnapshot(id), id);
          // Several queries in a row on the pinned connection, FETCH (a parameter) and COPY mixed.
          assert.deepEqual(await column(worker, all), range(1, 10));
          const count = sql("SELECT count(*) FROM t WHERE id >= $1", [{ kind: "int", text: "1" }]);
          assert.equal(usesCopy(config, count, OPTIONS), false);
          assert.deepEqual(await column(worker, count), ["10"]);
          assert.deepEqual(await column(worker, sql("SELECT max(id) FROM t")), ["10"]);
          assert.deepEqual(await column(worker, all, 3), range(1, 10));
        });
        assert.deepEqual(await column(coordinator, all), range(1, 10));
      });
      // Outside the snapshot the changes are there.
      await withSource(config, async (fresh) => {
        assert.deepEqual(await column(fresh, sql("SELECT id FROM t ORDER BY id")), range(2, 11));
      });
    });
  });
}

Deno.test("postgres snapshot: the pinned transaction is read-only, repeatable read, with rivet's formats", async () => {
  await withSchema(PG_SETUP, async (schema) => {
    await withSource(pgConfig(schema, "fetch"), async (source) => {
      await source.pinSnapshot();
      const settings = sql(
        "SELECT current_setting('transaction_read_only') || ' ' || " +
          "current_setting('transaction_isolation') || ' ' || current_setting('TimeZone')",
      );
      assert.deepEqual(await column(source, settings), ["on repeatable read UTC"]);
      // now() is the transaction's start: every query runs in the same one.
      const started = sql("SELECT now()::text");
      const first = await column(source, started);
      await new Promise((resolve) => setTimeout(resolve, 20));
      assert.deepEqual(await column(source, started), first);
    });
  });
});

Deno.test("postgres snapshot: a consumer that stops early keeps the snapshot; a failed query ends it", async () => {
  await withSchema(PG_SETUP, async (schema, admin) => {
    await withSource(pgConfig(schema, "fetch"), async (source) => {
      await source.pinSnapshot();
      await admin.query("INSERT INTO t VALUES (11, 'v11')");
      const { batches } = await source.query(sql("SELECT id FROM t ORDER BY id"), OPTIONS);
      for await (const batch of batches) {
        assert.deepEqual(firstColumn(batch), range(1, 4));
        break;
      }
      assert.deepEqual(await column(source, sql("SELECT count(*) FROM t")), ["10"]);

      const failed = await sourceError(() => column(source, sql("SELECT * FROM missing")));
      assert.match(failed.message, /relation "missing" does not exist/);
      const refused = await sourceError(() => column(source, sql("SELECT 1")));
      assert.equal(refused.retryClass, "permanent");
      assert.match(refused.message, /snapshot transaction was aborted by an earlier failure/);
      assert.match(refused.message, /relation "missing" does not exist/);
      assert.match(refused.message, /close the connection/);
    });
  });
});

Deno.test("postgres snapshot: importing after the exporter closed fails permanently and clearly", async () => {
  await withSchema(PG_SETUP, async (schema) => {
    const config = pgConfig(schema, "copy");
    const id = await withSource(config, (coordinator) => coordinator.pinSnapshot());
    await withSource(config, async (worker) => {
      const gone = await sourceError(() => worker.pinSnapshot(id));
      assert.equal(gone.retryClass, "permanent");
      assert.equal(gone.code, "22023");
      assert.ok(gone.message.includes(`the run's snapshot ${id} is no longer available`));
      assert.match(gone.message, /`rivet run --resume` starts a new one/);
      assert.match(gone.message, /invalid snapshot identifier/);
      // Nothing runs outside the snapshot afterwards.
      const refused = await sourceError(() => column(worker, sql("SELECT 1")));
      assert.match(refused.message, /no longer available/);
    });
    await withSource(config, async (worker) => {
      const bad = await sourceError(() => worker.pinSnapshot("x'; DROP TABLE t; --"));
      assert.equal(bad.retryClass, "permanent");
      assert.match(bad.message, /is not a snapshot id/);
      // The connection does not fall back to reading unpinned.
      const refused = await sourceError(() => column(worker, sql("SELECT count(*) FROM t")));
      assert.match(refused.message, /is not a snapshot id/);
    });
  });
});

// ---------------------------------------------------------------------------------------------
// MySQL / MariaDB: pinSnapshot
// ---------------------------------------------------------------------------------------------

Deno.test("mysql snapshot: a pinned connection does not see rows committed after the pin", async () => {
  // The FLOAT column makes each read describe itself first (a prepared statement) and read the
  // widened wrapper: neither may end the snapshot.
  const setup = "CREATE TABLE t (id int PRIMARY KEY, f float) ENGINE=InnoDB;" +
    "INSERT INTO t VALUES (1, 1.5), (2, 2.5), (3, 3.5)";
  await withMysqlDb(setup, async (db) => {
    await withSource(db.config(), async (source) => {
      assert.equal(await source.pinSnapshot(), undefined);
      await db.exec("INSERT INTO t VALUES (4, 4.5); DELETE FROM t WHERE id = 1");
      const all = sql("SELECT id, f FROM t ORDER BY id");
      assert.deepEqual(await column(source, all), ["1", "2", "3"]);
      const since = sql("SELECT count(*) FROM t WHERE id >= ?", [{ kind: "int", text: "1" }]);
      assert.deepEqual(await column(source, since), ["3"]);
      assert.deepEqual(await column(source, sql("SELECT @@in_transaction")), ["1"]);
    });
    await withSource(db.config(), async (fresh) => {
      assert.deepEqual(await column(fresh, sql("SELECT id FROM t ORDER BY id")), ["2", "3", "4"]);
    });
  });
});

Deno.test("mysql snapshot: an id cannot be imported, and a failed read ends the pin", async () => {
  await withMysqlDb("CREATE TABLE t (id int PRIMARY KEY); INSERT INTO t VALUES (1)", async (db) => {
    await withSource(db.config(), async (source) => {
      await assert.rejects(() => source.pinSnapshot("x"), /cannot be shared between connections/);
      await source.pinSnapshot();
      await sourceError(() => column(source, sql("SELECT * FROM missing")));
      const refused = await sourceError(() => column(source, sql("SELECT 1")));
      assert.equal(refused.retryClass, "permanent");
      assert.match(refused.message, /snapshot transaction may have ended/);
    });
  });
});

// ---------------------------------------------------------------------------------------------
// estimateRows
// ---------------------------------------------------------------------------------------------

/** Within a factor of two of `truth`. */
function assertNear(estimate: number | undefined, truth: number): void {
  assert.ok(
    estimate !== undefined && estimate >= truth / 2 && estimate <= truth * 2,
    `estimate ${estimate} is not within 2x of ${truth}`,
  );
}

/** Runs `fn` and asserts it took less than `ms`. */
async function quick<T>(ms: number, fn: () => Promise<T>): Promise<T> {
  const start = performance.now();
  const result = await fn();
  const took = performance.now() - start;
  assert.ok(took < ms, `took ${Math.round(took)} ms`);
  return result;
}

Deno.test("postgres estimateRows: the planner's estimate, with bound values, without running", async () => {
  const setup = "CREATE TABLE big (id int PRIMARY KEY, v text);" +
    "INSERT INTO big SELECT g, md5(g::text) FROM generate_series(1, 10000) g; ANALYZE big";
  await withSchema(setup, async (schema) => {
    for (const path of ["fetch", "copy"] as const) {
      await withSource(pgConfig(schema, path), async (source) => {
        assertNear(await source.estimateRows(sql("SELECT * FROM big;")), 10_000);
        const above = sql("SELECT * FROM big WHERE id > $1", [{ kind: "int", text: "9000" }]);
        assertNear(await source.estimateRows(above), 1_000);
        const sleepy = sql("SELECT id, pg_sleep(10) FROM big");
        assertNear(await quick(3_000, () => source.estimateRows(sleepy)), 10_000);
        const bad = await sourceError(() => source.estimateRows(sql("SELECT nope FROM big")));
        assert.match(bad.message, /column "nope" does not exist/);
        // Pinned, a failed estimate runs in a savepoint: the snapshot stays usable.
        await source.pinSnapshot();
        await sourceError(() => source.estimateRows(sql("SELECT nope FROM big")));
        assertNear(await source.estimateRows(above), 1_000);
        assert.deepEqual(await column(source, sql("SELECT count(*) FROM big")), ["10000"]);
      });
    }
  });
});

Deno.test("postgres estimateRows: statement_timeout applies to EXPLAIN", async () => {
  // The planner folds an IMMUTABLE call with constant arguments, so this sleeps while planning.
  const setup = "CREATE FUNCTION slow_const() RETURNS int LANGUAGE plpgsql IMMUTABLE AS " +
    "$$ BEGIN PERFORM pg_sleep(5); RETURN 1; END $$";
  await withSchema(setup, async (schema) => {
    await withSource(sourceConfig(schema, { statementTimeoutS: 0.2 }), async (source) => {
      const slow = await sourceError(() =>
        quick(3_000, () => source.estimateRows(sql("SELECT slow_const()")))
      );
      assert.equal(slow.retryClass, "timeout");
    });
  });
});

Deno.test("mysql estimateRows: the optimizer's estimate, with bound values, without running", async () => {
  const values = Array.from({ length: 10_000 }, (_, i) => `(${i + 1}, MD5(${i + 1}))`).join(",");
  const setup = `CREATE TABLE big (id int PRIMARY KEY, v varchar(32)) ENGINE=InnoDB;
    INSERT INTO big VALUES ${values}; ANALYZE TABLE big`;
  await withMysqlDb(setup, async (db) => {
    await withSource(db.config(), async (source) => {
      assertNear(await source.estimateRows(sql("SELECT * FROM big;")), 10_000);
      const above = sql("SELECT * FROM big WHERE id > ?", [{ kind: "int", text: "9000" }]);
      assertNear(await source.estimateRows(above), 1_000);
      const sleepy = sql("SELECT id, SLEEP(10) FROM big");
      assertNear(await quick(3_000, () => source.estimateRows(sleepy)), 10_000);
      assert.equal(await source.estimateRows(sql("SELECT 1")), undefined);
      // The derived table the incremental planner wraps queries in counts as one table.
      const wrapped = sql("SELECT * FROM (SELECT * FROM big) AS q WHERE q.id > ?", [
        { kind: "int", text: "9000" },
      ]);
      assertNear(await source.estimateRows(wrapped), 1_000);
      // Pinned, the estimate runs in the snapshot transaction and leaves it open.
      await source.pinSnapshot();
      assertNear(await source.estimateRows(above), 1_000);
      assert.deepEqual(await column(source, sql("SELECT @@in_transaction")), ["1"]);
    });
  });
});
