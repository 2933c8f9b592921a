import assert from "node:assert/strict";
import { tableFromArrays } from "apache-arrow";
import { join } from "node:path";
import type { Config, ExportConfig } from "../src/config/types.ts";
import { resolveTuning } from "../src/config/profiles.ts";
import { SourceError } from "../src/errors.ts";
import type { RunEvent } from "../src/pipeline/events.ts";
import { runExportsWith } from "../src/pipeline/run.ts";
import { StateStore } from "../src/state/store.ts";
import { FakeSourceFactory } from "./support/fake_source.ts";
import { listDir, withTempDir } from "./support/files.ts";
import { captureLog } from "./support/log.ts";
import { readParquet } from "./support/read_parquet.ts";

const table = tableFromArrays({
  id: BigInt64Array.from([1n, 2n, 3n, 4n, 5n]),
  name: ["a", "b", null, "d", "e"],
});
const batches = [table.slice(0, 2).batches[0], table.slice(2, 5).batches[0]];

function makeConfig(dir: string, exp: Partial<ExportConfig> = {}): Config {
  return {
    path: join(dir, "rivet.yaml"),
    dir,
    source: {
      type: "postgres",
      connection: { host: "h", port: 1, user: "u", database: "d", options: {} },
      tuning: { ...resolveTuning({ profile: "fast" }), retryBackoffMs: 1, maxRetries: 2 },
    },
    exports: [{
      name: "items",
      query: "SELECT * FROM items;",
      mode: { kind: "incremental", cursorColumn: "id" },
      format: "parquet",
      compression: "zstd",
      skipEmpty: false,
      metaColumns: { exportedAt: false, rowHash: false },
      destination: { type: "local", path: join(dir, "out") },
      ...exp,
    }],
  };
}

function listOut(dir: string): Promise<string[]> {
  return listDir(join(dir, "out"));
}

function state(dir: string) {
  const store = StateStore.open(join(dir, ".rivet_state.db"));
  try {
    return {
      cursor: store.cursor("items"),
      files: store.files({ last: 1000 }),
      metrics: store.metrics({ last: 10 }),
    };
  } finally {
    store.close();
  }
}

Deno.test("pipeline: incremental run commits the file, then the typed cursor, manifest and metrics", async () => {
  await withTempDir(async (dir) => {
    const fake = new FakeSourceFactory({ schema: table.schema, batches });
    const { summaries, exitCode } = await runExportsWith(makeConfig(dir), {}, fake.open);
    assert.equal(exitCode, 0);
    const [s] = summaries;
    assert.equal(s.status, "success");
    assert.equal(s.rows, 5);
    assert.equal(s.files, 1);
    assert.equal(
      fake.queries[0].text,
      'SELECT * FROM (SELECT * FROM items\n) AS _rivet ORDER BY "id"',
    );
    const files = await listOut(dir);
    assert.equal(files.length, 1);
    assert.match(files[0], /^items_\d{8}_\d{6}_\d{3}\.parquet$/);
    const rows = await readParquet(join(dir, "out", files[0]));
    assert.deepEqual(rows.rows.map((r) => r.name), ["a", "b", null, "d", "e"]);
    const st = state(dir);
    assert.deepEqual(st.cursor?.value, { kind: "int", text: "5" });
    assert.equal(st.cursor?.column, "id");
    assert.equal(st.files[0].rows, 5);
    assert.equal(st.files[0].runId, s.runId);
    assert.equal(st.metrics[0].status, "success");

    // The second run binds the stored cursor as a parameter.
    const again = new FakeSourceFactory({ schema: table.schema, batches: [] });
    const second = await runExportsWith(makeConfig(dir), {}, again.open);
    assert.equal(
      again.queries[0].text,
      'SELECT * FROM (SELECT * FROM items\n) AS _rivet WHERE "id" > $1 ORDER BY "id"',
    );
    assert.deepEqual(again.queries[0].params, [{ kind: "int", text: "5" }]);
    assert.equal(second.summaries[0].schema, "unchanged");
  });
});

Deno.test("pipeline: every batch's memory is freed once it is written, and the file still holds every row", async () => {
  await withTempDir(async (dir) => {
    // Buffers of 200 KB: big enough to be freed at once rather than left to the collector.
    const ids = tableFromArrays({
      id: BigInt64Array.from({ length: 25_000 }, (_, i) => BigInt(i)),
    });
    const halves = [ids.slice(0, 12_500).batches[0], ids.slice(12_500).batches[0]];
    for (const format of ["parquet", "csv"] as const) {
      const fake = new FakeSourceFactory({ schema: ids.schema, batches: halves });
      const config = makeConfig(dir, { format, mode: { kind: "full" } });
      const { summaries, exitCode } = await runExportsWith(config, {}, fake.open);
      assert.equal(exitCode, 0, String(summaries[0].error));
      assert.equal(summaries[0].rows, 25_000);
      assert.equal(fake.yielded.length, 2);
      for (const batch of fake.yielded) {
        assert.ok(batch.data.children[0].values.buffer.detached, `${format}: batch freed`);
      }
    }
    const [parquet] = (await listOut(dir)).filter((f) => f.endsWith(".parquet"));
    const { rows } = await readParquet(join(dir, "out", parquet));
    assert.equal(rows.length, 25_000);
    assert.equal(rows.at(-1)?.id, 24_999n);
  });
});

Deno.test("pipeline: a failure mid-stream leaves no file and the cursor unchanged", async () => {
  await withTempDir(async (dir) => {
    const boom = new SourceError('relation "items" does not exist', "permanent");
    const fake = new FakeSourceFactory({
      schema: table.schema,
      batches,
      failures: [{ attempt: 1, beforeBatch: 1, error: boom }],
    });
    const { summaries, exitCode } = await runExportsWith(makeConfig(dir), {}, fake.open);
    assert.equal(exitCode, 2);
    assert.equal(summaries[0].status, "failed");
    assert.match(summaries[0].error!, /relation "items" does not exist/);
    assert.equal(fake.attempts, 1, "permanent errors are not retried");
    assert.equal(fake.closed, 1);
    assert.deepEqual(await listOut(dir), []);
    const st = state(dir);
    assert.equal(st.cursor, undefined);
    assert.equal(st.files.length, 0);
    assert.equal(st.metrics[0].status, "failed");
  });
});

Deno.test("pipeline: network errors are retried on a fresh connection", async () => {
  await withTempDir(async (dir) => {
    const reset = new SourceError("connection reset by peer", "network");
    const fake = new FakeSourceFactory({
      schema: table.schema,
      batches,
      failures: [{ attempt: 1, beforeBatch: 1, error: reset }],
    });
    const { summaries } = await runExportsWith(makeConfig(dir), {}, fake.open);
    assert.equal(summaries[0].status, "success");
    assert.equal(summaries[0].retries, 1);
    assert.equal(summaries[0].rows, 5, "the retried attempt starts over, no duplicated rows");
    assert.equal(fake.attempts, 2);
    assert.equal(fake.closed, 2);
    assert.equal((await listOut(dir)).length, 1);
  });
});

Deno.test("pipeline: auth errors fail at once; retries stop at max_retries", async () => {
  await withTempDir(async (dir) => {
    const auth = new FakeSourceFactory({
      schema: table.schema,
      batches,
      failures: [{
        attempt: 1,
        beforeBatch: 0,
        error: new SourceError("password authentication failed", "auth"),
      }],
    });
    await runExportsWith(makeConfig(dir), {}, auth.open);
    assert.equal(auth.attempts, 1);
    const flaky = new FakeSourceFactory({
      schema: table.schema,
      batches,
      failures: [1, 2, 3, 4].map((attempt) => ({
        attempt,
        beforeBatch: 0,
        error: new SourceError("timeout", "timeout"),
      })),
    });
    const { summaries } = await runExportsWith(makeConfig(dir), {}, flaky.open);
    assert.equal(flaky.attempts, 3, "1 attempt + max_retries (2)");
    assert.equal(summaries[0].retries, 2);
    assert.equal(summaries[0].status, "failed");
  });
});

Deno.test("pipeline: a run with no rows writes no file: success with files 0, or skipped with skip_empty; the cursor stays", async () => {
  await withTempDir(async (dir) => {
    const fake = new FakeSourceFactory({ schema: table.schema, batches });
    await runExportsWith(makeConfig(dir), {}, fake.open);
    const before = state(dir).cursor;
    assert.deepEqual(before?.value, { kind: "int", text: "5" });
    const filesBefore = await listOut(dir);

    const empty = new FakeSourceFactory({ schema: table.schema, batches: [] });
    for (const format of ["parquet", "csv"] as const) {
      const run = await runExportsWith(makeConfig(dir, { format }), {}, empty.open);
      assert.equal(run.exitCode, 0);
      assert.equal(run.summaries[0].status, "success");
      assert.equal(run.summaries[0].files, 0);
      assert.equal(run.summaries[0].rows, 0);
      assert.deepEqual(run.summaries[0].locations, []);
    }
    const skipped = await runExportsWith(makeConfig(dir, { skipEmpty: true }), {}, empty.open);
    assert.equal(skipped.exitCode, 0);
    assert.equal(skipped.summaries[0].status, "skipped");
    assert.equal(skipped.summaries[0].files, 0);

    assert.deepEqual(await listOut(dir), filesBefore, "no file was added");
    const st = state(dir);
    assert.deepEqual(st.cursor, before, "the cursor did not move");
    assert.equal(st.files.length, 1, "only the first run's file is in the manifest");
    assert.deepEqual(st.metrics.map((m) => [m.status, m.files]), [
      ["skipped", 0],
      ["success", 0],
      ["success", 0],
      ["success", 1],
    ]);
  });
});

Deno.test("pipeline: a publish that fails after a good extract fails the export (exit 2) and leaves cursor and manifest unchanged", async () => {
  await withTempDir(async (dir) => {
    const fake = new FakeSourceFactory({ schema: table.schema, batches });
    // The destination directory cannot be created: a regular file stands where it should be.
    const blocked = join(dir, "blocked");
    await Deno.writeTextFile(blocked, "not a directory");
    const config = makeConfig(dir, { destination: { type: "local", path: join(blocked, "out") } });
    const { summaries, exitCode } = await runExportsWith(config, {}, fake.open);
    assert.equal(exitCode, 2);
    assert.equal(summaries[0].status, "failed");
    assert.equal(summaries[0].rows, 5, "the extract itself succeeded");
    assert.equal(summaries[0].files, 0);
    assert.match(summaries[0].error!, /cannot write items_\d{8}_\d{6}_\d{3}\.parquet to /);
    assert.equal(fake.attempts, 1, "a failed publish is not retried against the source");
    const st = state(dir);
    assert.equal(st.cursor, undefined, "the cursor is stored only after the file is published");
    assert.equal(st.files.length, 0);
    assert.equal(st.metrics[0].status, "failed");
  });
});

Deno.test("pipeline: events announce the run: started, one batch event per batch, committed, finished", async () => {
  await withTempDir(async (dir) => {
    const reset = new SourceError("connection reset by peer", "network");
    const fake = new FakeSourceFactory({
      schema: table.schema,
      batches,
      failures: [{ attempt: 1, beforeBatch: 1, error: reset }],
    });
    const events: RunEvent[] = [];
    const { summaries } = await runExportsWith(
      makeConfig(dir),
      {
        onEvent: (e) => {
          events.push(e);
          throw new Error("a broken listener never fails the export");
        },
      },
      fake.open,
    );
    assert.equal(summaries[0].status, "success");
    assert.deepEqual(events.map((e) => e.type), [
      "started",
      "batch", // attempt 1: first batch, then the reset
      "retry",
      "batch",
      "batch",
      "committed",
      "finished",
    ]);
    const [started, , retry, , last, committed, finished] = events;
    assert.equal(started.type === "started" && started.runId, summaries[0].runId);
    assert.ok(retry.type === "retry" && retry.retryClass === "network" && retry.attempt === 1);
    assert.ok(last.type === "batch" && last.rows === 3 && last.pieceRows === 5);
    assert.ok(committed.type === "committed" && committed.rows === 5);
    assert.equal(committed.type === "committed" && committed.location, summaries[0].locations[0]);
    assert.ok(finished.type === "finished" && finished.summary === summaries[0]);
  });
});

Deno.test("pipeline: a changed cursor_column does not inherit the old cursor", async () => {
  await withTempDir(async (dir) => {
    const fake = new FakeSourceFactory({ schema: table.schema, batches });
    await runExportsWith(makeConfig(dir), {}, fake.open);
    const renamed = await runExportsWith(
      makeConfig(dir, { mode: { kind: "incremental", cursorColumn: "name" } }),
      {},
      fake.open,
    );
    assert.equal(renamed.summaries[0].status, "failed");
    assert.match(renamed.summaries[0].error!, /cursor_column changed from 'id' to 'name'/);
  });
});

/** 40 batches of 250 rows: enough bytes to split into parts. */
function manyBatches() {
  const n = 10_000;
  const wide = tableFromArrays({
    id: BigInt64Array.from({ length: n }, (_, i) => BigInt(i + 1)),
    note: Array.from({ length: n }, (_, i) => `row ${i + 1} `.padEnd(60, "x")),
  });
  const out = [];
  for (let i = 0; i < n; i += 250) out.push(wide.slice(i, i + 250).batches[0]);
  return { schema: wide.schema, batches: out };
}

Deno.test("pipeline: max_file_size splits a piece into _part<N> files, each at most one batch past the limit, all in the manifest", async () => {
  await withTempDir(async (dir) => {
    const { schema, batches: many } = manyBatches();
    // Parquet compresses these rows about 8x better than CSV: a smaller limit gives several parts.
    for (const [format, limit] of [["csv", 64 * 1024], ["parquet", 16 * 1024]] as const) {
      const out = join(dir, format);
      const fake = new FakeSourceFactory({ schema, batches: many });
      const config = makeConfig(dir, {
        mode: { kind: "full" },
        format,
        maxFileSize: limit,
        destination: { type: "local", path: out },
      });
      const { summaries } = await runExportsWith(config, {}, fake.open);
      assert.equal(summaries[0].status, "success", String(summaries[0].error));
      const files = await listDir(out);
      assert.ok(files.length >= 2, `${format}: several parts (${files.length})`);
      files.forEach((name, i) =>
        assert.match(name, new RegExp(`^items_\\d{8}_\\d{6}_\\d{3}_part${i}\\.${format}$`))
      );
      let rows = 0;
      for (const name of files) {
        const path = join(out, name);
        const size = (await Deno.stat(path)).size;
        if (format === "csv") {
          // A part ends at the first batch boundary past the limit; one batch is ~16.5 KB here.
          assert.ok(size <= limit + 17 * 1024, `${name}: ${size} bytes`);
          rows += (await Deno.readTextFile(path)).trim().split("\n").length - 1;
        } else {
          // Past the limit only by the row group in progress (at most 16 KiB buffered when the
          // limit is this small) and the footer every Parquet file ends with.
          const data = await Deno.readFile(path);
          const footer = new DataView(data.buffer).getUint32(data.length - 8, true) + 8;
          assert.ok(size - footer <= limit + 16 * 1024, `${name}: ${size} bytes`);
          rows += (await readParquet(path)).rows.length;
        }
      }
      assert.equal(rows, 10_000, `${format}: every row once`);
      assert.equal(summaries[0].files, files.length);
    }
    const st = state(dir);
    assert.equal(st.files.reduce((sum, f) => sum + f.rows, 0), 20_000);
  });
});

Deno.test("pipeline: a piece that fails after some parts were cut leaves no part anywhere", async () => {
  await withTempDir(async (dir) => {
    const { schema, batches: many } = manyBatches();
    const fake = new FakeSourceFactory({
      schema,
      batches: many,
      failures: [{ attempt: 1, beforeBatch: 30, error: new SourceError("syntax", "permanent") }],
    });
    const config = makeConfig(dir, { mode: { kind: "full" }, format: "csv", maxFileSize: 16_384 });
    const { summaries } = await runExportsWith(config, {}, fake.open);
    assert.equal(summaries[0].status, "failed");
    assert.deepEqual(await listOut(dir), []);
    assert.equal(state(dir).files.length, 0);
  });
});

Deno.test("pipeline: a large export without key_column on a gentle profile is warned about, naming the primary key", async () => {
  await withTempDir(async (dir) => {
    const big = new FakeSourceFactory({
      schema: table.schema,
      batches,
      estimate: 2_500_000,
      primaryKey: ["id"],
    });
    const balanced = makeConfig(dir, { mode: { kind: "full" } });
    balanced.source.tuning = { ...balanced.source.tuning, profile: "balanced" };
    const lines = await captureLog("info", async () => {
      await runExportsWith(balanced, {}, big.open);
    });
    assert.ok(
      lines.some((l) =>
        l.includes(
          "export 'items': about 2500000 rows without key_column on the balanced profile: PostgreSQL keeps one transaction open for the whole export; items's primary key is id: set key_column: id",
        )
      ),
      lines.join(""),
    );
    // Not on the fast profile, nor with a key, nor for a small export.
    const fast = await captureLog("info", async () => {
      await runExportsWith(makeConfig(dir, { mode: { kind: "full" } }), {}, big.open);
    });
    assert.ok(!fast.some((l) => l.includes("without key_column")));
    const small = new FakeSourceFactory({ schema: table.schema, batches, estimate: 10 });
    const quiet = await captureLog("info", async () => {
      await runExportsWith(balanced, {}, small.open);
    });
    assert.ok(!quiet.some((l) => l.includes("without key_column")));
  });
});
