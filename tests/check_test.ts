/**
 * `rivet check` through the real CLI on both engines, on tables built to produce each verdict
 * (large ones only in the planner's statistics): every field of the text and `--json` forms, the
 * spec's warnings and suggestions, a query that does not plan, the proof that check never runs
 * the export query, and `rivet run` warning about a poor last verdict.
 */
import assert from "node:assert/strict";
import { rivet } from "./support/cli.ts";
import { ENGINES, type TestDb, withDb } from "./support/engines.ts";
import { pretendRows } from "./support/fake_stats.ts";
import { withTempDir, writeFile } from "./support/files.ts";

/** `SELECT n` for n in 1..rows on each engine. */
function numbers(db: TestDb, rows: number): string {
  return db.engine === "postgres"
    ? `SELECT n FROM generate_series(1, ${rows}) AS g(n)`
    : `SELECT seq AS n FROM ${db.ns}.seq_1_to_${rows}`;
}

async function createTables(db: TestDb): Promise<void> {
  const ts = db.engine === "postgres" ? "timestamp(6)" : "datetime(6)";
  const plus = (n: string) =>
    db.engine === "postgres"
      ? `TIMESTAMP '2024-01-01 00:00:00' + ${n} * INTERVAL '1 minute'`
      : `TIMESTAMP '2024-01-01 00:00:00' + INTERVAL ${n} MINUTE`;
  await db.exec(
    `CREATE TABLE ${db.ns}.orders (id bigint PRIMARY KEY, updated_at ${ts} NOT NULL, note varchar(40));
     CREATE INDEX idx_orders_updated_at ON ${db.ns}.orders (updated_at);
     CREATE TABLE ${db.ns}.events (id bigint, at ${ts}, payload varchar(40));
     CREATE TABLE ${db.ns}.huge (id bigint, payload varchar(40));
     CREATE TABLE ${db.ns}.bigidx (id bigint PRIMARY KEY, payload varchar(40));
     CREATE TABLE ${db.ns}.sparse (id bigint PRIMARY KEY, payload varchar(40))`,
  );
  await db.exec(
    `INSERT INTO ${db.ns}.orders SELECT n, ${plus("n")}, 'o' FROM (${numbers(db, 20_000)}) s`,
  );
  await db.exec(
    `INSERT INTO ${db.ns}.events SELECT n, ${plus("n")}, 'e' FROM (${numbers(db, 20_000)}) s`,
  );
  await db.exec(`INSERT INTO ${db.ns}.huge SELECT n, 'h' FROM (${numbers(db, 2_000)}) s`);
  await db.exec(`INSERT INTO ${db.ns}.bigidx SELECT n, 'b' FROM (${numbers(db, 50_000)}) s`);
  await db.exec(`INSERT INTO ${db.ns}.sparse SELECT n * 10000, 's' FROM (${numbers(db, 500)}) s`);
  for (const t of ["orders", "events", "huge", "bigidx", "sparse"]) {
    await db.exec(
      db.engine === "postgres" ? `ANALYZE ${db.ns}.${t}` : `ANALYZE TABLE ${db.ns}.${t}`,
    );
  }
  await pretendRows(db, "huge", 60_000_000);
  await pretendRows(db, "bigidx", 20_000_000);
}

/** Parses `rivet check` text into one map of field → values per export. */
function parseCheck(text: string): Record<string, Record<string, string[]>> {
  const out: Record<string, Record<string, string[]>> = {};
  let current: Record<string, string[]> | undefined;
  for (const line of text.split("\n")) {
    const head = /^Export: (\S+)$/.exec(line);
    if (head) {
      current = out[head[1]] = {};
      continue;
    }
    const field = /^ {2}([A-Za-z ]+): (.*)$/.exec(line);
    if (field && current) (current[field[1]] ??= []).push(field[2]);
  }
  return out;
}

for (const engine of ENGINES) {
  Deno.test(`check ${engine.name}: each verdict, warning and suggestion, in text and JSON; a query that does not plan; run warns about a poor verdict`, async () => {
    await withDb(engine, async (db) => {
      await createTables(db);
      await withTempDir(async (dir) => {
        const e = (
          name: string,
          lines: string[],
        ) => [
          `  - name: ${name}`,
          ...lines.map((l) => `    ${l}`),
          "    destination: { type: local, path: ./out }",
        ];
        const t = (table: string) => `query: "SELECT * FROM ${db.ns}.${table}"`;
        const path = await writeFile(
          dir,
          "rivet.yaml",
          [
            "source:",
            `  type: ${engine.name}`,
            `  url: "${db.url}"`,
            "  tuning: { profile: balanced }",
            "exports:",
            ...e("inc", [t("orders"), "mode: incremental", "cursor_column: updated_at"]),
            ...e("full_events", [t("events")]),
            ...e("unsafe", [t("huge")]),
            ...e("acceptable", [
              t("bigidx"),
              "mode: chunked",
              "chunk_column: id",
              "chunk_size: 100",
              "parallel: 2",
            ]),
            ...e("sparse", [t("sparse"), "mode: chunked", "chunk_column: id", "chunk_size: 1000"]),
            ...e("rownum", [
              `query: "SELECT t.*, ROW_NUMBER() OVER (ORDER BY id) AS rn FROM ${db.ns}.events t"`,
              "mode: chunked",
              "chunk_column: rn",
            ]),
            ...e("recent", [t("events"), "mode: time_window", "time_column: at", "days_window: 7"]),
            ...e("broken", [`query: "SELECT * FROM ${db.ns}.no_such_table"`]),
          ].join("\n") + "\n",
        );
        // A first run stores the incremental cursor: check plans the query the next run will send.
        assert.equal((await rivet(["run", "-c", path, "--export", "inc"])).code, 0);

        const text = await rivet(["check", "-c", path]);
        assert.equal(text.code, 2, "a query that does not plan makes check fail");
        const r = parseCheck(text.stdout);
        assert.deepEqual(Object.keys(r), [
          "inc",
          "full_events",
          "unsafe",
          "acceptable",
          "sparse",
          "rownum",
          "recent",
          "broken",
        ]);

        assert.deepEqual(r.inc.Strategy, ["incremental(updated_at)"]);
        assert.deepEqual(r.inc.Mode, ["incremental (cursor: updated_at)"]);
        assert.deepEqual(r.inc["Cursor range"], [
          "2024-01-01T00:01:00.000000 .. 2024-01-14T21:20:00.000000",
        ]);
        assert.match(r.inc["Scan type"][0], /idx_orders_updated_at/);
        assert.deepEqual(r.inc.Verdict, ["EFFICIENT"]);
        assert.deepEqual(r.inc.Recommended, ["tuning.profile: fast"]);
        assert.match(r.inc.Note.join(" "), /incremental cursor: after 2024-01-14T21:20:00\.000000/);

        assert.deepEqual(r.full_events.Strategy, ["full-scan"]);
        assert.deepEqual(r.full_events["Row estimate"], ["~20K"]);
        assert.match(
          r.full_events["Scan type"][0],
          /^(Seq Scan on events|full table scan on events)$/,
        );
        assert.deepEqual(r.full_events.Verdict, ["DEGRADED"]);
        assert.deepEqual(r.full_events.Recommended, ["tuning.profile: fast"]);
        assert.deepEqual(r.full_events.Suggestion, [
          "No index detected -- full table scan. Add an indexed cursor column and switch to incremental mode. Use 'safe' tuning profile to limit database impact.",
        ]);

        assert.deepEqual(r.unsafe["Row estimate"], ["~60M"]);
        assert.deepEqual(r.unsafe.Verdict, ["UNSAFE"]);
        assert.deepEqual(r.unsafe.Recommended, ["tuning.profile: safe"]);
        assert.ok(
          r.unsafe.Warning.some((w) =>
            /^No key_column on ~60M rows: .* set key_column to a unique, indexed column/.test(w)
          ),
          r.unsafe.Warning.join("\n"),
        );
        assert.ok(
          r.unsafe.Suggestion.some((s) =>
            s.startsWith("Large dataset (~60M rows) read in full every run")
          ),
        );

        assert.deepEqual(r.acceptable.Strategy, ["chunked-parallel(id, size=100, p=2)"]);
        assert.deepEqual(r.acceptable["Row estimate"], ["~20M"]);
        assert.deepEqual(r.acceptable["Cursor range"], ["1 .. 50000"]);
        assert.match(r.acceptable["Scan type"][0], /bigidx/);
        assert.deepEqual(r.acceptable.Verdict, ["ACCEPTABLE"]);
        assert.deepEqual(r.acceptable.Recommended, ["tuning.profile: safe"]);
        assert.match(r.acceptable.Parallelism[0], /^4 \(large dataset/);
        assert.ok(
          r.acceptable.Warning.some((w) =>
            w.startsWith("Parallel memory risk: parallel: 2 on ~20M rows")
          ),
        );

        assert.ok(
          r.sparse.Warning.some((w) =>
            /^Sparse key range: ~\d+% of chunk windows will be empty/.test(w)
          ),
          JSON.stringify(r.sparse),
        );
        assert.ok(
          r.rownum.Warning.some((w) => w.startsWith("Dense surrogate sort cost: ROW_NUMBER()")),
        );
        assert.ok(r.rownum.Note.some((n) => n.startsWith("range of rn skipped")));

        assert.deepEqual(r.recent.Strategy, ["time-window(at, 7d)"]);
        assert.ok(r.recent.Warning.some((w) => w.startsWith("No index on at")));
        assert.deepEqual(r.recent.Suggestion, [
          "Index the time column at so the window is a range scan.",
        ]);

        assert.match(r.broken.Error[0], /no_such_table/);
        assert.equal(r.broken.Verdict, undefined);

        // --json: one object per export, the same fields.
        const json = await rivet([
          "check",
          "-c",
          path,
          "--json",
          "--export",
          "inc",
          "--export",
          "unsafe",
        ]);
        assert.equal(json.code, 0);
        const objects = json.stdout.trim().split("\n").map((l) => JSON.parse(l));
        assert.deepEqual(objects.map((o) => o.exportName), ["inc", "unsafe"]);
        assert.equal(objects[1].verdict, "UNSAFE");
        assert.equal(objects[1].rowEstimate >= 59_000_000, true);
        assert.equal(objects[1].recommendedProfile, "safe");
        assert.deepEqual(objects[1].parallelism.workers, 1);
        assert.match(objects[1].query, /huge/);

        // The run reads the stored verdict and warns.
        const run = await rivet(["run", "-c", path, "--export", "full_events"]);
        assert.equal(run.code, 0, run.stderr);
        assert.match(
          run.stderr,
          /WARN +export 'full_events': its last rivet check \(\S+\) rated it DEGRADED \(full-scan\); run 'rivet check --export full_events' for the suggestions/,
        );
      });
    });
  });

  Deno.test(`check ${engine.name}: never runs the export query`, async () => {
    await withDb(engine, async (db) => {
      await createTables(db);
      let query = `SELECT SLEEP(10) AS s, id FROM ${db.ns}.events`;
      if (engine.name === "postgres") {
        await db.exec(
          `CREATE TABLE ${db.ns}.log (at timestamptz);
           CREATE FUNCTION ${db.ns}.touch(bigint) RETURNS bigint LANGUAGE sql AS
             'INSERT INTO ${db.ns}.log VALUES (now()) RETURNING 1'`,
        );
        query = `SELECT ${db.ns}.touch(id) AS t, pg_sleep(10) AS s, id FROM ${db.ns}.events`;
      }
      await withTempDir(async (dir) => {
        const path = await writeFile(
          dir,
          "rivet.yaml",
          [
            "source:",
            `  type: ${engine.name}`,
            `  url: "${db.url}"`,
            "exports:",
            `  - { name: probe, query: "${query}", destination: { type: local, path: ./out } }`,
          ].join("\n") + "\n",
        );
        const started = performance.now();
        const r = await rivet(["check", "-c", path]);
        assert.equal(r.code, 0, r.stdout + r.stderr);
        assert.ok(performance.now() - started < 8_000, "nothing slept");
        assert.match(r.stdout, /Verdict: DEGRADED/);
        if (engine.name === "postgres") {
          assert.deepEqual(await db.textRows(`SELECT count(*) FROM ${db.ns}.log`), [["0"]]);
        }
      });
    });
  });
}
