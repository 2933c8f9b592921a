import assert from "node:assert/strict";
import { join } from "node:path";
import { loadConfig } from "../src/config/load.ts";
import { parseSummaries, rivet } from "./support/cli.ts";
import { listDir, withTempDir } from "./support/files.ts";
import { withMysqlDb } from "./support/mysql.ts";
import { pgSettings, withSchema } from "./support/pg.ts";
import { readCsv } from "./support/read_csv.ts";
import { readParquet } from "./support/read_parquet.ts";

const EXAMPLES = new URL("../examples/", import.meta.url).pathname;
const SEED = new URL("../examples/docker/seed/", import.meta.url).pathname;

/** The environment variables the examples name, as a user of docker-compose.yml sets them. */
const EXAMPLE_ENV: Record<string, string> = {
  RIVET_PG_URL: "postgresql://rivet:rivet@localhost:5432/shop",
  RIVET_MYSQL_URL: "mysql://rivet:rivet@localhost:3306/shop",
  RIVET_MYSQL_PASSWORD: "rivet",
  RIVET_S3_ACCESS_KEY: "rivet",
  RIVET_S3_SECRET_KEY: "rivet-secret",
  RIVET_SLACK_WEBHOOK: "https://hooks.slack.com/services/T000/B000/XXXX",
  DEMO_PG_URL: "postgresql://postgres@127.0.0.1:5432/postgres",
};

async function exampleNames(): Promise<string[]> {
  return (await listDir(EXAMPLES)).filter((n) => n.endsWith(".yaml"));
}

Deno.test("examples: every config loads with rivet's own loader", async () => {
  const names = await exampleNames();
  assert.ok(names.length >= 7, names.join(", "));
  for (const name of names) {
    const config = await loadConfig(join(EXAMPLES, name), {
      env: (v) => EXAMPLE_ENV[v],
      params: { country: "DE" },
    });
    assert.ok(config.exports.length > 0, name);
  }
  const chunked = await loadConfig(join(EXAMPLES, "chunked_parallel_s3.yaml"), {
    env: (v) => EXAMPLE_ENV[v],
  });
  assert.deepEqual(chunked.exports[0].mode, {
    kind: "chunked",
    chunkColumn: "id",
    chunkSize: 1000,
    parallel: 4,
  });
  const windowed = await loadConfig(join(EXAMPLES, "time_window_gcs.yaml"), {
    env: (v) => EXAMPLE_ENV[v],
  });
  assert.equal(windowed.source.connection.password, "rivet");
  assert.equal(windowed.exports[0].destination.type, "gcs");
});

/** Copies an example into `dir` (its output and state then land there) and returns its path. */
async function copyExample(name: string, dir: string): Promise<string> {
  const path = join(dir, name);
  await Deno.copyFile(join(EXAMPLES, name), path);
  return path;
}

/** The rows of every Parquet file in `dir`. */
async function parquetRows(dir: string): Promise<number> {
  let rows = 0;
  for (const file of await listDir(dir)) rows += (await readParquet(join(dir, file))).rows.length;
  return rows;
}

/** A URL to the test server whose sessions resolve unqualified names in `schema`. */
function pgUrl(schema: string): string {
  const s = pgSettings();
  const options = encodeURIComponent(`-c search_path=${schema}`);
  return `postgresql://${s.user}@${s.host}:${s.port}/${s.database}?sslmode=disable&options=${options}`;
}

Deno.test("examples: the PostgreSQL ones run against the sample data (seed/postgres.sql)", async () => {
  await withSchema(await Deno.readTextFile(`${SEED}postgres.sql`), async (schema, admin) => {
    await withTempDir(async (dir) => {
      const env = { RIVET_PG_URL: pgUrl(schema) };

      const local = await rivet([
        "run",
        "-c",
        await copyExample("postgres_to_parquet_local.yaml", dir),
      ], env);
      assert.equal(local.code, 0, local.stderr);
      const summaries = parseSummaries(local.stdout);
      assert.equal(summaries.users.rows, "500");
      assert.equal(summaries.orders.rows, "5000");
      assert.equal(summaries.orders.quality, "pass");
      assert.equal(await parquetRows(join(dir, "output/users")), 500);
      const [ordersFile] = await listDir(join(dir, "output/orders"));
      const orders = await readParquet(join(dir, "output/orders", ordersFile));
      assert.equal(orders.rows.length, 5000);
      assert.deepEqual(orders.columns.map((c) => c.name).slice(-2), [
        "_rivet_exported_at",
        "_rivet_row_hash",
      ]);

      const paged = await copyExample("keyset_paging_postgres.yaml", dir);
      const first = await rivet(["run", "-c", paged], env);
      assert.equal(first.code, 0, first.stderr);
      assert.equal(parseSummaries(first.stdout).orders_paged.rows, "5000");
      await admin.query(
        "UPDATE orders SET updated_at = now() WHERE id IN (7, 4242)",
      );
      const second = await rivet(["run", "-c", paged], env);
      assert.equal(second.code, 0, second.stderr);
      assert.equal(parseSummaries(second.stdout).orders_paged.rows, "2");
      assert.equal(await parquetRows(join(dir, "output/orders_paged")), 5002);

      const piped = await rivet(
        [
          "run",
          "-c",
          await copyExample("postgres_to_stdout_csv.yaml", dir),
          "--param",
          "country=DE",
        ],
        env,
      );
      assert.equal(piped.code, 0, piped.stderr);
      const lines = piped.stdout.trimEnd().split("\n");
      assert.equal(lines[0], "id,email,full_name");
      assert.equal(lines.length, 1 + 100, "users 5, 10, ... 500 are in DE");
      assert.equal(lines[1], "5,user5@example.com,User 5");
      assert.match(piped.stderr, /rows:\s+100/);
    });
  });
});

Deno.test("examples: mysql_incremental_csv.yaml runs against the sample data (seed/mysql.sql)", async () => {
  await withMysqlDb(await Deno.readTextFile(`${SEED}mysql.sql`), async (db) => {
    await withTempDir(async (dir) => {
      const env = { RIVET_MYSQL_URL: `mysql://root@127.0.0.1:3306/${db.name}` };
      const config = await copyExample("mysql_incremental_csv.yaml", dir);
      const first = await rivet(["run", "-c", config], env);
      assert.equal(first.code, 0, first.stderr);
      assert.equal(parseSummaries(first.stdout).orders.rows, "5000");

      const nothingNew = await rivet(["run", "-c", config], env);
      assert.equal(nothingNew.code, 0, nothingNew.stderr);
      assert.equal(parseSummaries(nothingNew.stdout).orders.status, "skipped");

      await db.exec(
        "INSERT INTO orders VALUES (5001, 1, 'new', 12.50, UTC_TIMESTAMP(6), UTC_TIMESTAMP(6))",
      );
      const third = await rivet(["run", "-c", config], env);
      assert.equal(parseSummaries(third.stdout).orders.rows, "1");

      const files = await listDir(join(dir, "output/orders_csv"));
      assert.equal(files.length, 2);
      const records = (await Promise.all(files.map((f) =>
        readCsv(join(dir, "output/orders_csv", f))
      )))
        .flatMap((r) => r.slice(1));
      assert.equal(records.length, 5001);
      assert.equal(new Set(records.map((r) => r[0])).size, 5001, "no order exported twice");
    });
  });
});
