/**
 * The data gates against the real servers, through the pipeline's fault hooks: `--reconcile`
 * catches a value changed between read and write (its column and both values named, nothing
 * delivered, the cursor unchanged, exit 3), and `--validate` catches a truncated file.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { makeData, RecordBatch, Struct } from "apache-arrow";
import { loadConfig } from "../src/config/load.ts";
import { runExportsWith } from "../src/pipeline/run.ts";
import { openSource } from "../src/source/open.ts";
import { StateStore } from "../src/state/store.ts";
import { ENGINES, type TestDb, withDb } from "./support/engines.ts";
import { listDir, withTempDir, writeFile } from "./support/files.ts";

async function createTable(db: TestDb): Promise<void> {
  const ts = db.engine === "postgres" ? "timestamp(6)" : "datetime(6)";
  await db.exec(
    `CREATE TABLE ${db.ns}.t (id int PRIMARY KEY, amount decimal(12,2), at ${ts}, note varchar(50))`,
  );
  await db.exec(
    `INSERT INTO ${db.ns}.t VALUES
       (1, 10.50, '2024-01-01 00:00:00', 'one'), (2, -3.25, '2024-02-01 00:00:00', 'two'),
       (3, NULL, '2024-03-01 12:00:00.5', NULL), (4, 100.00, '2024-04-01 00:00:00', 'four')`,
  );
}

async function config(db: TestDb, dir: string, format: string): Promise<string> {
  return await writeFile(
    dir,
    "rivet.yaml",
    `source: { type: ${db.engine}, url: "${db.url}", tuning: { profile: balanced, batch_size: 2 } }
exports:
  - name: t
    query: "SELECT * FROM ${db.ns}.t"
    mode: incremental
    cursor_column: id
    format: ${format}
    destination: { type: local, path: ./out }
`,
  );
}

/** `batch` with the int32 column `name`'s first value increased by one. */
function bumpFirst(batch: RecordBatch, name: string): RecordBatch {
  const index = batch.schema.fields.findIndex((f) => f.name === name);
  const children = batch.data.children.map((child, i) => {
    if (i !== index) return child;
    const values = Int32Array.from(child.values as Int32Array);
    values[child.offset] += 1;
    return makeData(
      {
        type: child.type,
        length: child.length,
        nullBitmap: child.nullBitmap,
        data: values,
      } as never,
    );
  });
  const data = makeData({ type: new Struct(batch.schema.fields), length: batch.numRows, children });
  return new RecordBatch(batch.schema, data);
}

function cursorOf(dir: string): string | undefined {
  const store = StateStore.open(join(dir, ".rivet_state.db"));
  try {
    return store.cursor("t")?.value?.text;
  } finally {
    store.close();
  }
}

for (const engine of ENGINES) {
  Deno.test(`gates ${engine.name}: --reconcile catches a value changed between read and write`, async () => {
    await withDb(engine, async (db) => {
      await createTable(db);
      await withTempDir(async (dir) => {
        for (const format of ["parquet", "csv"]) {
          const cfg = await loadConfig(await config(db, dir, format));
          let bumped = false;
          const { summaries, exitCode } = await runExportsWith(
            cfg,
            { reconcile: true },
            openSource,
            {
              beforeWrite: (batch) => {
                if (bumped) return batch;
                bumped = true;
                return bumpFirst(batch, "id");
              },
            },
          );
          assert.equal(exitCode, 3, format);
          assert.equal(summaries[0].reconciled, false);
          assert.equal(
            summaries[0].error,
            "reconcile failed: column 'id': sum 10 in the source, 11 in the file",
          );
          assert.deepEqual(await listDir(join(dir, "out")), [], "nothing delivered");
          assert.equal(cursorOf(dir), undefined, "the cursor did not move");
        }
        // Untouched, the same export reconciles and delivers.
        const clean = await runExportsWith(await loadConfig(await config(db, dir, "csv")), {
          reconcile: true,
        }, openSource);
        assert.equal(clean.exitCode, 0, String(clean.summaries[0].error));
        assert.equal(clean.summaries[0].reconciled, true);
        assert.equal(cursorOf(dir), "4");
      });
    });
  });

  Deno.test(`gates ${engine.name}: --validate catches a truncated file; nothing is delivered`, async () => {
    await withDb(engine, async (db) => {
      await createTable(db);
      await withTempDir(async (dir) => {
        for (const format of ["parquet", "csv"]) {
          const cfg = await loadConfig(await config(db, dir, format));
          const { summaries, exitCode } = await runExportsWith(
            cfg,
            { validate: true },
            openSource,
            {
              afterFinish: async (path) => {
                const bytes = await Deno.readFile(path);
                await Deno.writeFile(path, bytes.slice(0, Math.floor(bytes.length / 2)));
              },
            },
          );
          assert.equal(exitCode, 3, format);
          assert.equal(summaries[0].validated, false);
          assert.match(
            summaries[0].error!,
            format === "csv"
              ? /validation failed: expected 4 rows, the file holds [0-3]|ends inside a quoted field/
              : /footer|Parquet/,
          );
          assert.deepEqual(await listDir(join(dir, "out")), []);
          assert.equal(cursorOf(dir), undefined);
        }
      });
    });
  });
}

Deno.test("gates: --reconcile refuses keyset exports before anything runs, naming them", async () => {
  await withTempDir(async (dir) => {
    const path = await writeFile(
      dir,
      "rivet.yaml",
      `source: { type: postgres, url: "postgresql://nobody@127.0.0.1:1/none" }
exports:
  - name: paged
    query: "SELECT id FROM t"
    key_column: id
    format: csv
    destination: { type: local, path: ./out }
  - name: plain
    query: "SELECT id FROM t"
    format: csv
    destination: { type: local, path: ./out }
`,
    );
    const cfg = await loadConfig(path);
    const opened: string[] = [];
    await assert.rejects(
      runExportsWith(cfg, { reconcile: true }, () => {
        opened.push("source");
        throw new Error("must not connect");
      }),
      /--reconcile cannot check export 'paged': key_column reads each page in its own snapshot/,
    );
    assert.deepEqual(opened, [], "no source was opened");
    assert.deepEqual(await listDir(dir), ["rivet.yaml"], "no state, no files");
  });
});
