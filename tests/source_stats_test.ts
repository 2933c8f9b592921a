/**
 * `Source.stats()` on both engines against the local servers: the longest statement and the
 * longest transaction a connection held, measured on the client, kept after close.
 *
 * Run: deno test --allow-all tests/source_stats_test.ts
 */
import assert from "node:assert/strict";
import { openSource } from "../src/source/open.ts";
import { SessionClock } from "../src/source/session_clock.ts";
import type { SessionStats, Source, StreamOptions } from "../src/source/source.ts";
import { sourceConfig, withSchema } from "./support/pg.ts";
import { withMysqlDb } from "./support/mysql.ts";

/** Reads every row of `text`, sleeping `pauseMs` after each batch; returns the row count. */
async function drain(
  source: Source,
  text: string,
  options: StreamOptions,
  pauseMs = 0,
): Promise<number> {
  const { batches } = await source.query({ text, params: [] }, options);
  let rows = 0;
  for await (const batch of batches) {
    rows += batch.numRows;
    if (pauseMs > 0) await new Promise((resolve) => setTimeout(resolve, pauseMs));
  }
  return rows;
}

function wait(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function show(stats: SessionStats): string {
  return `statement ${stats.longestStatementMs.toFixed(1)} ms, ` +
    `transaction ${stats.longestTransactionMs.toFixed(1)} ms`;
}

const SERIES_50 = "CREATE TABLE t AS SELECT g AS id FROM generate_series(1, 50) g";

Deno.test("session clock: statements outside a transaction are transactions of their own", async () => {
  const clock = new SessionClock();
  await clock.time(() => wait(30));
  let stats = clock.stats();
  assert.ok(stats.longestStatementMs >= 29, show(stats));
  assert.equal(stats.longestTransactionMs, stats.longestStatementMs);

  clock.beginTransaction();
  const end = clock.statement();
  await wait(60);
  // Open spans count up to now.
  stats = clock.stats();
  assert.ok(stats.longestStatementMs >= 59 && stats.longestTransactionMs >= 59, show(stats));
  end();
  end();
  await wait(30);
  clock.stop();
  stats = clock.stats();
  assert.ok(stats.longestStatementMs >= 59 && stats.longestStatementMs < 85, show(stats));
  assert.ok(stats.longestTransactionMs >= 89, show(stats));
  await wait(20);
  assert.deepEqual(clock.stats(), stats, "nothing is open after stop(): the stats stay put");
});

Deno.test("stats: a throttled FETCH read holds one long transaction of short statements", async () => {
  await withSchema(SERIES_50, async (schema) => {
    const source = await openSource(sourceConfig(schema, { throttleMs: 200 }));
    try {
      const rows = await drain(source, "SELECT id FROM t ORDER BY id", {
        batchRows: 10,
        throttleMs: 200,
      });
      assert.equal(rows, 50);
    } finally {
      await source.close();
    }
    const stats = source.stats();
    // Five batches, each followed by the throttle, all inside the read's transaction.
    assert.ok(stats.longestTransactionMs >= 800, show(stats));
    assert.ok(stats.longestStatementMs < 150, show(stats));
  });
});

Deno.test("stats: PostgreSQL COPY is one statement until its stream ends", async () => {
  // ~40 MB: far more than the socket buffers hold, so the server is still sending while the
  // consumer pauses between batches (a result that fits in the buffers ends the COPY at once).
  await withSchema(
    "CREATE TABLE t AS SELECT g AS id, repeat('x', 100) AS pad FROM generate_series(1, 400000) g",
    async (schema) => {
      const source = await openSource(sourceConfig(schema));
      const started = performance.now();
      try {
        // No throttle, no timeout: the COPY path.
        const rows = await drain(
          source,
          "SELECT id, pad FROM t",
          { batchRows: 50_000, throttleMs: 0 },
          100,
        );
        assert.equal(rows, 400_000);
      } finally {
        await source.close();
      }
      const stats = source.stats();
      assert.ok(stats.longestStatementMs >= 300, show(stats));
      assert.ok(stats.longestStatementMs <= performance.now() - started, show(stats));
      assert.ok(stats.longestTransactionMs >= stats.longestStatementMs, show(stats));
    },
  );
});

Deno.test("stats: a pinned PostgreSQL snapshot's transaction lasts until close", async () => {
  await withSchema(SERIES_50, async (schema) => {
    const source = await openSource(sourceConfig(schema));
    let closedAt = 0;
    const pinnedAt = performance.now();
    try {
      await source.pinSnapshot();
      assert.equal(await drain(source, "SELECT id FROM t", { batchRows: 100, throttleMs: 0 }), 50);
      await wait(300);
      assert.ok(source.stats().longestTransactionMs >= 300, "an open transaction counts so far");
    } finally {
      closedAt = performance.now();
      await source.close();
    }
    const stats = source.stats();
    assert.ok(stats.longestTransactionMs >= closedAt - pinnedAt - 5, show(stats));
    assert.ok(stats.longestStatementMs < 150, show(stats));
    await wait(50);
    assert.deepEqual(source.stats(), stats, "kept, unchanged, after close()");
  });
});

const PACED = `CREATE TABLE paced (id INT PRIMARY KEY);
  INSERT INTO paced WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < 25)
  SELECT n FROM s;`;

Deno.test("stats: a MySQL streamed read is one statement (and transaction) for its whole duration", async () => {
  await withMysqlDb(PACED, async (db) => {
    const source = await openSource(db.config({ throttle_ms: 200 }));
    let elapsed = 0;
    try {
      const started = performance.now();
      const rows = await drain(source, "SELECT id FROM paced ORDER BY id", {
        batchRows: 5,
        throttleMs: 200,
      });
      elapsed = performance.now() - started;
      assert.equal(rows, 25);
    } finally {
      await source.close();
    }
    const stats = source.stats();
    // The describe before the read is a separate, short statement: the stream is the rest.
    assert.ok(stats.longestStatementMs >= 800, show(stats));
    assert.ok(stats.longestStatementMs >= elapsed - 100, `${show(stats)}; read ${elapsed} ms`);
    assert.ok(stats.longestStatementMs <= elapsed, `${show(stats)}; read ${elapsed} ms`);
    assert.equal(stats.longestTransactionMs, stats.longestStatementMs, "autocommit");
  });
});

Deno.test("stats: a pinned MySQL snapshot's transaction lasts until close", async () => {
  await withMysqlDb(PACED, async (db) => {
    const source = await openSource(db.config());
    let closedAt = 0;
    const pinnedAt = performance.now();
    try {
      await source.pinSnapshot();
      const rows = await drain(source, "SELECT id FROM paced", { batchRows: 100, throttleMs: 0 });
      assert.equal(rows, 25);
      await wait(300);
    } finally {
      closedAt = performance.now();
      await source.close();
    }
    const stats = source.stats();
    assert.ok(stats.longestTransactionMs >= closedAt - pinnedAt - 20, show(stats));
    assert.ok(stats.longestStatementMs < 150, show(stats));
    await wait(50);
    assert.deepEqual(source.stats(), stats, "kept, unchanged, after close()");
  });
});
