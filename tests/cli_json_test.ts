/**
 * `--json` of `run`, `state show`, `state files` and `metrics` through the real CLI on the real
 * PostgreSQL: every line parses, and its fields are checked against the database, the files on
 * disk (read back with csv-parse) and each other; `run --json` is refused when an export writes
 * to stdout.
 */
import assert from "node:assert/strict";
import { rivet } from "./support/cli.ts";
import { postgresDb, type TestDb, withDb } from "./support/engines.ts";
import { withTempDir, writeFile } from "./support/files.ts";
import { readCsv } from "./support/read_csv.ts";

const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

/** Each line of `stdout` parsed as JSON (the output must be nothing but JSON lines). */
function jsonLines(stdout: string): Record<string, unknown>[] {
  if (stdout === "") return [];
  assert.ok(stdout.endsWith("\n"), "every object ends its line");
  return stdout.slice(0, -1).split("\n").map((line) => JSON.parse(line));
}

function assertIso(value: unknown): void {
  assert.equal(typeof value, "string");
  assert.match(value as string, ISO);
  assert.equal(new Date(value as string).toISOString(), value);
}

function config(db: TestDb, dir: string, extra = ""): Promise<string> {
  return writeFile(
    dir,
    "rivet.yaml",
    `
    source:
      type: postgres
      url: "${db.url}"
      tuning: { profile: fast }
    exports:
      - name: orders
        query: SELECT id, amount FROM ${db.ns}.orders
        mode: incremental
        cursor_column: id
        format: csv
        destination: { type: local, path: ./out }
      - name: all_orders
        query: SELECT * FROM ${db.ns}.orders
        format: parquet
        compression: zstd
        destination: { type: local, path: ./out }
    ${extra}
    `,
  );
}

Deno.test("cli --json: run, state show, state files and metrics print parseable objects with the run's facts", async () => {
  await withDb({ create: postgresDb }, async (db) => {
    await db.exec(
      `CREATE TABLE ${db.ns}.orders AS SELECT g::bigint AS id, (g * 1.5)::numeric(10,2) AS amount FROM generate_series(1, 120) g`,
    );
    await withTempDir(async (dir) => {
      const path = await config(db, dir);

      // Before any run: nothing recorded, so no lines at all (not a message).
      for (const args of [["state", "show"], ["state", "files"], ["metrics"]]) {
        const empty = await rivet([...args, "-c", path, "--json"]);
        assert.equal(empty.code, 0, empty.stderr);
        assert.equal(empty.stdout, "", args.join(" "));
      }

      const first = await rivet(["run", "-c", path, "--json", "--validate"]);
      assert.equal(first.code, 0, first.stderr);
      const [orders, all] = jsonLines(first.stdout);
      assert.deepEqual(Object.keys(orders), [
        "exportName",
        "runId",
        "status",
        "exitCode",
        "rows",
        "files",
        "bytes",
        "durationMs",
        "peakRssMb",
        "retries",
        "longestStatementMs",
        "longestTransactionMs",
        "validated",
        "quality",
        "reconciled",
        "schema",
        "locations",
        "error",
      ]);
      assert.equal(orders.exportName, "orders");
      assert.match(orders.runId as string, /^orders_\d{8}T\d{6}\.\d{3}$/);
      assert.equal(orders.status, "success");
      assert.equal(orders.exitCode, 0);
      assert.equal(orders.rows, 120);
      assert.equal(orders.files, 1);
      assert.equal(orders.validated, true);
      assert.equal(orders.reconciled, null);
      assert.equal(orders.schema, null, "no schema verdict on the first run");
      assert.equal(orders.error, null);
      for (const key of ["durationMs", "peakRssMb", "longestStatementMs", "longestTransactionMs"]) {
        assert.ok(Number.isInteger(orders[key]) && (orders[key] as number) >= 0, key);
      }
      const [csvPath] = orders.locations as string[];
      assert.equal(orders.bytes, (await Deno.stat(csvPath)).size);
      const csv = await readCsv(csvPath);
      assert.deepEqual(csv[0], ["id", "amount"]);
      assert.equal(csv.length - 1, 120);
      assert.equal(all.exportName, "all_orders");
      assert.equal(all.rows, 120);
      assert.equal(all.bytes, (await Deno.stat((all.locations as string[])[0])).size);

      await db.exec(
        `INSERT INTO ${db.ns}.orders SELECT g, g FROM generate_series(121, 130) g`,
      );
      const second = await rivet(["run", "-c", path, "--json", "--export", "orders"]);
      assert.equal(second.code, 0, second.stderr);
      const [again] = jsonLines(second.stdout);
      assert.equal(again.rows, 10, "only the new rows");
      assert.equal(again.schema, "unchanged");
      assert.equal(again.validated, null, "no --validate this time");

      const show = await rivet(["state", "show", "-c", path, "--json"]);
      assert.equal(show.code, 0, show.stderr);
      const cursors = jsonLines(show.stdout);
      const cursor = cursors.find((c) => c.exportName === "orders")!;
      assert.deepEqual(Object.keys(cursor), [
        "exportName",
        "cursorColumn",
        "cursorValue",
        "cursorKind",
        "lastRunAt",
      ]);
      assert.equal(cursor.cursorColumn, "id");
      assert.equal(cursor.cursorValue, "130", "the exact text of the last id");
      assert.equal(cursor.cursorKind, "int");
      assertIso(cursor.lastRunAt);
      assert.deepEqual(cursors.map((c) => c.exportName), ["orders"], "incremental exports only");

      const files = await rivet(["state", "files", "-c", path, "--json"]);
      assert.equal(files.code, 0, files.stderr);
      const manifest = jsonLines(files.stdout);
      assert.equal(manifest.length, 3);
      // Newest first: the second run's file.
      assert.equal(manifest[0].runId, again.runId);
      assert.equal(manifest[0].location, (again.locations as string[])[0]);
      assert.equal(manifest[0].rows, 10);
      assert.equal(manifest[0].format, "csv");
      assert.equal(manifest[0].compression, null);
      const parquet = manifest.find((f) => f.exportName === "all_orders")!;
      assert.equal(parquet.format, "parquet");
      assert.equal(parquet.compression, "zstd");
      for (const f of manifest) {
        assert.equal(f.bytes, (await Deno.stat(f.location as string)).size);
        assert.equal(f.fileName, (f.location as string).split("/").at(-1));
        assertIso(f.createdAt);
      }
      const oneExport = jsonLines(
        (await rivet(["state", "files", "-c", path, "--json", "-e", "orders", "-l", "1"])).stdout,
      );
      assert.deepEqual(oneExport, [manifest[0]]);

      const metrics = await rivet(["metrics", "-c", path, "--json"]);
      assert.equal(metrics.code, 0, metrics.stderr);
      const runs = jsonLines(metrics.stdout);
      assert.deepEqual(runs.map((m) => m.runId), [again.runId, all.runId, orders.runId]);
      const latest = runs[0];
      assert.equal(latest.exportName, "orders");
      assert.equal(latest.status, "success");
      assert.equal(latest.rows, 10);
      assert.equal(latest.files, 1);
      assert.equal(latest.bytes, again.bytes);
      assert.equal(latest.durationMs, again.durationMs);
      assert.equal(latest.profile, "fast");
      assert.equal(latest.mode, "incremental");
      assert.equal(latest.format, "csv");
      assert.equal(latest.schemaChanged, false);
      assert.equal(latest.error, null);
      assertIso(latest.runAt);
      assert.equal(runs[2].validated, true);
      assert.equal(runs[2].schemaChanged, null);
    });
  });
});

Deno.test("cli --json: a failed export is a line with its error, and the exit code says so", async () => {
  await withDb({ create: postgresDb }, async (db) => {
    await withTempDir(async (dir) => {
      const path = await writeFile(
        dir,
        "rivet.yaml",
        `
        source:
          type: postgres
          url: "${db.url}"
          tuning: { max_retries: 0 }
        exports:
          - name: broken
            query: SELECT * FROM ${db.ns}.missing_table
            destination: { type: local, path: ./out }
        `,
      );
      const r = await rivet(["run", "-c", path, "--json"]);
      assert.equal(r.code, 2);
      const [broken] = jsonLines(r.stdout);
      assert.equal(broken.status, "failed");
      assert.equal(broken.exitCode, 2);
      assert.equal(broken.rows, 0);
      assert.deepEqual(broken.locations, []);
      assert.match(broken.error as string, /missing_table/);
      const [metric] = jsonLines((await rivet(["metrics", "-c", path, "--json"])).stdout);
      assert.equal(metric.status, "failed");
      assert.equal(metric.error, broken.error);
    });
  });
});

Deno.test("cli --json: refused with one line when an export of the run writes to stdout", async () => {
  await withDb({ create: postgresDb }, async (db) => {
    await db.exec(`CREATE TABLE ${db.ns}.orders (id bigint, amount numeric)`);
    await withTempDir(async (dir) => {
      const path = await config(
        db,
        dir,
        `  - name: piped
        query: SELECT 1 AS one
        format: csv
        destination: { type: stdout }`,
      );
      const r = await rivet(["run", "-c", path, "--json"]);
      assert.equal(r.code, 1);
      assert.equal(r.stdout, "");
      assert.equal(
        r.stderr,
        "error: --json prints the summaries on stdout, where export 'piped' writes its file; drop --json or run that export without it\n",
      );
      // Nothing ran.
      assert.equal((await rivet(["metrics", "-c", path, "--json"])).stdout, "");
      // The exports that do not write to stdout still run with --json.
      const without = await rivet(["run", "-c", path, "--json", "-e", "orders"]);
      assert.equal(without.code, 0, without.stderr);
      assert.equal(jsonLines(without.stdout)[0].exportName, "orders");
    });
  });
});
