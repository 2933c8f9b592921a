/**
 * `deno task bench`: rivet's throughput and memory, printed beside a baseline measured in the same
 * run (the database's own export via `psql \copy` / `mariadb --quick`).
 *
 * It seeds a `rivet_bench` schema (PostgreSQL) and database (MariaDB/MySQL) with a 10-column
 * table (200k and 2M rows by default; `BENCH_ROWS=200000,2000000`,
 * `BENCH_ENGINES=postgres,mysql`), exports each size with rivet to Parquet and CSV under the `fast`
 * (PostgreSQL: COPY) and `balanced` (PostgreSQL: cursor FETCH) profiles, then chunked with
 * `parallel: 1` and `parallel: 2` and `batch_size_memory_mb: 64`, and prints rows/s and peak RSS. The memory check of the
 * foundation issue — 2M rows must not need more than ~1.5x the memory of 200k — is printed as a
 * ratio. Timings are whole-process wall clock; peak RSS comes from `/usr/bin/time -v`.
 *
 * @module
 */
import { join } from "node:path";

const ROOT = new URL("..", import.meta.url).pathname;
const SIZES = (Deno.env.get("BENCH_ROWS") ?? "200000,2000000").split(",").map(Number);
const ENGINES = (Deno.env.get("BENCH_ENGINES") ?? "postgres,mysql").split(",");
const PG_URL = Deno.env.get("BENCH_PG_URL") ?? "postgresql://postgres@127.0.0.1:5432/test";
const MYSQL_URL = Deno.env.get("BENCH_MYSQL_URL") ?? "mysql://root@127.0.0.1:3306/rivet_bench";

interface Measure {
  seconds: number;
  peakRssMb: number;
}

async function timed(
  cmd: string,
  args: string[],
  env: Record<string, string> = {},
): Promise<Measure> {
  const started = performance.now();
  const out = await new Deno.Command("/usr/bin/time", {
    args: ["-v", cmd, ...args],
    cwd: ROOT,
    env,
    stdout: "null",
    stderr: "piped",
  }).output();
  const seconds = (performance.now() - started) / 1000;
  const stderr = new TextDecoder().decode(out.stderr);
  if (!out.success) throw new Error(`${cmd} ${args.join(" ")} failed:\n${stderr.slice(-2000)}`);
  const rssKb = Number(stderr.match(/Maximum resident set size \(kbytes\): (\d+)/)?.[1] ?? 0);
  return { seconds, peakRssMb: rssKb / 1024 };
}

async function sh(cmd: string, args: string[], input?: string): Promise<void> {
  const child = new Deno.Command(cmd, { args, stdin: input ? "piped" : "null", stderr: "piped" })
    .spawn();
  if (input) {
    const w = child.stdin.getWriter();
    await w.write(new TextEncoder().encode(input));
    await w.close();
  }
  const out = await child.output();
  if (!out.success) throw new Error(new TextDecoder().decode(out.stderr));
}

const COLUMNS_PG = `id bigint, user_id int, amount numeric(12,2), price double precision,
  status text, note text, flag boolean, day date, created_at timestamptz, updated_at timestamp`;
const SELECT = "SELECT * FROM rivet_bench.items";

async function seedPostgres(rows: number): Promise<void> {
  await sh(
    "psql",
    ["-q", "-v", "ON_ERROR_STOP=1", PG_URL],
    `
    CREATE SCHEMA IF NOT EXISTS rivet_bench;
    DROP TABLE IF EXISTS rivet_bench.items;
    CREATE TABLE rivet_bench.items (${COLUMNS_PG});
    INSERT INTO rivet_bench.items
    SELECT g, g % 100000, (g % 100000) / 100.0, g * 0.25, 'status_' || (g % 7),
           'note, "quoted" ' || md5(g::text), g % 2 = 0, DATE '2020-01-01' + (g % 2000),
           TIMESTAMPTZ '2020-01-01 00:00:00+00' + g * INTERVAL '1.000001 second',
           TIMESTAMP '2020-01-01' + g * INTERVAL '1 millisecond'
    FROM generate_series(1, ${rows}) g;
    ANALYZE rivet_bench.items;`,
  );
}

async function seedMysql(rows: number): Promise<void> {
  await sh(
    "mariadb",
    ["-h", "127.0.0.1", "-uroot"],
    `
    CREATE DATABASE IF NOT EXISTS rivet_bench;
    USE rivet_bench;
    DROP TABLE IF EXISTS items;
    CREATE TABLE items (id bigint, user_id int, amount decimal(12,2), price double,
      status varchar(20), note text, flag tinyint(1), day date, created_at timestamp(6) NULL,
      updated_at datetime(3));
    INSERT INTO items
    SELECT seq, seq % 100000, (seq % 100000) / 100.0, seq * 0.25, CONCAT('status_', seq % 7),
           CONCAT('note, "quoted" ', MD5(seq)), seq % 2 = 0, DATE '2020-01-01' + INTERVAL (seq % 2000) DAY,
           TIMESTAMP '2020-01-01 00:00:00' + INTERVAL seq SECOND,
           TIMESTAMP '2020-01-01 00:00:00' + INTERVAL seq * 1000 MICROSECOND
    FROM seq_1_to_${rows};`,
  );
}

async function baseline(engine: string): Promise<Measure> {
  return engine === "postgres"
    ? await timed("psql", [PG_URL, "-c", `\\copy (${SELECT}) TO '/dev/null'`])
    : await timed("mariadb", [
      "-h",
      "127.0.0.1",
      "-uroot",
      "--quick",
      "-N",
      "-e",
      "SELECT * FROM rivet_bench.items",
    ]);
}

async function rivet(
  engine: string,
  tuning: string,
  format: string,
  outDir: string,
  extra: string[] = [],
): Promise<Measure> {
  const config = join(outDir, `bench-${engine}.yaml`);
  await Deno.writeTextFile(
    config,
    [
      "source:",
      `  type: ${engine}`,
      `  url: "${engine === "postgres" ? PG_URL : MYSQL_URL}"`,
      `  tuning: { ${tuning} }`,
      "exports:",
      "  - name: items",
      `    query: "${engine === "postgres" ? SELECT : "SELECT * FROM items"}"`,
      `    format: ${format}`,
      ...extra.map((line) => `    ${line}`),
      "    destination: { type: local, path: ./files }",
    ].join("\n"),
  );
  return await timed(Deno.execPath(), [
    "run",
    "-A",
    join(ROOT, "cli.ts"),
    "run",
    "--config",
    config,
  ], {
    RIVET_LOG: "warn",
  });
}

const outDir = join(ROOT, "bench", "out");
await Deno.remove(outDir, { recursive: true }).catch(() => {});
await Deno.mkdir(outDir, { recursive: true });

const rows: string[][] = [];
const rss = new Map<string, number[]>();
for (const engine of ENGINES) {
  for (const n of SIZES) {
    await (engine === "postgres" ? seedPostgres(n) : seedMysql(n));
    const base = await baseline(engine);
    rows.push([
      engine,
      String(n),
      "baseline (db client → /dev/null)",
      fmt(n / base.seconds),
      "-",
      base.peakRssMb.toFixed(0),
      "1.00",
    ]);
    for (const profile of ["fast", "balanced"]) {
      for (const format of ["parquet", "csv"]) {
        const m = await rivet(engine, `profile: ${profile}`, format, outDir);
        const key = `${engine}/${profile}/${format}`;
        rss.set(key, [...(rss.get(key) ?? []), m.peakRssMb]);
        rows.push([
          engine,
          String(n),
          `rivet ${profile} → ${format}`,
          fmt(n / m.seconds),
          m.seconds.toFixed(2),
          m.peakRssMb.toFixed(0),
          (base.seconds / m.seconds).toFixed(2),
        ]);
      }
    }
    // Chunked windows of a twentieth of the table, batches sized by a 64 MiB memory budget.
    for (const parallel of [1, 2]) {
      const m = await rivet(engine, "profile: fast, batch_size_memory_mb: 64", "parquet", outDir, [
        "mode: chunked",
        "chunk_column: id",
        `chunk_size: ${Math.ceil(n / 20)}`,
        `parallel: ${parallel}`,
      ]);
      rows.push([
        engine,
        String(n),
        `rivet chunked p=${parallel}, 64 MiB batches → parquet`,
        fmt(n / m.seconds),
        m.seconds.toFixed(2),
        m.peakRssMb.toFixed(0),
        (base.seconds / m.seconds).toFixed(2),
      ]);
    }
  }
}

function fmt(rate: number): string {
  return `${Math.round(rate).toLocaleString("en-US")}`;
}

const header = ["engine", "rows", "path", "rows/s", "wall s", "peak RSS MB", "speed vs baseline"];
const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
const line = (r: string[]) => r.map((c, i) => c.padEnd(widths[i])).join("  ");
console.log(line(header));
console.log(widths.map((w) => "-".repeat(w)).join("  "));
for (const r of rows) console.log(line(r));
if (SIZES.length >= 2) {
  console.log(`\npeak RSS ratio, ${SIZES.at(-1)} rows vs ${SIZES[0]} rows (target <= 1.5):`);
  for (const [key, values] of rss) {
    console.log(`  ${key.padEnd(28)} ${(values.at(-1)! / values[0]).toFixed(2)}`);
  }
}
await Deno.remove(outDir, { recursive: true }).catch(() => {});
