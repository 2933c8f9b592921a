/**
 * End-to-end scenarios run through the real CLI against both real engines (PostgreSQL and
 * MariaDB), table-driven: every scenario runs on each engine.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { parseSummaries, rivet, spawnRivet } from "./support/cli.ts";
import { ENGINES, SQL, type TestDb, withDb, withDedicatedLogin } from "./support/engines.ts";
import { listDir, withTempDir, writeFile } from "./support/files.ts";
import { readParquet } from "./support/read_parquet.ts";
import { readCsv } from "./support/read_csv.ts";

interface ExportSpec {
  name: string;
  query: string;
  mode?: "full" | "incremental";
  cursor?: string;
  format?: "parquet" | "csv";
  skipEmpty?: boolean;
  destination?: "local" | "stdout";
}

function configYaml(db: TestDb, exports: ExportSpec[], tuning = "profile: balanced"): string {
  const lines = [
    "source:",
    `  type: ${db.engine}`,
    `  url: "${db.url}"`,
    `  tuning: { ${tuning} }`,
    "exports:",
  ];
  for (const e of exports) {
    lines.push(`  - name: ${e.name}`, `    query: ${JSON.stringify(e.query)}`);
    lines.push(`    mode: ${e.mode ?? "full"}`, `    format: ${e.format ?? "parquet"}`);
    if (e.cursor) lines.push(`    cursor_column: ${e.cursor}`);
    if (e.skipEmpty) lines.push("    skip_empty: true");
    lines.push(
      e.destination === "stdout"
        ? "    destination: { type: stdout }"
        : "    destination: { type: local, path: ./out }",
    );
  }
  return lines.join("\n") + "\n";
}

function outFiles(dir: string): Promise<string[]> {
  return listDir(join(dir, "out"));
}

async function seedItems(db: TestDb, first: number, last: number): Promise<void> {
  const values = [];
  for (let i = first; i <= last; i++) {
    values.push(
      `(${i}, 'item ${i}, "q"', '2024-01-01 00:00:00.${String(i).padStart(6, "0")}', 'k''${i}')`,
    );
  }
  await db.exec(`INSERT INTO ${db.ns}.items VALUES ${values.join(", ")}`);
}

async function createItems(db: TestDb): Promise<void> {
  const t = SQL[db.engine];
  await db.exec(
    `CREATE TABLE ${db.ns}.items (id bigint primary key, name ${t.text}, updated_at ${t.timestamp}, code ${t.text})`,
  );
}

/** An incremental export slow enough (2-row batches, 200 ms apart) to interrupt mid-way. */
function slowIncrementalConfig(db: TestDb, dir: string): Promise<string> {
  return writeFile(
    dir,
    "rivet.yaml",
    configYaml(db, [{
      name: "slow",
      query: `SELECT * FROM ${db.ns}.items`,
      mode: "incremental",
      cursor: "id",
    }], "profile: safe, batch_size: 2, throttle_ms: 200"),
  );
}

for (const engine of ENGINES) {
  Deno.test(`e2e ${engine.name}: full export to Parquet and CSV, read back independently`, async () => {
    await withDb(engine, async (db) => {
      await createItems(db);
      await seedItems(db, 1, 25);
      await withTempDir(async (dir) => {
        const config = await writeFile(
          dir,
          "rivet.yaml",
          configYaml(db, [
            { name: "items_pq", query: `SELECT id, name FROM ${db.ns}.items ORDER BY id` },
            {
              name: "items_csv",
              query: `SELECT id, name FROM ${db.ns}.items ORDER BY id`,
              format: "csv",
            },
          ], "profile: balanced, batch_size: 7"),
        );
        const r = await rivet(["run", "--config", config, "--validate"]);
        assert.equal(r.code, 0, r.stderr);
        const summaries = parseSummaries(r.stdout);
        assert.equal(summaries.items_pq.status, "success");
        assert.equal(summaries.items_pq.rows, "25");
        assert.equal(summaries.items_pq.validated, "pass");
        assert.equal(summaries.items_csv.rows, "25");
        const files = await outFiles(dir);
        assert.equal(files.length, 2);
        const pq = await readParquet(join(dir, "out", files.find((f) => f.endsWith(".parquet"))!));
        assert.equal(pq.rows.length, 25);
        assert.equal(String(pq.rows[0].id), "1");
        assert.equal(pq.rows[24].name, 'item 25, "q"');
        const csv = await readCsv(join(dir, "out", files.find((f) => f.endsWith(".csv"))!));
        assert.deepEqual(csv[0], ["id", "name"]);
        assert.deepEqual(csv[25], ["25", 'item 25, "q"']);
      });
    });
  });

  Deno.test(`e2e ${engine.name}: incremental runs export exactly the new rows`, async () => {
    await withDb(engine, async (db) => {
      await createItems(db);
      await seedItems(db, 1, 10);
      await withTempDir(async (dir) => {
        const exportsFor = (format: "parquet" | "csv") => ({
          name: `inc_${format}`,
          query: `SELECT id, name, updated_at FROM ${db.ns}.items`,
          mode: "incremental" as const,
          cursor: "updated_at",
          format,
          skipEmpty: true,
        });
        const config = await writeFile(
          dir,
          "rivet.yaml",
          configYaml(
            db,
            [exportsFor("parquet"), exportsFor("csv")],
            "profile: fast, batch_size: 4",
          ),
        );
        const first = await rivet(["run", "-c", config]);
        assert.equal(first.code, 0, first.stderr);
        assert.equal(parseSummaries(first.stdout).inc_parquet.rows, "10");
        await seedItems(db, 11, 13);
        const second = await rivet(["run", "-c", config]);
        assert.equal(second.code, 0, second.stderr);
        const s = parseSummaries(second.stdout);
        assert.equal(s.inc_parquet.rows, "3");
        assert.equal(s.inc_csv.rows, "3");
        assert.equal(s.inc_parquet.schema, "unchanged");
        const newest = (await outFiles(dir)).filter((f) => f.startsWith("inc_parquet")).sort().at(
          -1,
        )!;
        const rows = (await readParquet(join(dir, "out", newest))).rows;
        assert.deepEqual(rows.map((r) => String(r.id)), ["11", "12", "13"]);
        const third = await rivet(["run", "-c", config]);
        assert.equal(third.code, 0);
        assert.equal(parseSummaries(third.stdout).inc_parquet.status, "skipped");
        const state = await rivet(["state", "show", "-c", config]);
        assert.match(state.stdout, /inc_parquet\s+2024-01-01T00:00:00\.000013\s/);
        assert.equal((await outFiles(dir)).length, 4, "skipped runs write no file");
      });
    });
  });

  Deno.test(`e2e ${engine.name}: a text cursor containing a single quote resumes exactly`, async () => {
    await withDb(engine, async (db) => {
      await createItems(db);
      await seedItems(db, 1, 3); // codes k'1, k'2, k'3
      await withTempDir(async (dir) => {
        const config = await writeFile(
          dir,
          "rivet.yaml",
          configYaml(db, [{
            name: "by_code",
            query: `SELECT id, code FROM ${db.ns}.items`,
            mode: "incremental",
            cursor: "code",
            format: "csv",
          }]),
        );
        assert.equal((await rivet(["run", "-c", config])).code, 0);
        await seedItems(db, 4, 5);
        const r = await rivet(["run", "-c", config]);
        assert.equal(r.code, 0, r.stderr);
        assert.equal(parseSummaries(r.stdout).by_code.rows, "2");
        const newest = (await outFiles(dir)).at(-1)!;
        assert.deepEqual((await readCsv(join(dir, "out", newest))).slice(1), [["4", "k'4"], [
          "5",
          "k'5",
        ]]);
      });
    });
  });

  Deno.test(`e2e ${engine.name}: stdout carries only the file; summaries go to stderr`, async () => {
    await withDb(engine, async (db) => {
      await createItems(db);
      await seedItems(db, 1, 3);
      await withTempDir(async (dir) => {
        const config = await writeFile(
          dir,
          "rivet.yaml",
          configYaml(db, [{
            name: "piped",
            query: `SELECT id, name FROM ${db.ns}.items ORDER BY id`,
            format: "csv",
            destination: "stdout",
          }]),
        );
        const r = await rivet(["run", "-c", config]);
        assert.equal(r.code, 0, r.stderr);
        assert.equal(
          r.stdout,
          'id,name\n1,"item 1, ""q"""\n2,"item 2, ""q"""\n3,"item 3, ""q"""\n',
        );
        assert.equal(parseSummaries(r.stderr).piped.rows, "3");
      });
    });
  });

  Deno.test(`e2e ${engine.name}: a run killed mid-export leaves no file and the cursor unchanged`, async () => {
    await withDb(engine, async (db) => {
      await createItems(db);
      await seedItems(db, 1, 50);
      await withTempDir(async (dir) => {
        const config = await slowIncrementalConfig(db, dir);
        // Wait until batches are flowing, then kill hard.
        const running = spawnRivet(["run", "-c", config], { RIVET_LOG: "debug" });
        assert.match(await running.waitFor(/batch 3:/), /batch 3:/);
        running.child.kill("SIGKILL");
        await running.finish();
        assert.deepEqual(await outFiles(dir), []);
        const state = await rivet(["state", "show", "-c", config]);
        assert.equal(state.stdout, "No export state recorded yet.\n");
        // And a normal run afterwards exports everything.
        const r = await rivet(["run", "-c", config]);
        assert.equal(r.code, 0, r.stderr);
        assert.equal(parseSummaries(r.stdout).slow.rows, "50");
      });
    });
  });

  Deno.test(`e2e ${engine.name}: a server session killed mid-export is retried on a fresh connection; each row lands once`, async () => {
    await withDb(engine, async (db) => {
      await createItems(db);
      await seedItems(db, 1, 50);
      // 10 MB in all: far more than socket buffers hold, so MySQL's single streamed statement is
      // still sending when its session dies (a small result would already be in the client).
      const big = db.engine === "postgres" ? "text" : "longtext";
      await db.exec(`ALTER TABLE ${db.ns}.items ADD COLUMN pad ${big}`);
      await db.exec(`UPDATE ${db.ns}.items SET pad = REPEAT('x', 200000)`);
      await withDedicatedLogin(db, async (login) => {
        await withTempDir(async (dir) => {
          const config = await writeFile(
            dir,
            "rivet.yaml",
            configYaml({ ...db, url: login.url }, [{
              name: "slow",
              query: `SELECT * FROM ${db.ns}.items`,
              mode: "incremental",
              cursor: "id",
            }], "profile: safe, batch_size: 2, throttle_ms: 200, retry_backoff_ms: 100"),
          );
          const running = spawnRivet(["run", "-c", config], { RIVET_LOG: "debug" });
          await running.waitFor(/batch 3:/);
          assert.equal(await login.killSessions(), 1, "one server session to kill");
          const r = await running.finish();
          assert.equal(r.code, 0, r.stderr);
          assert.match(r.stderr, /retry 1\/5 in 100ms, reconnecting \((disconnect|network): /);
          const summary = parseSummaries(r.stdout).slow;
          assert.equal(summary.retries, "1");
          assert.equal(summary.rows, "50");
          const [file] = await outFiles(dir);
          const ids = (await readParquet(join(dir, "out", file))).rows.map((row) => Number(row.id));
          assert.deepEqual(ids, Array.from({ length: 50 }, (_, i) => i + 1), "each row once");
          const state = await rivet(["state", "show", "-c", config]);
          assert.match(state.stdout, /^slow\s+50\s/m);
        });
      });
    });
  });

  Deno.test(`e2e ${engine.name}: state reset makes the next run export everything again`, async () => {
    await withDb(engine, async (db) => {
      await createItems(db);
      await seedItems(db, 1, 7);
      await withTempDir(async (dir) => {
        const config = await writeFile(
          dir,
          "rivet.yaml",
          configYaml(db, [{
            name: "inc",
            query: `SELECT * FROM ${db.ns}.items`,
            mode: "incremental",
            cursor: "id",
          }]),
        );
        const first = await rivet(["run", "-c", config]);
        assert.equal(parseSummaries(first.stdout).inc.rows, "7");
        const idle = await rivet(["run", "-c", config]);
        assert.equal(parseSummaries(idle.stdout).inc.rows, "0", "nothing new before the reset");
        assert.equal(parseSummaries(idle.stdout).inc.files, "0");
        const reset = await rivet(["state", "reset", "-c", config, "--export", "inc"]);
        assert.equal(reset.code, 0, reset.stderr);
        assert.equal(reset.stdout, "State reset for export 'inc'\n");
        const shown = await rivet(["state", "show", "-c", config]);
        assert.equal(shown.stdout, "No export state recorded yet.\n");
        const again = await rivet(["run", "-c", config]);
        assert.equal(again.code, 0, again.stderr);
        assert.equal(parseSummaries(again.stdout).inc.rows, "7", "everything, again");
        assert.equal((await outFiles(dir)).length, 2);
      });
    });
  });

  Deno.test(`e2e ${engine.name}: query errors fail clearly without retries`, async () => {
    await withDb(engine, async (db) => {
      await withTempDir(async (dir) => {
        const config = await writeFile(
          dir,
          "rivet.yaml",
          configYaml(db, [
            { name: "syntax", query: "SELEC 1" },
            { name: "missing", query: `SELECT * FROM ${db.ns}.no_such_table` },
          ], "profile: balanced, retry_backoff_ms: 10"),
        );
        const r = await rivet(["run", "-c", config]);
        assert.equal(r.code, 2);
        const s = parseSummaries(r.stdout);
        assert.equal(s.syntax.status, "failed");
        assert.match(s.syntax.error, /syntax/i);
        assert.equal(s.syntax.retries, "0");
        assert.match(s.missing.error, /no_such_table/);
        assert.equal(s.missing.retries, "0");
        assert.doesNotMatch(r.stderr, /retry 1/);
      });
    });
  });
}

Deno.test("e2e postgres: an unknown role is an auth failure: no retries, password never printed", async () => {
  await withTempDir(async (dir) => {
    const config = await writeFile(
      dir,
      "rivet.yaml",
      [
        "source:",
        "  type: postgres",
        '  url: "postgresql://no_such_role_rivet:Sup3rSecretPw@127.0.0.1:5432/test"',
        "  tuning: { profile: safe, retry_backoff_ms: 10 }",
        "exports:",
        `  - { name: x, query: "SELECT 1", destination: { type: local, path: ./out } }`,
      ].join("\n"),
    );
    const r = await rivet(["run", "-c", config]);
    assert.equal(r.code, 2);
    const s = parseSummaries(r.stdout).x;
    assert.equal(s.status, "failed");
    assert.equal(s.retries, "0");
    assert.match(s.error, /no_such_role_rivet/);
    assert.ok(!(r.stdout + r.stderr).includes("Sup3rSecretPw"));
  });
});

Deno.test("e2e mysql: a wrong password is an auth failure: no retries, password never printed", async () => {
  await withDb(ENGINES[1], async (db) => {
    const user = `${db.ns}_u`;
    await db.exec(`CREATE USER '${user}'@'%' IDENTIFIED BY 'RightPw123'`);
    try {
      await withTempDir(async (dir) => {
        const config = await writeFile(
          dir,
          "rivet.yaml",
          [
            "source:",
            "  type: mysql",
            "  host: 127.0.0.1",
            `  user: ${user}`,
            "  password_env: RIVET_TEST_PW",
            `  database: ${db.ns}`,
            "  tuning: { profile: safe, retry_backoff_ms: 10 }",
            "exports:",
            `  - { name: x, query: "SELECT 1", destination: { type: local, path: ./out } }`,
          ].join("\n"),
        );
        const r = await rivet(["run", "-c", config], { RIVET_TEST_PW: "WrongPw456" });
        assert.equal(r.code, 2);
        const s = parseSummaries(r.stdout).x;
        assert.equal(s.status, "failed");
        assert.equal(s.retries, "0");
        assert.match(s.error, /access denied/i);
        assert.ok(!(r.stdout + r.stderr).includes("WrongPw456"));
      });
    } finally {
      await db.exec(`DROP USER IF EXISTS '${user}'@'%'`);
    }
  });
});

Deno.test("e2e postgres: RUST_LOG is honoured as an alias of RIVET_LOG", async () => {
  await withDb(ENGINES[0], async (db) => {
    await withTempDir(async (dir) => {
      const config = await writeFile(
        dir,
        "rivet.yaml",
        configYaml(db, [{ name: "one", query: "SELECT 1 AS a" }]),
      );
      const quiet = await rivet(["run", "-c", config], { RIVET_LOG: "", RUST_LOG: "warn" });
      assert.equal(quiet.code, 0);
      assert.doesNotMatch(quiet.stderr, / INFO /);
      const verbose = await rivet(["run", "-c", config], { RIVET_LOG: "", RUST_LOG: "debug" });
      assert.match(verbose.stderr, / DEBUG .*SQL: SELECT 1 AS a/);
    });
  });
});

for (const engine of ENGINES) {
  Deno.test(`e2e ${engine.name}: schema changes between runs are reported`, async () => {
    await withDb(engine, async (db) => {
      await createItems(db);
      await seedItems(db, 1, 2);
      await withTempDir(async (dir) => {
        const config = await writeFile(
          dir,
          "rivet.yaml",
          configYaml(db, [{ name: "snap", query: `SELECT * FROM ${db.ns}.items` }]),
        );
        const first = await rivet(["run", "-c", config]);
        assert.equal(first.code, 0, first.stderr);
        assert.equal(parseSummaries(first.stdout).snap.schema, undefined, "omitted on first run");
        await db.exec(`ALTER TABLE ${db.ns}.items ADD COLUMN extra int`);
        await db.exec(`ALTER TABLE ${db.ns}.items DROP COLUMN code`);
        const second = await rivet(["run", "-c", config]);
        assert.equal(second.code, 0, second.stderr);
        assert.equal(parseSummaries(second.stdout).snap.schema, "CHANGED");
        assert.match(second.stderr, /added columns: extra/);
        assert.match(second.stderr, /removed columns: code/);
        const third = await rivet(["run", "-c", config]);
        assert.equal(parseSummaries(third.stdout).snap.schema, "unchanged");
        const metrics = await rivet(["metrics", "-c", config, "--last", "2"]);
        assert.match(metrics.stdout, /schema=ok[\s\S]*schema=CHANGED/);
      });
    });
  });
}

Deno.test("e2e postgres: SIGTERM stops the run cleanly: exit 2, no file, state unchanged", async () => {
  await withDb(ENGINES[0], async (db) => {
    await createItems(db);
    await seedItems(db, 1, 50);
    await withTempDir(async (dir) => {
      const config = await slowIncrementalConfig(db, dir);
      const running = spawnRivet(["run", "-c", config], { RIVET_LOG: "debug" });
      await running.waitFor(/batch 2:/);
      running.child.kill("SIGTERM");
      const { stderr: seen, stdout, code } = await running.finish();
      assert.equal(code, 2);
      assert.match(seen, /received SIGTERM/);
      assert.equal(parseSummaries(stdout).slow.status, "failed");
      assert.deepEqual(await outFiles(dir), []);
      assert.equal(
        (await rivet(["state", "show", "-c", config])).stdout,
        "No export state recorded yet.\n",
      );
    });
  });
});

for (const engine of ENGINES) {
  Deno.test(`e2e ${engine.name}: a single-precision float cursor does not re-export its last row`, async () => {
    await withDb(engine, async (db) => {
      const float = engine.name === "postgres" ? "real" : "float";
      await db.exec(`CREATE TABLE ${db.ns}.m (id int, f ${float})`);
      await db.exec(`INSERT INTO ${db.ns}.m VALUES (1, 0.1), (2, 0.3)`);
      await withTempDir(async (dir) => {
        const config = await writeFile(
          dir,
          "rivet.yaml",
          configYaml(db, [{
            name: "by_float",
            query: `SELECT id, f FROM ${db.ns}.m`,
            mode: "incremental",
            cursor: "f",
            skipEmpty: true,
          }]),
        );
        const first = await rivet(["run", "-c", config]);
        assert.equal(parseSummaries(first.stdout).by_float.rows, "2", first.stderr);
        const second = await rivet(["run", "-c", config]);
        assert.equal(parseSummaries(second.stdout).by_float.status, "skipped", second.stderr);
      });
    });
  });
}
