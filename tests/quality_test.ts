/**
 * Quality gates (`exports[].quality`): through the pipeline with a fake source (every rule alone,
 * all at once, an empty result, NULLs, a missing column), the gate itself (the distinct-value cap,
 * hashing of each value type), and end to end through the CLI on both engines.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import {
  Binary,
  Field,
  makeData,
  RecordBatch,
  Schema,
  Struct,
  Table,
  tableFromArrays,
  vectorFromArray,
} from "apache-arrow";
import { resolveTuning } from "../src/config/profiles.ts";
import type { Config, ExportConfig, QualityConfig } from "../src/config/types.ts";
import type { Source } from "../src/source/source.ts";
import { QualityGate, UNIQUE_VALUES_CAP } from "../src/pipeline/quality.ts";
import { runExportsWith } from "../src/pipeline/run.ts";
import { StateStore } from "../src/state/store.ts";
import { parseSummaries, rivet } from "./support/cli.ts";
import { ENGINES, type TestDb, withDb } from "./support/engines.ts";
import { FakeSourceFactory } from "./support/fake_source.ts";
import { listDir, withTempDir, writeFile } from "./support/files.ts";
import { captureLog } from "./support/log.ts";
import { loadHashers } from "../src/pipeline/hashers.ts";

// The pipeline loads the hashers as an export starts; these tests build its parts directly.
await loadHashers();

// 6 rows over two batches; `grp` repeats 10 (twice) and 20 across batches, `name` has 2 NULLs.
const table = tableFromArrays({
  id: BigInt64Array.from([1n, 2n, 3n, 4n, 5n, 6n]),
  name: ["a", null, "c", "d", null, "f"],
  grp: Int32Array.from([10, 20, 10, 30, 20, 10]),
});
const batches = [table.slice(0, 2).batches[0], table.slice(2, 6).batches[0]];

/** `quality` completed as the config loader would, each column named on a line of its own. */
function rulesWithSites(dir: string, quality: Partial<QualityConfig>): QualityConfig {
  const nullRatioMax = quality.nullRatioMax ?? {};
  const uniqueColumns = quality.uniqueColumns ?? [];
  const file = join(dir, "rivet.yaml");
  return {
    ...quality,
    nullRatioMax,
    uniqueColumns,
    sites: {
      nullRatioMax: Object.fromEntries(
        Object.keys(nullRatioMax).map((c, k) => [
          c,
          { file, line: 10 + k, key: `exports[0].quality.null_ratio_max.${c}` },
        ]),
      ),
      uniqueColumns: uniqueColumns.map((_, k) => ({
        file,
        line: 20 + k,
        key: `exports[0].quality.unique_columns[${k}]`,
      })),
    },
  };
}

function makeConfig(dir: string, quality?: Partial<QualityConfig>): Config {
  const exp: ExportConfig = {
    name: "items",
    query: "SELECT * FROM items",
    mode: { kind: "incremental", cursorColumn: "id" },
    format: "parquet",
    compression: "zstd",
    skipEmpty: false,
    metaColumns: { exportedAt: false, rowHash: false },
    destination: { type: "local", path: join(dir, "out") },
    ...(quality ? { quality: rulesWithSites(dir, quality) } : {}),
  };
  return {
    path: join(dir, "rivet.yaml"),
    dir,
    source: {
      type: "postgres",
      connection: { host: "h", port: 1, user: "u", database: "d", options: {} },
      tuning: { ...resolveTuning({ profile: "fast" }), retryBackoffMs: 1, maxRetries: 2 },
    },
    exports: [exp],
  };
}

function state(dir: string) {
  const store = StateStore.open(join(dir, ".rivet_state.db"));
  try {
    return {
      cursor: store.cursor("items")?.value,
      files: store.files({ last: 100 }).length,
      metrics: store.metrics({ last: 10 }),
    };
  } finally {
    store.close();
  }
}

/** Runs the export over `rows` (the fake ignores the cursor: every run reads them all). */
function run(dir: string, quality: Partial<QualityConfig> | undefined, rows = batches) {
  const fake = new FakeSourceFactory({ schema: table.schema, batches: rows });
  return runExportsWith(makeConfig(dir, quality), {}, fake.open);
}

Deno.test("quality: rules that hold deliver the file and report quality: pass", async () => {
  await withTempDir(async (dir) => {
    const { summaries, exitCode } = await run(dir, {
      rowCountMin: 6,
      rowCountMax: 6,
      nullRatioMax: { name: 1 / 3 },
      uniqueColumns: ["id"],
    });
    assert.equal(exitCode, 0, String(summaries[0].error));
    assert.equal(summaries[0].status, "success");
    assert.equal(summaries[0].quality, true);
    assert.equal((await listDir(join(dir, "out"))).length, 1);
    const st = state(dir);
    assert.deepEqual(st.cursor, { kind: "int", text: "6" });
    assert.equal(st.metrics[0].qualityPassed, true);
  });
});

Deno.test("quality: without rules the summary has no quality line and metrics hold null", async () => {
  await withTempDir(async (dir) => {
    const { summaries } = await run(dir, undefined);
    assert.equal(summaries[0].quality, undefined);
    assert.equal(state(dir).metrics[0].qualityPassed, null);
  });
});

const FAILING: { rule: Partial<QualityConfig>; message: string }[] = [
  { rule: { rowCountMin: 7 }, message: "row_count 6 below minimum 7" },
  { rule: { rowCountMax: 5 }, message: "row_count 6 above maximum 5" },
  {
    rule: { nullRatioMax: { name: 0.25 } },
    message: "column 'name': null ratio 0.3333 above 0.2500",
  },
  { rule: { uniqueColumns: ["grp"] }, message: "column 'grp': 3 repeated values" },
];

for (const { rule, message } of FAILING) {
  Deno.test(`quality: a failed rule alone fails the run: ${message}`, async () => {
    await withTempDir(async (dir) => {
      // A first run without rules delivers a file and stores the cursor.
      assert.equal((await run(dir, undefined)).exitCode, 0);
      const before = state(dir);
      const log = await captureLog("info", async () => {
        const { summaries, exitCode } = await run(dir, rule);
        assert.equal(exitCode, 3);
        assert.equal(summaries[0].status, "failed");
        assert.equal(summaries[0].quality, false);
        assert.equal(summaries[0].files, 0);
        assert.equal(summaries[0].error, `quality checks failed: ${message}`);
      });
      assert.ok(
        log.some((l) =>
          / ERROR .*export 'items': quality check failed: /.test(l) && l.includes(message)
        ),
        log.join(""),
      );
      assert.equal((await listDir(join(dir, "out"))).length, 1, "nothing delivered");
      const after = state(dir);
      assert.deepEqual(after.cursor, before.cursor);
      assert.equal(after.files, before.files);
      assert.equal(after.metrics[0].status, "failed");
      assert.equal(after.metrics[0].qualityPassed, false);
    });
  });
}

Deno.test("quality: every failed check is named in one message, with its measured value", async () => {
  await withTempDir(async (dir) => {
    const { summaries, exitCode } = await run(dir, {
      rowCountMin: 10,
      nullRatioMax: { name: 0.1, id: 0 },
      uniqueColumns: ["id", "grp", "name"],
    });
    assert.equal(exitCode, 3);
    assert.equal(
      summaries[0].error,
      "quality checks failed: row_count 6 below minimum 10; column 'name': null ratio 0.3333 above 0.1000; column 'grp': 3 repeated values",
    );
    assert.deepEqual(await listDir(join(dir, "out")), []);
    assert.equal(state(dir).cursor, undefined);
  });
});

Deno.test("quality: row_count_min fires on an empty result; null ratios of no rows are 0", async () => {
  await withTempDir(async (dir) => {
    const { summaries, exitCode } = await run(
      dir,
      { rowCountMin: 1, nullRatioMax: { name: 0 }, uniqueColumns: ["grp"] },
      [],
    );
    assert.equal(exitCode, 3);
    assert.equal(summaries[0].error, "quality checks failed: row_count 0 below minimum 1");
    assert.equal(summaries[0].quality, false);
  });
});

Deno.test("quality: NULLs are never repeated values", async () => {
  await withTempDir(async (dir) => {
    // `name` has two NULLs, in different batches, and otherwise distinct values.
    const { summaries, exitCode } = await run(dir, { uniqueColumns: ["name", "id"] });
    assert.equal(exitCode, 0, String(summaries[0].error));
    assert.equal(summaries[0].quality, true);
  });
});

Deno.test("quality: a rule naming a column the query lacks is a config error (exit 1)", async () => {
  await withTempDir(async (dir) => {
    const nulls = await run(dir, { nullRatioMax: { emial: 0.1 } });
    assert.equal(nulls.exitCode, 1);
    assert.equal(
      nulls.summaries[0].error,
      `${dir}/rivet.yaml:10: exports[0].quality.null_ratio_max.emial: the query returns no column 'emial' (its columns: id, name, grp)`,
    );
    const unique = await run(dir, { uniqueColumns: ["id", "code"] });
    assert.equal(unique.exitCode, 1);
    assert.equal(
      unique.summaries[0].error,
      `${dir}/rivet.yaml:21: exports[0].quality.unique_columns[1]: the query returns no column 'code' (its columns: id, name, grp)`,
    );
    assert.deepEqual(await listDir(join(dir, "out")), []);
  });
});

const noSource = undefined as unknown as Source;

/** The error `verify` rejects with, or undefined when every rule holds. */
async function verdict(gate: QualityGate): Promise<string | undefined> {
  return await gate.verify(noSource).then(() => undefined, (e: Error) => e.message);
}

function gateFor(schema: Schema, quality: Partial<QualityConfig>, cap?: number): QualityGate {
  const exp = makeConfig("/nowhere", quality).exports[0];
  return new QualityGate(exp.name, exp.quality!, schema, cap);
}

Deno.test("quality gate: past the cap new values are checked against the kept ones, with one warning", async () => {
  assert.equal(UNIQUE_VALUES_CAP, 10_000_000);
  const ids = (values: number[]) => tableFromArrays({ id: Int32Array.from(values) }).batches[0];
  const first = ids([1, 2, 3, 4, 5, 4]);
  const gate = gateFor(first.schema, { uniqueColumns: ["id"] }, 3);
  const log = await captureLog("info", async () => {
    // 4 and 5 arrive past the cap: not kept, so the second 4 goes unnoticed.
    gate.observe(first);
    assert.equal(await verdict(gate), undefined);
    gate.observe(ids([6, 2]));
  });
  const warnings = log.filter((l) => l.includes(" WARN "));
  assert.equal(warnings.length, 1, log.join(""));
  assert.match(
    warnings[0],
    /export 'items': quality: column 'id' has more than 3 distinct values; its uniqueness is checked on the first 3 only/,
  );
  assert.equal(
    await verdict(gate),
    "quality checks failed: column 'id': at least 1 repeated value",
  );
});

Deno.test("quality gate: values compare by their bytes or exact text, for every type", async () => {
  const bin = vectorFromArray(
    [Uint8Array.of(1, 2), Uint8Array.of(1), null, Uint8Array.of(1, 2), Uint8Array.of()],
    new Binary(),
  );
  const columns = tableFromArrays({
    text: ["é", "e", "é", null, ""],
    float: Float64Array.from([0, -0, 1.5, 2.5, 3.5]),
    big: BigInt64Array.from([2n ** 62n, 2n ** 62n + 1n, 7n, -(2n ** 62n), 2n ** 62n + 1n]),
  });
  const schema = new Schema([...columns.schema.fields, new Field("bin", bin.type, true)]);
  const data = makeData({
    type: new Struct(schema.fields),
    length: 5,
    nullCount: 0,
    children: [...columns.batches[0].data.children, bin.data[0]],
  });
  const gate = gateFor(schema, { uniqueColumns: ["text", "float", "big", "bin"] });
  gate.observe(new RecordBatch(schema, data));
  // -0 and 0 are written differently, so they are different values.
  assert.equal(
    await verdict(gate),
    "quality checks failed: column 'text': 1 repeated value; column 'big': 1 repeated value; column 'bin': 1 repeated value",
  );
});

Deno.test("quality gate: many distinct values and one repeat, across sliced batches", async () => {
  const n = 50_000;
  const values = Int32Array.from({ length: n + 1 }, (_, i) => (i === n ? 31_339 : i * 7));
  const whole = new Table({ v: vectorFromArray(values) });
  const gate = gateFor(whole.schema, { uniqueColumns: ["v"] });
  for (let start = 0; start <= n; start += 4_096) {
    for (const b of whole.slice(start, start + 4_096).batches) gate.observe(b);
  }
  // 31_339 = 7 * 4_477 was already there.
  assert.equal(await verdict(gate), "quality checks failed: column 'v': 1 repeated value");
});

// End to end: the real CLI on both engines.

function e2eConfig(db: TestDb, quality: string): string {
  return [
    "source:",
    `  type: ${db.engine}`,
    `  url: "${db.url}"`,
    "exports:",
    "  - name: people",
    `    query: "SELECT id, email, grp FROM ${db.ns}.people"`,
    "    mode: incremental",
    "    cursor_column: id",
    "    quality:",
    ...quality.split("\n").map((l) => `      ${l}`),
    "    destination: { type: local, path: ./out }",
    "",
  ].join("\n");
}

const FAILING_RULES =
  "row_count_min: 1\nnull_ratio_max: { email: 0.25 }\nunique_columns: [id, grp]";
const PASSING_RULES = "row_count_min: 1\nnull_ratio_max: { email: 0.5 }\nunique_columns: [id]";

for (const engine of ENGINES) {
  Deno.test(`quality e2e ${engine.name}: FAIL delivers nothing and keeps the cursor; pass delivers`, async () => {
    await withDb(engine, async (db) => {
      await db.exec(
        `CREATE TABLE ${db.ns}.people (id int primary key, email varchar(100), grp int);
         INSERT INTO ${db.ns}.people VALUES (1, 'a@x.org', 10), (2, NULL, 10), (3, 'c@x.org', 20), (4, NULL, NULL)`,
      );
      await withTempDir(async (dir) => {
        const failing = await writeFile(dir, "failing.yaml", e2eConfig(db, FAILING_RULES));
        const passing = await writeFile(dir, "passing.yaml", e2eConfig(db, PASSING_RULES));
        const out = join(dir, "out");
        const failure =
          "quality checks failed: column 'email': null ratio 0.5000 above 0.2500; column 'grp': 1 repeated value";

        const emptyState = (await rivet(["state", "show", "-c", failing])).stdout;
        const failed = await rivet(["run", "-c", failing]);
        assert.equal(failed.code, 3, failed.stderr);
        const summary = parseSummaries(failed.stdout).people;
        assert.equal(summary.status, "failed");
        assert.equal(summary.quality, "FAIL");
        assert.equal(summary.error, failure);
        assert.match(
          failed.stderr,
          /ERROR .*quality check failed: column 'grp': 1 repeated value among 3 non-NULL values, so at least one value repeats/,
        );
        assert.deepEqual(await listDir(out), []);
        assert.equal((await rivet(["state", "show", "-c", failing])).stdout, emptyState);
        assert.match((await rivet(["metrics", "-c", failing])).stdout, /quality=FAIL/);

        const passed = await rivet(["run", "-c", passing]);
        assert.equal(passed.code, 0, passed.stderr);
        assert.equal(parseSummaries(passed.stdout).people.quality, "pass");
        assert.equal(parseSummaries(passed.stdout).people.rows, "4");
        assert.equal((await listDir(out)).length, 1);
        const cursorState = (await rivet(["state", "show", "-c", passing])).stdout;
        assert.match(cursorState, /people\s+4\s/);

        // New rows repeat a group: the failing rules refuse them and the cursor stays at 4.
        await db.exec(`INSERT INTO ${db.ns}.people VALUES (5, 'e@x.org', 30), (6, NULL, 30)`);
        const again = await rivet(["run", "-c", failing]);
        assert.equal(again.code, 3, again.stderr);
        assert.equal(parseSummaries(again.stdout).people.quality, "FAIL");
        assert.equal((await listDir(out)).length, 1);
        assert.equal((await rivet(["state", "show", "-c", failing])).stdout, cursorState);
      });
    });
  });
}
