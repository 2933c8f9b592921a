/**
 * Chunked and time-window modes and file-size splitting through the real CLI, on both engines,
 * read back with DuckDB: a chunked export (sequential and parallel, integer and date keys) equals
 * the full export row for row; a time window holds exactly its rows; parts add up; a concurrent
 * writer never shows through; a killed parallel run resumes to every row exactly once.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { parseSummaries, rivet, spawnRivet } from "./support/cli.ts";
import { ENGINES, type TestDb, withDb, withDedicatedLogin } from "./support/engines.ts";
import { listDir, withTempDir, writeFile } from "./support/files.ts";
import { type ParquetValue, readParquet } from "./support/read_parquet.ts";
import { StateStore } from "../src/state/store.ts";

/** A table of `ids` with a date, a timestamp and some text; gaps in the ids are the point. */
async function createEvents(db: TestDb, ids: number[]): Promise<void> {
  const ts = db.engine === "postgres" ? "timestamp(6)" : "datetime(6)";
  await db.exec(
    `CREATE TABLE ${db.ns}.events (id bigint primary key, day date, at ${ts}, note varchar(100))`,
  );
  for (let i = 0; i < ids.length; i += 500) {
    const values = ids.slice(i, i + 500).map((id) =>
      `(${id}, DATE '2024-01-01' + ${
        db.engine === "postgres" ? `${id % 40}` : `INTERVAL ${id % 40} DAY`
      }, TIMESTAMP '2024-01-01 00:00:00' + ${
        db.engine === "postgres" ? `interval '${id} minutes'` : `INTERVAL ${id} MINUTE`
      }, 'note ${id}')`
    );
    await db.exec(`INSERT INTO ${db.ns}.events VALUES ${values.join(", ")}`);
  }
}

interface Exp {
  name: string;
  lines: string[];
}

async function config(
  db: TestDb,
  dir: string,
  exports: Exp[],
  tuning = "profile: fast",
): Promise<string> {
  const lines = [
    "source:",
    `  type: ${db.engine}`,
    `  url: "${db.url}"`,
    `  tuning: { ${tuning} }`,
    "exports:",
  ];
  for (const e of exports) {
    lines.push(`  - name: ${e.name}`, ...e.lines.map((l) => `    ${l}`));
    lines.push("    destination: { type: local, path: ./out }");
  }
  return await writeFile(dir, "rivet.yaml", lines.join("\n") + "\n");
}

/** Every row of every Parquet file of `exportName`, sorted by id, as comparable JSON. */
async function rowsOf(dir: string, exportName: string): Promise<string[]> {
  const rows: Record<string, ParquetValue>[] = [];
  for (const name of await listDir(join(dir, "out"))) {
    if (!name.startsWith(`${exportName}_`)) continue;
    rows.push(...(await readParquet(join(dir, "out", name))).rows);
  }
  return rows.map((r) => JSON.stringify(r, (_, v) => typeof v === "bigint" ? String(v) : v))
    .sort((a, b) => idOf(a) - idOf(b));
}

function idOf(json: string): number {
  return Number(JSON.parse(json).id);
}

/**
 * 1..600 without every 7th id, then a far-away cluster: empty windows, uneven ones, and a key
 * range under 10% dense (535 rows over 9019 values).
 */
function gappyIds(): number[] {
  const ids = [];
  for (let i = 1; i <= 600; i++) if (i % 7 !== 0) ids.push(i);
  for (let i = 9000; i < 9020; i++) ids.push(i);
  return ids;
}

for (const engine of ENGINES) {
  Deno.test(`chunked ${engine.name}: integer windows, sequential and parallel, equal the full export row for row`, async () => {
    await withDb(engine, async (db) => {
      const ids = gappyIds();
      await createEvents(db, ids);
      await withTempDir(async (dir) => {
        const query = `query: "SELECT * FROM ${db.ns}.events"`;
        const path = await config(db, dir, [
          { name: "full", lines: [query] },
          { name: "seq", lines: [query, "mode: chunked", "chunk_column: id", "chunk_size: 100"] },
          {
            name: "par",
            lines: [query, "mode: chunked", "chunk_column: id", "chunk_size: 100", "parallel: 2"],
          },
        ]);
        const r = await rivet(["run", "-c", path]);
        assert.equal(r.code, 0, r.stderr);
        const s = parseSummaries(r.stdout);
        const full = await rowsOf(dir, "full");
        assert.equal(full.length, ids.length);
        for (const name of ["seq", "par"]) {
          assert.equal(s[name].rows, String(ids.length), name);
          assert.deepEqual(await rowsOf(dir, name), full, `${name} equals full`);
        }
        // 1..9019 in windows of 100: 91 windows, 8 with rows (0..5, 89 and 90): one file each.
        const seqFiles = (await listDir(join(dir, "out"))).filter((n) => n.startsWith("seq_"));
        assert.deepEqual(
          seqFiles.map((n) => Number(/_chunk(\d+)\.parquet$/.exec(n)![1])).sort((a, b) => a - b),
          [0, 1, 2, 3, 4, 5, 89, 90],
        );
        assert.equal(s.seq.files, "8");
        assert.match(r.stderr, /export 'seq': id 1 \.\. 9019: 91 windows of 100/);
        assert.match(
          r.stderr,
          /WARN +export 'seq': sparse key range: about \d+ rows over 9019 id values .*most of the 91 windows will be empty; chunk on a dense surrogate, e\.g\. ROW_NUMBER\(\) OVER \(ORDER BY id\) AS chunk_rownum/,
        );
        const chunks = await rivet(["state", "chunks", "-c", path, "--export", "par"]);
        assert.match(chunks.stdout, /^par\s+par_\S+\s+complete\s+91\/91\s+535\s/m);
        assert.match(chunks.stdout, /^\s+0 {2}\[1, 101\)\s+done\s+86\s+1$/m);
        assert.match(chunks.stdout, /^\s+7 {2}\[701, 801\)\s+done\s+-?0\s+0$/m);
        assert.match(chunks.stdout, /^\s+90 {2}\[9001, 9019\]\s+done\s+19\s+1$/m);
      });
    });
  });

  Deno.test(`chunked ${engine.name}: a plan of more than 1,000,000 windows is refused before any window runs`, async () => {
    await withDb(engine, async (db) => {
      await createEvents(db, [1, 5_000_000]);
      await withTempDir(async (dir) => {
        const path = await config(db, dir, [{
          name: "absurd",
          lines: [
            `query: "SELECT * FROM ${db.ns}.events"`,
            "mode: chunked",
            "chunk_column: id",
            "chunk_size: 1",
          ],
        }]);
        const r = await rivet(["run", "-c", path]);
        assert.equal(r.code, 2);
        assert.match(
          parseSummaries(r.stdout).absurd.error,
          /^chunk_size 1 cuts the chunk column's range \(1 \.\. 5000000\) into 5000000 windows, more than 1000000; raise chunk_size/,
        );
        assert.deepEqual(await listDir(join(dir, "out")), []);
      });
    });
  });

  Deno.test(`chunked ${engine.name}: date and timestamp windows equal the full export`, async () => {
    await withDb(engine, async (db) => {
      const ids = Array.from({ length: 400 }, (_, i) => i + 1);
      await createEvents(db, ids);
      await withTempDir(async (dir) => {
        const query = `query: "SELECT * FROM ${db.ns}.events;"`;
        const path = await config(db, dir, [
          { name: "full", lines: [query, "format: parquet"] },
          { name: "bydate", lines: [query, "mode: chunked", "chunk_column: day", "chunk_size: 7"] },
          {
            name: "bytime",
            lines: [query, "mode: chunked", "chunk_column: at", "chunk_size: 1", "parallel: 3"],
          },
        ]);
        const r = await rivet(["run", "-c", path]);
        assert.equal(r.code, 0, r.stderr);
        const full = await rowsOf(dir, "full");
        assert.deepEqual(await rowsOf(dir, "bydate"), full);
        assert.deepEqual(await rowsOf(dir, "bytime"), full);
        // 40 distinct days in windows of 7 days: 6 windows; 400 minutes span one day boundary.
        assert.equal(parseSummaries(r.stdout).bydate.files, "6");
        assert.equal(parseSummaries(r.stdout).bytime.files, "1");
      });
    });
  });

  Deno.test(`time_window ${engine.name}: exactly the rows since UTC midnight N days ago, timestamp and unix`, async () => {
    await withDb(engine, async (db) => {
      const ts = engine.name === "postgres" ? "timestamp(6)" : "datetime(6)";
      await db.exec(`CREATE TABLE ${db.ns}.log (id int, at ${ts}, epoch bigint)`);
      const midnight = Math.floor(Date.now() / 86_400_000) * 86_400_000;
      const start = midnight - 3 * 86_400_000;
      // One microsecond before the window, exactly at its start, inside, today, later.
      const times = [
        start - 0.001,
        start,
        start + 3_600_000,
        midnight + 1,
        Date.now() + 86_400_000,
      ];
      const values = times.map((t, i) => {
        const iso = new Date(Math.floor(t)).toISOString().replace("T", " ").replace("Z", "");
        const micros = t === start - 0.001 ? "999999" : iso.slice(20, 23) + "000";
        return `(${i + 1}, '${iso.slice(0, 19)}.${micros}', ${Math.floor(t / 1000)})`;
      });
      await db.exec(`INSERT INTO ${db.ns}.log VALUES ${values.join(", ")}`);
      await withTempDir(async (dir) => {
        const query = `query: "SELECT * FROM ${db.ns}.log"`;
        const path = await config(db, dir, [
          {
            name: "bytime",
            lines: [query, "mode: time_window", "time_column: at", "days_window: 3"],
          },
          {
            name: "byepoch",
            lines: [
              query,
              "mode: time_window",
              "time_column: epoch",
              "time_column_type: unix",
              "days_window: 3",
            ],
          },
        ]);
        const r = await rivet(["run", "-c", path]);
        assert.equal(r.code, 0, r.stderr);
        for (const name of ["bytime", "byepoch"]) {
          assert.deepEqual((await rowsOf(dir, name)).map(idOf), [2, 3, 4, 5], name);
        }
      });
    });
  });

  Deno.test(`max_file_size ${engine.name}: parts add up to the table, chunked and parallel too`, async () => {
    await withDb(engine, async (db) => {
      const ids = Array.from({ length: 3000 }, (_, i) => i + 1);
      await createEvents(db, ids);
      await withTempDir(async (dir) => {
        const query = `query: "SELECT * FROM ${db.ns}.events"`;
        const path = await config(db, dir, [
          { name: "csvparts", lines: [query, "format: csv", "max_file_size: 40KB"] },
          {
            name: "chunkparts",
            lines: [
              query,
              "mode: chunked",
              "chunk_column: id",
              "chunk_size: 1500",
              "parallel: 2",
              "max_file_size: 6KB",
            ],
          },
        ], "profile: fast, batch_size: 200");
        const r = await rivet(["run", "-c", path, "--validate"]);
        assert.equal(r.code, 0, r.stderr);
        const files = await listDir(join(dir, "out"));
        const csv = files.filter((n) => n.startsWith("csvparts_"));
        assert.ok(csv.length >= 3, `csv parts: ${csv.length}`);
        let csvRows = 0;
        for (const [i, name] of csv.entries()) {
          assert.match(name, new RegExp(`_part${i}\\.csv$`));
          const text = await Deno.readTextFile(join(dir, "out", name));
          // At most one batch of 200 rows (~40 bytes each) past the limit.
          assert.ok(text.length <= 40 * 1024 + 200 * 60, `${name}: ${text.length}`);
          csvRows += text.trim().split("\n").length - 1;
        }
        assert.equal(csvRows, 3000);
        const chunk = files.filter((n) => n.startsWith("chunkparts_"));
        assert.ok(chunk.some((n) => /_chunk0_part1\.parquet$/.test(n)), chunk.join(" "));
        assert.ok(chunk.some((n) => /_chunk1_part1\.parquet$/.test(n)), chunk.join(" "));
        assert.equal((await rowsOf(dir, "chunkparts")).length, 3000);
        const s = parseSummaries(r.stdout);
        assert.equal(s.chunkparts.files, String(chunk.length));
        assert.equal(s.chunkparts.validated, "pass");
      });
    });
  });

  Deno.test(`chunked ${engine.name}: writes during a parallel run never show, on at most 2 connections`, async () => {
    await withDb(engine, async (db) => {
      const ids = Array.from({ length: 400 }, (_, i) => i * 2 + 2); // even ids 2..800
      await createEvents(db, ids);
      await withDedicatedLogin(db, async (login) => {
        await withTempDir(async (dir) => {
          const path = await config({ ...db, url: login.url }, dir, [{
            name: "snap",
            lines: [
              `query: "SELECT * FROM ${db.ns}.events"`,
              "mode: chunked",
              "chunk_column: id",
              "chunk_size: 100",
              "parallel: 2",
            ],
          }], "profile: safe, batch_size: 10, throttle_ms: 100");
          const before = await db.textRows(`SELECT id FROM ${db.ns}.events ORDER BY id`);
          const running = spawnRivet(["run", "-c", path], { RIVET_LOG: "debug" });
          // Both workers are reading (each has pinned its snapshot) before anything changes.
          await running.waitFor(
            /chunk 0 batch 1:[\s\S]*chunk 1 batch 1:|chunk 1 batch 1:[\s\S]*chunk 0 batch 1:/,
          );
          await db.exec(`INSERT INTO ${db.ns}.events (id, note) VALUES (101, 'new'), (701, 'new')`);
          await db.exec(`DELETE FROM ${db.ns}.events WHERE id IN (150, 750)`);
          await db.exec(`UPDATE ${db.ns}.events SET note = 'changed' WHERE id = 780`);
          const counts: number[] = [];
          const finished = running.finish();
          let done = false;
          finished.finally(() => done = true);
          while (!done) {
            counts.push(await login.sessions());
            await new Promise((r) => setTimeout(r, 50));
          }
          const r = await finished;
          assert.equal(r.code, 0, r.stderr);
          assert.equal(Math.max(...counts), 2, `sessions seen: ${counts.join(",")}`);
          const rows = await rowsOf(dir, "snap");
          assert.deepEqual(rows.map(idOf), before.map(([id]) => Number(id)));
          assert.equal(JSON.parse(rows.find((j) => idOf(j) === 780)!).note, "note 780");
        });
      });
    });
  });

  Deno.test(`chunked ${engine.name}: a killed parallel run resumes to every row exactly once; a changed plan is refused`, async () => {
    await withDb(engine, async (db) => {
      const ids = Array.from({ length: 300 }, (_, i) => i + 1);
      await createEvents(db, ids);
      await withTempDir(async (dir) => {
        const exp = (size: number): Exp => ({
          name: "res",
          lines: [
            `query: "SELECT * FROM ${db.ns}.events"`,
            "mode: chunked",
            "chunk_column: id",
            `chunk_size: ${size}`,
            "parallel: 2",
          ],
        });
        const slow = "profile: safe, batch_size: 5, throttle_ms: 50, retry_backoff_ms: 10";
        const path = await config(db, dir, [exp(30)], slow);
        const running = spawnRivet(["run", "-c", path], { RIVET_LOG: "debug" });
        await running.waitFor(/committed[\s\S]*committed[\s\S]*committed/);
        running.child.kill("SIGKILL");
        await running.finish();
        const partial = await rivet(["state", "chunks", "-c", path]);
        assert.match(partial.stdout, /^res\s+res_\S+\s+in_progress\s+([3-9]|10)\/10\s/m);

        await config(db, dir, [exp(20)], slow);
        const refused = await rivet(["run", "-c", path, "--resume"]);
        assert.equal(refused.code, 2);
        assert.match(
          parseSummaries(refused.stdout).res.error,
          /cannot resume chunked run res_\S+: chunk_size \(30 -> 20\) changed since it was planned; run without --resume to start over/,
        );

        // A window whose files were published but not recorded when the process died (the gap
        // between the two): its stray file must go, and the window be read again.
        const store = StateStore.open(join(dir, ".rivet_state.db"));
        const stray = join(dir, "out", "res_20000101_000000_000_chunk9.parquet");
        try {
          const run = store.openChunkRun("res")!;
          const pending = store.chunkTasks(run.runId).find((t) => t.status === "pending")!;
          await Deno.copyFile(
            join(dir, "out", (await listDir(join(dir, "out")))[0]),
            stray,
          );
          // Owned by a staging directory that no longer exists: its process is gone.
          store.beginDelivery({
            exportName: "res",
            runId: run.runId,
            piece: pending.index,
            owner: join(dir, "rivet-staging-gone"),
            locations: [stray],
          });
        } finally {
          store.close();
        }

        await config(db, dir, [exp(30)], slow);
        const resumed = await rivet(["run", "-c", path, "--resume"]);
        assert.equal(resumed.code, 0, resumed.stderr);
        assert.match(resumed.stderr, /resuming chunked run res_\S+: \d of 10 windows left/);
        assert.match(
          resumed.stderr,
          /died while delivering piece \d+; its unrecorded files were removed/,
        );
        await assert.rejects(Deno.stat(stray), Deno.errors.NotFound);
        const rows = await rowsOf(dir, "res");
        assert.deepEqual(rows.map(idOf), ids, "every row exactly once across both runs");
        const done = await rivet(["state", "chunks", "-c", path]);
        assert.match(done.stdout, /^res\s+res_\S+\s+complete\s+10\/10\s+300\s/m);
      });
    });
  });
}

for (const engine of ENGINES) {
  Deno.test(`batch_size_memory_mb ${engine.name}: batches sized from the measured row width, logged, every row delivered`, async () => {
    await withDb(engine, async (db) => {
      const big = engine.name === "postgres" ? "text" : "longtext";
      await db.exec(`CREATE TABLE ${db.ns}.wide (id int primary key, body ${big})`);
      await db.exec(
        engine.name === "postgres"
          ? `INSERT INTO ${db.ns}.wide SELECT n, REPEAT('w', 20000) FROM generate_series(1, 300) n`
          : `INSERT INTO ${db.ns}.wide SELECT seq, REPEAT('w', 20000) FROM ${db.ns}.seq_1_to_300`,
      );
      await withTempDir(async (dir) => {
        const path = await config(
          db,
          dir,
          [{ name: "mem", lines: [`query: "SELECT * FROM ${db.ns}.wide"`, "format: csv"] }],
          // A throttle keeps MySQL off the CSV passthrough, which builds no batches to size.
          "profile: balanced, throttle_ms: 1, batch_size_memory_mb: 1",
        );
        const r = await rivet(["run", "-c", path], { RIVET_LOG: "debug" });
        assert.equal(r.code, 0, r.stderr);
        const sizing = /batch_size_memory_mb=1: measured row ~(\d+) B, batch_size=(\d+)/.exec(
          r.stderr,
        );
        assert.ok(sizing, r.stderr.slice(0, 2000));
        assert.ok(Number(sizing[1]) >= 20_000, `row width ${sizing[1]}`);
        assert.ok(Number(sizing[2]) <= 60, `batch size ${sizing[2]} for ~20 KB rows in 1 MiB`);
        const batches = [...r.stderr.matchAll(/batch \d+: (\d+) rows/g)].map((m) => Number(m[1]));
        assert.ok(batches.length >= 5, `batches: ${batches.join(",")}`);
        assert.ok(Math.max(...batches) <= 60, `batches: ${batches.join(",")}`);
        assert.equal(parseSummaries(r.stdout).mem.rows, "300");
      });
    });
  });
}
