/**
 * `deno task demo` end to end: the README's first command must work with no database server.
 *
 * Runs the demo exactly as the task defines it (the `demo` task's command line from deno.json,
 * with this Deno), then checks its summaries and reads the files it wrote back with DuckDB.
 *
 * @module
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { DuckDBInstance } from "@duckdb/node-api";
import { parse as parseCsv } from "csv-parse";
import { NEW_EVENTS, OUTPUT_DIR, parseSummaries, ROOT, SEEDED } from "../examples/demo.ts";

/** Generous: PGlite starts in ~4 s and the demo runs in ~15 s, but CI machines can be slow. */
const DEMO_TIMEOUT_MS = 300_000;

/** Runs `deno task demo`, exactly as the README tells users to. */
async function runDemo(): Promise<{ code: number; stdout: string; stderr: string }> {
  const args = ["task", "demo"];
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), DEMO_TIMEOUT_MS);
  try {
    const out = await new Deno.Command(Deno.execPath(), {
      args,
      cwd: ROOT,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
      signal: controller.signal,
    }).output();
    const decoder = new TextDecoder();
    return {
      code: out.code,
      stdout: decoder.decode(out.stdout),
      stderr: decoder.decode(out.stderr),
    };
  } finally {
    clearTimeout(timer);
  }
}

/** The demo's files of one export, oldest first (names end with their UTC creation time). */
async function filesOf(exportName: string, ext: string): Promise<string[]> {
  const pattern = new RegExp(`^${exportName}_\\d{8}_\\d{6}_\\d{3}(_\\d+)?\\.${ext}$`);
  const names: string[] = [];
  for await (const entry of Deno.readDir(join(ROOT, OUTPUT_DIR))) {
    if (entry.isFile && pattern.test(entry.name)) names.push(entry.name);
  }
  return names.sort().map((name) => join(ROOT, OUTPUT_DIR, name));
}

/** Microseconds since the epoch of a UTC wall-clock time with a microsecond fraction. */
function epochMicros(iso: string): bigint {
  const [whole, fraction] = iso.split(".");
  return BigInt(Date.parse(`${whole}Z`)) * 1000n + BigInt(fraction.padEnd(6, "0"));
}

Deno.test("demo: exports users, orders and events, then only the new events", async () => {
  const { code, stdout, stderr } = await runDemo();
  assert.equal(
    code,
    0,
    `the demo failed (exit ${code})\n--- stdout\n${stdout}\n--- stderr\n${stderr}`,
  );

  // The CLI's own summaries: the second incremental run exported exactly the inserted rows.
  const events = parseSummaries(stdout).filter((s) => s.name === "events");
  assert.deepEqual(events.map((s) => [s.fields.status, Number(s.fields.rows)]), [
    ["success", SEEDED.events],
    ["success", NEW_EVENTS],
  ]);

  const [users] = await filesOf("users", "parquet");
  const [orders] = await filesOf("orders", "csv");
  const eventFiles = await filesOf("events", "parquet");
  assert.ok(users, `no users Parquet file in ${OUTPUT_DIR}`);
  assert.ok(orders, `no orders CSV file in ${OUTPUT_DIR}`);
  assert.equal(eventFiles.length, 2, `expected 2 events files, found ${eventFiles.join(", ")}`);
  assert.equal(events[1].fields.file, eventFiles[1], "the second run's summary names its file");

  // The files themselves, read by an independent Parquet reader.
  const duck = await DuckDBInstance.create(":memory:");
  const db = await duck.connect();
  try {
    const one = async (sql: string) => (await db.runAndReadAll(sql)).getRowObjects()[0];
    const lit = (path: string) => `'${path.replaceAll("'", "''")}'`;

    assert.deepEqual(
      await one(`SELECT count(*)::INTEGER AS n,
                        count(*) FILTER (WHERE full_name = 'Sam "The Man" Smith')::INTEGER AS quoted
                 FROM read_parquet(${lit(users)})`),
      { n: SEEDED.users, quoted: 1 },
    );

    const [first, second] = eventFiles.map(lit);
    assert.deepEqual(
      await one(`SELECT count(*)::INTEGER AS n, min(id)::INTEGER AS lo, max(id)::INTEGER AS hi,
                        count(payload)::INTEGER AS payloads
                 FROM read_parquet(${first})`),
      { n: SEEDED.events, lo: 1, hi: SEEDED.events, payloads: SEEDED.events - 5 },
    );
    assert.deepEqual(
      await one(`SELECT count(*)::INTEGER AS n, min(id)::INTEGER AS lo, max(id)::INTEGER AS hi
                 FROM read_parquet(${second})`),
      { n: NEW_EVENTS, lo: SEEDED.events + 1, hi: SEEDED.events + NEW_EVENTS },
    );
    // Exact values survive: quotes and commas in text, numeric(12,2), microsecond timestamps.
    assert.deepEqual(
      await one(`SELECT note, amount::VARCHAR AS amount, epoch_us(updated_at) AS updated_us
                 FROM read_parquet(${first}) WHERE id = 3`),
      {
        note: 'clicked "item 3", then left',
        amount: "9.95",
        updated_us: epochMicros("2024-06-01T10:04:31.870371"),
      },
    );
    // The second run starts strictly after the first run's cursor: no row twice, none skipped.
    const boundary = await one(`SELECT
        (SELECT max(updated_at) FROM read_parquet(${first})) <
        (SELECT min(updated_at) FROM read_parquet(${second})) AS ordered`);
    assert.deepEqual(boundary, { ordered: true });
  } finally {
    db.closeSync();
    duck.closeSync();
  }

  // CSV: a header, then one record per order, with quoted commas, quotes and line breaks intact.
  const text = await Deno.readTextFile(orders);
  const records = await new Promise<Record<string, string>[]>((resolve, reject) =>
    parseCsv(
      text,
      { columns: true },
      (err, rows) => err ? reject(err) : resolve(rows as Record<string, string>[]),
    )
  );
  assert.equal(records.length, SEEDED.orders);
  assert.equal(records[0].note, "gift wrap, please");
  assert.equal(records[1].note, 'leave at the "back door"');
  assert.equal(records[3].note, "two lines:\nsecond line");
  assert.equal(records[4].note, "");
});
