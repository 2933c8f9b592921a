/**
 * `statement_timeout_s` on MySQL/MariaDB against the local MariaDB: it bounds a read's start (until
 * the first row) on the client and rivet's own statements on the server, never the streaming, so a
 * throttled read outlives it while a query that does not start in time is stopped.
 *
 * Run: deno test --allow-all tests/mysql_timeout_test.ts
 */
import assert from "node:assert/strict";
import { SourceError } from "../src/errors.ts";
import { MysqlSession } from "../src/source/mysql/connect.ts";
import { openMysql } from "../src/source/mysql/mod.ts";
import { MysqlStream } from "../src/source/mysql/stream.ts";
import { type MysqlTestDb, withMysqlDb } from "./support/mysql.ts";

const TIMEOUT_S = 1;

/** The server threads (other than the asking one) running a statement that contains `marker`. */
async function running(db: MysqlTestDb, marker: string): Promise<number> {
  const [[count]] = await db.textRows(
    "SELECT COUNT(*) FROM information_schema.PROCESSLIST " +
      `WHERE INFO LIKE '%${marker}%' AND ID <> CONNECTION_ID()`,
  );
  return Number(count);
}

/** Polls until no thread runs `marker`'s statement; false if one still does after `ms`. */
async function gone(db: MysqlTestDb, marker: string, ms: number): Promise<boolean> {
  const deadline = performance.now() + ms;
  for (;;) {
    if (await running(db, marker) === 0) return true;
    if (performance.now() >= deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

function marked(prefix: string): string {
  return `rivet_${prefix}_${crypto.randomUUID().slice(0, 8)}`;
}

/** ~24 MB: far more than the socket buffers hold, so the server sends for most of the read. */
const WIDE = `SET SESSION max_recursive_iterations = 1000000;
  CREATE TABLE wide (id INT PRIMARY KEY, pad TEXT);
  INSERT INTO wide WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < 6000)
  SELECT n, REPEAT('x', 4000) FROM s;`;

Deno.test("mysql timeout: a throttled read lasting several timeouts completes with every row", async () => {
  await withMysqlDb(WIDE, async (db) => {
    const marker = marked("paced");
    const throttleMs = 300;
    const source = await openMysql(
      db.config({ statement_timeout_s: TIMEOUT_S, throttle_ms: throttleMs }),
    );
    try {
      const started = performance.now();
      const { batches } = await source.query(
        { text: `SELECT /* ${marker} */ id, pad FROM wide ORDER BY id`, params: [] },
        { batchRows: 500, throttleMs },
      );
      let next = 1;
      let sendingPastTimeout = false;
      for await (const batch of batches) {
        for (const id of batch.getChildAt(0)!) assert.equal(id, next++);
        if (performance.now() - started > 1_500 * TIMEOUT_S && !sendingPastTimeout) {
          // What makes this test mean anything: the server statement outlives the timeout.
          sendingPastTimeout = await running(db, marker) === 1;
        }
      }
      const elapsed = performance.now() - started;
      assert.equal(next - 1, 6000);
      assert.ok(elapsed >= 3_000 * TIMEOUT_S, `the read took only ${elapsed.toFixed(0)} ms`);
      assert.ok(sendingPastTimeout, "the statement had ended before the timeout passed");
      assert.ok(source.stats().longestStatementMs >= 3_000 * TIMEOUT_S);
    } finally {
      await source.close();
    }
  });
});

Deno.test("mysql timeout: server work past the timeout before the first row is a timeout error", async () => {
  await withMysqlDb(
    "CREATE TABLE t (id INT PRIMARY KEY); INSERT INTO t VALUES (1), (2), (3);",
    async (db) => {
      const queries = [
        // No table: the server evaluates SLEEP before it even sends the column definitions.
        (marker: string) => `SELECT /* ${marker} */ SLEEP(3) AS s`,
        // LIMIT makes the derived table materialized: three seconds of work before any row.
        (marker: string) =>
          `SELECT /* ${marker} */ d.id FROM (SELECT id FROM t WHERE SLEEP(1) = 0 ORDER BY id ` +
          "LIMIT 10) AS d",
      ];
      for (const query of queries) {
        const marker = marked("slow");
        const source = await openMysql(db.config({ statement_timeout_s: TIMEOUT_S }));
        const started = performance.now();
        try {
          await assert.rejects(
            async () => {
              const { batches } = await source.query({ text: query(marker), params: [] }, {
                batchRows: 10,
                throttleMs: 0,
              });
              for await (const _ of batches) { /* drained */ }
            },
            (error: unknown) => {
              assert.ok(error instanceof SourceError, String(error));
              assert.equal(error.retryClass, "timeout", error.message);
              assert.match(error.message, /statement_timeout_s \(1 s\)/);
              assert.match(error.message, /until the first row/);
              return true;
            },
          );
          const elapsed = performance.now() - started;
          assert.ok(
            elapsed >= 1_000 * TIMEOUT_S - 50 && elapsed < 2_000 * TIMEOUT_S,
            `failed after ${elapsed.toFixed(0)} ms`,
          );
          assert.ok(await gone(db, marker, 500), `${query(marker)} still runs on the server`);
        } finally {
          await source.close();
        }
      }
    },
  );
});

Deno.test("mysql timeout: rivet's own statements keep the server's limit, streamed reads do not", async () => {
  await withMysqlDb("", async (db) => {
    const session = await MysqlSession.open(db.config({ statement_timeout_s: TIMEOUT_S }));
    try {
      assert.deepEqual(await session.run("SELECT @@max_statement_time"), [[TIMEOUT_S]]);
      const { result } = await MysqlStream.start(
        session,
        "SELECT @@max_statement_time AS m",
        { batchRows: 10, throttleMs: 0 },
        "binary",
      );
      const seen: unknown[] = [];
      for await (const batch of result.batches) seen.push(...batch.getChildAt(0)!);
      assert.deepEqual(seen, [0], "the streamed read runs without the server's limit");
      assert.deepEqual(await session.run("SELECT @@max_statement_time"), [[TIMEOUT_S]]);
      const started = performance.now();
      await assert.rejects(session.run("SELECT SLEEP(3)"), (error: unknown) => {
        assert.ok(error instanceof SourceError, String(error));
        assert.equal(error.retryClass, "timeout", error.message);
        assert.equal(error.code, "1969");
        return true;
      });
      assert.ok(performance.now() - started < 2_000 * TIMEOUT_S);
    } finally {
      await session.close();
    }
  });
});
