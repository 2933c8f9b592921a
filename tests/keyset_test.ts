/**
 * Keyset paging (`key_column`) through the real CLI on both engines (and through the pipeline,
 * for a hook on the batches it writes): every row once in every mode, short statements and
 * transactions, retries that continue from the last page, a page's memory released once it is
 * written, and loud failures where paging could skip rows (a NULL or non-unique key).
 */
import assert from "node:assert/strict";
import type { RecordBatch } from "apache-arrow";
import { join } from "node:path";
import { parseSummaries, rivet, spawnRivet } from "./support/cli.ts";
import { ENGINES, type TestDb, withDb, withDedicatedLogin } from "./support/engines.ts";
import { listDir, withTempDir, writeFile } from "./support/files.ts";
import { runCsv } from "./support/passthrough_runs.ts";
import { readCsv } from "./support/read_csv.ts";
import { readParquet } from "./support/read_parquet.ts";

async function createItems(db: TestDb, rows: number, groups = rows): Promise<void> {
  const ts = db.engine === "postgres" ? "timestamp(6)" : "datetime(6)";
  await db.exec(
    `CREATE TABLE ${db.ns}.items (id bigint PRIMARY KEY, grp ${ts} NOT NULL, note varchar(40))`,
  );
  const series = db.engine === "postgres"
    ? `generate_series(1, ${rows}) AS s(n)`
    : `(SELECT seq AS n FROM ${db.ns}.seq_1_to_${rows}) AS s`;
  const grp = db.engine === "postgres"
    ? `TIMESTAMP '2024-01-01 00:00:00' + (n % ${groups}) * INTERVAL '1 hour'`
    : `TIMESTAMP '2024-01-01 00:00:00' + INTERVAL (n % ${groups}) HOUR`;
  await db.exec(
    `INSERT INTO ${db.ns}.items SELECT n, ${grp}, CONCAT('note ', n) FROM ${series}`,
  );
  await db.exec(
    db.engine === "postgres" ? `ANALYZE ${db.ns}.items` : `ANALYZE TABLE ${db.ns}.items`,
  );
}

async function config(
  url: string,
  dir: string,
  engine: string,
  exportLines: string[][],
  tuning: string,
): Promise<string> {
  const lines = [
    "source:",
    `  type: ${engine}`,
    `  url: "${url}"`,
    `  tuning: { ${tuning} }`,
    "exports:",
  ];
  exportLines.forEach((e, i) => {
    lines.push(`  - name: e${i}`, ...e.map((l) => `    ${l}`));
    lines.push("    destination: { type: local, path: ./out }");
  });
  return await writeFile(dir, "rivet.yaml", lines.join("\n") + "\n");
}

/** The ids in every Parquet file of export `name`, in file order, files in name order. */
async function idsOf(dir: string, name: string): Promise<number[]> {
  const ids: number[] = [];
  for (const file of await listDir(join(dir, "out"))) {
    if (!file.startsWith(`${name}_`)) continue;
    ids.push(...(await readParquet(join(dir, "out", file))).rows.map((r) => Number(r.id)));
  }
  return ids;
}

const range = (from: number, to: number) =>
  Array.from({ length: to - from + 1 }, (_, i) => from + i);

for (const engine of ENGINES) {
  Deno.test(`keyset ${engine.name}: full, incremental (cursor + tie-breaker), chunked and time_window read every row once, page by page`, async () => {
    await withDb(engine, async (db) => {
      await createItems(db, 2000, 7);
      await withTempDir(async (dir) => {
        const q = `query: "SELECT * FROM ${db.ns}.items"`;
        const path = await config(db.url, dir, engine.name, [
          [q, "key_column: id"],
          [q, "mode: incremental", "cursor_column: grp", "key_column: [grp, id]"],
          [
            q,
            "mode: chunked",
            "chunk_column: id",
            "chunk_size: 700",
            "parallel: 2",
            "key_column: id",
          ],
          [q, "mode: time_window", "time_column: grp", "days_window: 3650", "key_column: id"],
        ], "profile: balanced, batch_size: 150, throttle_ms: 0");
        const r = await rivet(["run", "-c", path], { RIVET_LOG: "debug" });
        assert.equal(r.code, 0, r.stderr);
        // 2,000 rows in pages of 150: 14 pages (the last short).
        assert.equal([...r.stderr.matchAll(/export 'e0': page \d+: /g)].length, 14);
        assert.match(
          r.stderr,
          /page 2: SELECT \* FROM \(SELECT \* FROM \S+\.items \) AS _rivet_page WHERE \([`"]id[`"]\) > \((\$1|\?)\) ORDER BY [`"]id[`"] LIMIT (\$2|\?)/,
        );
        assert.deepEqual(await idsOf(dir, "e0"), range(1, 2000), "key order, each once");
        const inc = await idsOf(dir, "e1");
        assert.deepEqual([...inc].sort((a, b) => a - b), range(1, 2000));
        assert.deepEqual((await idsOf(dir, "e2")).sort((a, b) => a - b), range(1, 2000));
        assert.deepEqual(await idsOf(dir, "e3"), range(1, 2000));

        // New rows in an existing group and in a new one: the next run reads exactly those.
        await db.exec(
          `INSERT INTO ${db.ns}.items VALUES (2001, ${
            engine.name === "postgres" ? "TIMESTAMP '2024-01-01 06:00:00'" : "'2024-01-01 06:00:00'"
          }, 'late'), (2002, '2024-02-01 00:00:00', 'new')`,
        );
        const again = await rivet(["run", "-c", path, "--export", "e1"]);
        assert.equal(again.code, 0, again.stderr);
        // 2001 shares the stored cursor value (the last group): not after it, so not read.
        assert.equal(parseSummaries(again.stdout).e1.rows, "1");
      });
    });
  });

  Deno.test(`keyset ${engine.name}: a NULL or repeated key fails the export instead of skipping rows`, async () => {
    await withDb(engine, async (db) => {
      await db.exec(`CREATE TABLE ${db.ns}.dups (id int, k int)`);
      await db.exec(`INSERT INTO ${db.ns}.dups VALUES (1, 1), (2, 2), (3, 2), (4, 3), (5, NULL)`);
      await withTempDir(async (dir) => {
        const q = `query: "SELECT * FROM ${db.ns}.dups WHERE id < 5"`;
        const path = await config(db.url, dir, engine.name, [
          [q, "key_column: k"],
          [`query: "SELECT * FROM ${db.ns}.dups"`, "key_column: k"],
          [q, "key_column: [k, id]"],
        ], "profile: balanced, batch_size: 2");
        const r = await rivet(["run", "-c", path]);
        assert.equal(r.code, 2);
        const s = parseSummaries(r.stdout);
        assert.match(s.e0.error, /key_column \(k\) is not unique: 2 appears more than once/);
        assert.match(s.e1.error, /key_column \(k\) is NULL in some rows of the query/);
        assert.equal(s.e2.status, "success");
        assert.equal(s.e2.rows, "4");
        assert.deepEqual(await listDir(join(dir, "out")).then((f) => f.length), 1);
      });
    });
  });

  Deno.test(`keyset ${engine.name}: each page's batches are released once written, not left to pile up`, async () => {
    await withDb(engine, async (db) => {
      await db.exec(`CREATE TABLE ${db.ns}.wide_rows (id int PRIMARY KEY, pad varchar(200))`);
      const series = db.engine === "postgres"
        ? "generate_series(1, 3000) AS s(n)"
        : `(SELECT seq AS n FROM ${db.ns}.seq_1_to_3000) AS s`;
      await db.exec(`INSERT INTO ${db.ns}.wide_rows SELECT n, REPEAT('x', 100) FROM ${series}`);
      await withTempDir(async (base) => {
        const written: RecordBatch[] = [];
        const run = await runCsv({ type: engine.name, url: db.url }, base, {
          query: `SELECT id, pad FROM ${db.ns}.wide_rows`,
          tuning: "batch_size: 1000",
          exportLines: ["key_column: id"],
          hooks: { beforeWrite: (batch) => (written.push(batch), batch) },
        });
        assert.equal(run.summary.error, undefined, run.summary.error);
        assert.equal((await readCsv(run.files[0])).length, 1 + 3000, "header and every row");
        assert.ok(written.length >= 3, `one batch or more per page: ${written.length}`);
        // 1000 rows of 100-byte text per page: a buffer large enough to be released, not left
        // to the garbage collector (see src/arrow/release.ts).
        for (const batch of written) {
          assert.equal(batch.getChild("pad")!.data[0].values.length, 0, "released");
        }
      });
    });
  });

  Deno.test(`keyset ${engine.name}: a session killed mid-export continues from the last page; the server reads no page twice`, async () => {
    await withDb(engine, async (db) => {
      await createItems(db, 3000);
      const tableReads = await tableReadCounter(db, "items");
      await withDedicatedLogin(db, async (login) => {
        await withTempDir(async (dir) => {
          const path = await config(login.url, dir, engine.name, [[
            `query: "SELECT * FROM ${db.ns}.items"`,
            "key_column: id",
          ]], "profile: safe, batch_size: 100, throttle_ms: 100, retry_backoff_ms: 50");
          const before = await tableReads();
          const running = spawnRivet(["run", "-c", path], { RIVET_LOG: "debug" });
          await running.waitFor(/page 8: /);
          assert.ok((await login.killSessions()) >= 1, "a session to kill");
          const r = await running.finish();
          assert.equal(r.code, 0, r.stderr);
          assert.match(
            r.stderr,
            /retry 1\/5 in \d+ms, reading the page again on a fresh connection/,
          );
          const s = parseSummaries(r.stdout).e0;
          assert.equal(s.retries, "1");
          assert.deepEqual(await idsOf(dir, "e0"), range(1, 3000), "each row once, in order");
          // 30 pages of 100 (+1 peek row each) and at most one page read again after the cut.
          const read = (await tableReads()) - before;
          assert.ok(read >= 3000 && read <= 3000 + 31 + 101, `rows read by the server: ${read}`);
        });
      });
    });
  });
}

Deno.test("keyset postgres: no transaction outlives a page, as sampled from pg_stat_activity and as the summary reports", async () => {
  await withDb(ENGINES[0], async (db) => {
    await createItems(db, 20_000);
    await withDedicatedLogin(db, async (login) => {
      await withTempDir(async (dir) => {
        const q = `query: "SELECT * FROM ${db.ns}.items"`;
        const run = async (lines: string[]) => {
          const path = await config(
            login.url,
            dir,
            "postgres",
            [lines],
            "profile: balanced, batch_size: 500, throttle_ms: 100",
          );
          const running = spawnRivet(["run", "-c", path]);
          const finished = running.finish();
          let done = false;
          finished.finally(() => done = true);
          let oldest = 0;
          while (!done) {
            const rows = await db.textRows(
              `SELECT coalesce(extract(epoch FROM clock_timestamp() - xact_start), 0)
               FROM pg_stat_activity WHERE usename = '${db.ns}'`,
            );
            for (const [age] of rows) oldest = Math.max(oldest, Number(age));
            await new Promise((r) => setTimeout(r, 40));
          }
          const r = await finished;
          assert.equal(r.code, 0, r.stderr);
          const s = parseSummaries(r.stdout).e0;
          return { oldest, summary: s, seconds: parseFloat(s.duration) };
        };
        const paged = await run([q, "key_column: id"]);
        assert.ok(paged.seconds >= 3, `the export ran for ${paged.seconds}s`);
        assert.ok(paged.oldest < 0.5, `oldest rivet transaction: ${paged.oldest}s`);
        const txn = parseSeconds(paged.summary["longest transaction"]);
        assert.ok(
          txn < 0.5 && txn >= paged.oldest - 0.05,
          `summary ${txn}s, sampled ${paged.oldest}s`,
        );
        assert.deepEqual(await idsOf(dir, "e0"), range(1, 20_000));

        // The same export without a key: one transaction for the whole read.
        await Deno.remove(join(dir, "out"), { recursive: true });
        const streamed = await run([q]);
        assert.ok(streamed.oldest >= 2, `oldest rivet transaction: ${streamed.oldest}s`);
        const whole = parseSeconds(streamed.summary["longest transaction"]);
        assert.ok(
          whole >= streamed.oldest - 0.05,
          `summary ${whole}s, sampled ${streamed.oldest}s`,
        );
        assert.ok(parseSeconds(streamed.summary["longest statement"]) < 1, "each FETCH is short");
      });
    });
  });
});

Deno.test("keyset mysql: a safe export lasting many times statement_timeout_s completes, with and without key_column", async () => {
  await withDb(ENGINES[1], async (db) => {
    await createItems(db, 100_000);
    await withTempDir(async (dir) => {
      const q = `query: "SELECT * FROM ${db.ns}.items"`;
      const path = await config(
        db.url,
        dir,
        "mysql",
        [[q, "key_column: id"], [q]],
        "profile: safe, statement_timeout_s: 1, batch_size: 5000, throttle_ms: 150",
      );
      const r = await rivet(["run", "-c", path]);
      assert.equal(r.code, 0, r.stderr);
      const s = parseSummaries(r.stdout);
      for (const name of ["e0", "e1"]) {
        assert.ok(parseFloat(s[name].duration) >= 3, `${name} lasted ${s[name].duration}`);
        assert.equal(s[name].retries, "0", `${name} was never cut by its own timeout`);
        assert.deepEqual((await idsOf(dir, name)).sort((a, b) => a - b), range(1, 100_000));
      }
      assert.ok(parseSeconds(s.e0["longest statement"]) < 1, "each page is short");
      assert.ok(parseSeconds(s.e1["longest statement"]) >= 3, "one statement streams it all");
    });
  });
});

/** `850ms` or `3.2s` as seconds. */
function parseSeconds(text: string): number {
  return text.endsWith("ms") ? parseFloat(text) / 1000 : parseFloat(text);
}

/**
 * A function returning how many rows the server has read from `table` so far, from the server's
 * own per-table counters (PostgreSQL: pg_stat_user_tables; MariaDB: userstat TABLE_STATISTICS).
 */
async function tableReadCounter(db: TestDb, table: string): Promise<() => Promise<number>> {
  if (db.engine === "postgres") {
    return async () => {
      // Stats of finished backends are flushed when they exit; wait for them to settle.
      await new Promise((r) => setTimeout(r, 1200));
      const [[n]] = await db.textRows(
        `SELECT coalesce(seq_tup_read, 0) + coalesce(idx_tup_fetch, 0)
         FROM pg_stat_user_tables WHERE schemaname = '${db.ns}' AND relname = '${table}'`,
      );
      return Number(n);
    };
  }
  await db.exec("SET GLOBAL userstat = 1");
  return async () => {
    const rows = await db.textRows(
      `SELECT ROWS_READ FROM information_schema.TABLE_STATISTICS
       WHERE TABLE_SCHEMA = '${db.ns}' AND TABLE_NAME = '${table}'`,
    );
    return Number(rows[0]?.[0] ?? 0);
  };
}
