/**
 * Faults against the real servers (PostgreSQL and MariaDB), table-driven over both engines and run
 * through the real CLI: a connection cut mid-stream, a statement that outlives its timeout, a
 * table the login may not read. Each checks exit code, summary, delivered files and stored state,
 * so a fault can neither lose nor duplicate a row, nor move the cursor past what was delivered.
 *
 * Run: deno test --allow-all tests/faults_test.ts
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { parseSummaries, rivet } from "./support/cli.ts";
import { ENGINES, type TestDb, withDb, withDedicatedLogin } from "./support/engines.ts";
import { listDir, withTempDir, writeFile } from "./support/files.ts";
import { readParquet } from "./support/read_parquet.ts";
import { startTcpProxy } from "./support/tcp_proxy.ts";

const WIDE_ROWS = 2_000;
/** About 4 MB of rows, far past socket buffers: the cut lands while the server is still sending. */
const PAD_CHARS = 2_048;
/** Cut the first connection once 1 MB of its answer has flowed: a quarter of the way in. */
const CUT_AFTER_BYTES = 1024 * 1024;

/** `wide(id, pad)`: ids 1..WIDE_ROWS, each pad distinct so a swapped or torn row shows. */
async function createWide(db: TestDb): Promise<void> {
  if (db.engine === "postgres") {
    await db.exec(
      `CREATE TABLE ${db.ns}.wide (id bigint PRIMARY KEY, pad text);
       INSERT INTO ${db.ns}.wide
         SELECT g, repeat(md5(g::text), ${PAD_CHARS / 32}) FROM generate_series(1, ${WIDE_ROWS}) g`,
    );
    return;
  }
  await db.exec(
    `SET SESSION max_recursive_iterations = ${WIDE_ROWS * 10};
     CREATE TABLE ${db.ns}.wide (id bigint PRIMARY KEY, pad text);
     INSERT INTO ${db.ns}.wide
       WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < ${WIDE_ROWS})
       SELECT n, REPEAT(MD5(n), ${PAD_CHARS / 32}) FROM s`,
  );
}

/** The URL of `db` with its port replaced, to go through a proxy. */
function viaPort(url: string, port: number): string {
  const replaced = url.replace(/^([a-z]+:\/\/[^/]*@127\.0\.0\.1):\d+\//, `$1:${port}/`);
  assert.notEqual(replaced, url, `no port to replace in ${url}`);
  return replaced;
}

interface ExportYaml {
  name: string;
  query: string;
  mode?: "full" | "incremental";
  cursor?: string;
  key?: string;
}

function configYaml(engine: string, url: string, tuning: string, e: ExportYaml): string {
  return [
    "source:",
    `  type: ${engine}`,
    `  url: "${url}"`,
    `  tuning: { ${tuning} }`,
    "exports:",
    `  - name: ${e.name}`,
    `    query: ${JSON.stringify(e.query)}`,
    `    mode: ${e.mode ?? "full"}`,
    ...(e.cursor ? [`    cursor_column: ${e.cursor}`] : []),
    ...(e.key ? [`    key_column: ${e.key}`] : []),
    "    destination: { type: local, path: ./out }",
    "",
  ].join("\n");
}

async function stateShow(config: string): Promise<string> {
  const r = await rivet(["state", "show", "-c", config]);
  assert.equal(r.code, 0, r.stderr);
  return r.stdout;
}

/** A failure is reported as one clear line, the same in the summary and the log. */
function assertOneLineError(name: string, error: string | undefined, stderr: string): void {
  assert.ok(error, "the summary names the error");
  assert.doesNotMatch(error, /undefined|\[object Object\]/);
  const logged = stderr.split("\n").filter((line) => / ERROR /.test(line));
  assert.deepEqual(logged.map((line) => line.replace(/^\S+ ERROR +/, "")), [
    `export '${name}': ${error}`,
  ]);
  assert.doesNotMatch(stderr, /^\s+at /m, "no stack trace on stderr");
}

/**
 * How each read goes on after the cut: a streamed read (one statement; on PostgreSQL one cursor
 * transaction) starts over into a new staging file, a keyset read resumes at the failed page.
 */
const CUT_SCENARIOS = [
  { kind: "streamed full", mode: "full", key: undefined, retried: "reconnecting" },
  { kind: "streamed incremental", mode: "incremental", key: undefined, retried: "reconnecting" },
  {
    kind: "keyset incremental",
    mode: "incremental",
    key: "id",
    retried: "reading the page again on a fresh connection",
  },
] as const;

for (const engine of ENGINES) {
  for (const scenario of CUT_SCENARIOS) {
    Deno.test(`faults ${engine.name}: a ${scenario.kind} read cut mid-stream is retried on a fresh connection; each row once`, async () => {
      await withDb(engine, async (db) => {
        await createWide(db);
        const proxy = startTcpProxy(engine.name === "postgres" ? 5432 : 3306);
        try {
          await withTempDir(async (dir) => {
            const config = await writeFile(
              dir,
              "rivet.yaml",
              configYaml(
                engine.name,
                viaPort(db.url, proxy.port),
                "profile: balanced, batch_size: 200, throttle_ms: 0, max_retries: 3, retry_backoff_ms: 10",
                {
                  name: "cut",
                  // A full export reads in the order it is given; the others order by the cursor.
                  query: `SELECT id, pad FROM ${db.ns}.wide` +
                    (scenario.mode === "full" ? " ORDER BY id" : ""),
                  mode: scenario.mode,
                  cursor: scenario.mode === "incremental" ? "id" : undefined,
                  key: scenario.key,
                },
              ),
            );
            proxy.cutNextDownload(CUT_AFTER_BYTES);
            const r = await rivet(["run", "-c", config], { RIVET_LOG: "debug" });
            assert.equal(r.code, 0, r.stderr);
            assert.equal(proxy.downloadsCut(), 1, "the proxy cut one connection");
            const retry = `retry 1/3 in 10ms, ${scenario.retried} (`;
            const retryAt = r.stderr.indexOf(retry);
            assert.ok(retryAt >= 0, `no '${retry}' in:\n${r.stderr}`);
            assert.match(r.stderr.slice(retryAt + retry.length), /^(network|disconnect): /);
            // What makes the test mean anything: rows had been written when the cut came.
            assert.match(r.stderr.slice(0, retryAt), /batch 2: /, "the cut landed mid-stream");
            assert.doesNotMatch(r.stderr, /retry 2\//);

            const summary = parseSummaries(r.stdout).cut;
            assert.equal(summary.status, "success");
            assert.equal(summary.retries, "1");
            assert.equal(summary.rows, String(WIDE_ROWS));
            assert.equal(summary.files, "1");

            const files = await listDir(join(dir, "out"));
            assert.equal(files.length, 1, `one file: ${files}`);
            const delivered = (await readParquet(join(dir, "out", files[0]))).rows;
            const table = await db.textRows(`SELECT id, pad FROM ${db.ns}.wide ORDER BY id`);
            assert.equal(delivered.length, table.length, "as many rows as the table, no more");
            delivered.forEach((row, i) => {
              assert.equal(String(row.id), table[i][0], `row ${i}: id (each row once, in order)`);
              assert.equal(row.pad, table[i][1], `row ${i}: pad`);
            });
            // The manifest lists the one delivered file, with every row: none from the cut attempt.
            const manifest = await rivet(["state", "files", "-c", config]);
            const listed = manifest.stdout.split("\n").filter((line) => line.startsWith("cut_"));
            assert.equal(listed.length, 1, manifest.stdout);
            assert.match(listed[0], new RegExp(`\\s${files[0]}\\s+${WIDE_ROWS}\\s`));
            if (scenario.mode === "incremental") {
              assert.match(await stateShow(config), new RegExp(`^cut\\s+${WIDE_ROWS}\\s`, "m"));
            }
          });
        } finally {
          proxy.close();
        }
      });
    });
  }

  Deno.test(`faults ${engine.name}: a statement past statement_timeout_s fails as a timeout after max_retries; nothing delivered`, async () => {
    await withDb(engine, async (db) => {
      await withTempDir(async (dir) => {
        // The sleep runs before the first row exists, so only the timeout can end the statement.
        const query = engine.name === "postgres"
          ? "SELECT pg_sleep(3)::text AS slept, 1 AS id"
          : "SELECT SLEEP(3) AS slept, 1 AS id";
        const config = await writeFile(
          dir,
          "rivet.yaml",
          configYaml(
            engine.name,
            db.url,
            "profile: balanced, statement_timeout_s: 1, max_retries: 1, retry_backoff_ms: 10",
            { name: "slow", query },
          ),
        );
        const before = await stateShow(config);
        const r = await rivet(["run", "-c", config]);
        assert.equal(r.code, 2, r.stderr);
        const summary = parseSummaries(r.stdout).slow;
        assert.equal(summary.status, "failed");
        assert.equal(summary.retries, "1");
        assert.equal(summary.rows, "0");
        assert.equal(summary.files, "0");
        assert.match(summary.error, /statement_timeout|statement timeout/i);
        assertOneLineError("slow", summary.error, r.stderr);
        assert.match(r.stderr, /retry 1\/1 in 10ms, reconnecting \(timeout: /);
        assert.doesNotMatch(r.stderr, /retry 2\//);
        assert.deepEqual(await listDir(join(dir, "out")), []);
        assert.equal(await stateShow(config), before);
      });
    });
  });

  Deno.test(`faults ${engine.name}: a table the login may not read fails at once (auth, no retry); state unchanged`, async () => {
    await withDb(engine, async (db) => {
      await db.exec(`CREATE TABLE ${db.ns}.secret (id bigint PRIMARY KEY, v text)`);
      await db.exec(`CREATE TABLE ${db.ns}.open_t (id bigint PRIMARY KEY)`);
      await db.exec(`INSERT INTO ${db.ns}.secret VALUES (1, 'a'), (2, 'b'), (3, 'c')`);
      await withDedicatedLogin(db, async (login) => {
        await withTempDir(async (dir) => {
          const config = await writeFile(
            dir,
            "rivet.yaml",
            configYaml(
              engine.name,
              login.url,
              "profile: balanced, max_retries: 3, retry_backoff_ms: 10",
              {
                name: "secret",
                query: `SELECT id, v FROM ${db.ns}.secret`,
                mode: "incremental",
                cursor: "id",
              },
            ),
          );
          // A first run while the login may read the table stores a cursor to keep.
          const first = await rivet(["run", "-c", config]);
          assert.equal(first.code, 0, first.stderr);
          assert.equal(parseSummaries(first.stdout).secret.rows, "3");
          const filesBefore = await listDir(join(dir, "out"));
          const stateBefore = await stateShow(config);
          assert.match(stateBefore, /^secret\s+3\s/m);

          const user = db.ns;
          if (engine.name === "postgres") {
            await db.exec(`REVOKE SELECT ON ${db.ns}.secret FROM ${user}`);
          } else {
            // A database-wide grant cannot lose one table: keep the login a table it may read.
            await db.exec(
              `REVOKE SELECT ON ${db.ns}.* FROM '${user}'@'%';
               GRANT SELECT ON ${db.ns}.open_t TO '${user}'@'%'`,
            );
          }
          await db.exec(`INSERT INTO ${db.ns}.secret VALUES (4, 'd')`);

          const r = await rivet(["run", "-c", config]);
          assert.equal(r.code, 2, r.stderr);
          const summary = parseSummaries(r.stdout).secret;
          assert.equal(summary.status, "failed");
          assert.equal(summary.retries, "0", "a permission error is never retried");
          assert.equal(summary.rows, "0");
          assert.equal(summary.files, "0");
          assert.match(summary.error, /permission denied|command denied/i);
          assert.match(summary.error, /secret/);
          assertOneLineError("secret", summary.error, r.stderr);
          assert.doesNotMatch(r.stderr, /retry \d/);
          assert.deepEqual(await listDir(join(dir, "out")), filesBefore, "nothing delivered");
          assert.equal(await stateShow(config), stateBefore, "state unchanged");
        });
      });
    });
  });
}
