/**
 * Decimal128 negation when the low words of the magnitude are zero, through the real CLI on every
 * read path (PostgreSQL COPY binary and cursor FETCH, MySQL/MariaDB), into Parquet (read back by
 * DuckDB) and CSV (read back by csv-parse), compared value by value with the server's text.
 *
 * The builder negates a magnitude word by word with a carry (two's complement): a zero low word
 * turns into 0xffffffff + 1, which must wrap to 0 and carry into the next word. `-0` covered one
 * word of that; here the carry has to cross one, two and three zero words (-2^32, -2^64, -2^96,
 * -2^126), with a scale too (the unscaled value is what has the zero low words), next to the
 * positive values and -2^53 (where the builder switches from a double to 16-bit limbs).
 *
 * @module
 */
import assert from "node:assert/strict";
import { parseSummaries, rivet } from "./support/cli.ts";
import { mysqlDb, postgresDb, type TestDb, withDb } from "./support/engines.ts";
import { withTempDir, writeFile } from "./support/files.ts";
import { readCsv } from "./support/read_csv.ts";
import { readParquet } from "./support/read_parquet.ts";

/** Integers whose low 32, 64, 96 or 126 bits are zero, with their opposites. */
const MAGNITUDES = [
  "4294967296", // 2^32
  "9007199254740992", // 2^53
  "18446744073709551616", // 2^64
  "55340232221128654848", // 3 * 2^64
  "79228162514264337593543950336", // 2^96
  "85070591730234615865843651857942052864", // 2^126, 38 digits
];

/** The decimal(38,10) value whose unscaled integer is `digits` (same zero low words). */
function scaled(digits: string): string {
  const padded = digits.padStart(11, "0");
  return `${padded.slice(0, -10)}.${padded.slice(-10)}`;
}

const INTEGERS = MAGNITUDES.flatMap((m) => [`-${m}`, m]);
// -429496.7296 is -2^38 * 5^6 unscaled: zero low words from a short literal whose digits do not.
const FRACTIONS = [...MAGNITUDES.flatMap((m) => [`-${scaled(m)}`, scaled(m)]), "-429496.7296"];

/** Rows per batch: the values span several batches. */
const BATCH = 4;

interface Engine {
  create: () => Promise<TestDb>;
  /** The decimal type with precision 38 and `scale`. */
  decimal: (scale: number) => string;
  /** Server expression whose text is the exact decimal. */
  text: (c: string) => string;
}

const POSTGRES: Engine = {
  create: postgresDb,
  decimal: (scale) => `numeric(38,${scale})`,
  text: (c) => `${c}::text`,
};

const MYSQL: Engine = {
  create: mysqlDb,
  decimal: (scale) => `DECIMAL(38,${scale})`,
  text: (c) => `CAST(${c} AS CHAR)`,
};

/** Creates `t(id, i decimal(38,0), f decimal(38,10))`, one value per row, then an all-NULL row. */
async function load(db: TestDb, engine: Engine): Promise<number> {
  await db.exec(
    `CREATE TABLE ${db.ns}.t (id int PRIMARY KEY, i ${engine.decimal(0)}, f ${engine.decimal(10)})`,
  );
  const rows = Math.max(INTEGERS.length, FRACTIONS.length);
  const values = Array.from(
    { length: rows },
    (_, k) => `(${k + 1}, ${INTEGERS[k] ?? "NULL"}, ${FRACTIONS[k] ?? "NULL"})`,
  );
  values.push(`(${rows + 1}, NULL, NULL)`);
  await db.exec(`INSERT INTO ${db.ns}.t VALUES ${values.join(", ")}`);
  return rows + 1;
}

/** Runs one Parquet and one CSV export of the table; returns their files. */
async function exportBoth(
  db: TestDb,
  dir: string,
  profile: string,
): Promise<{ parquet: string; csv: string }> {
  const lines = [
    "source:",
    `  type: ${db.engine}`,
    `  url: "${db.url}"`,
    `  tuning: { profile: ${profile}, batch_size: ${BATCH} }`,
    "exports:",
  ];
  for (const format of ["parquet", "csv"]) {
    lines.push(
      `  - name: t_${format}`,
      `    query: "SELECT id, i, f FROM ${db.ns}.t ORDER BY id"`,
      `    format: ${format}`,
      "    destination: { type: local, path: ./out }",
    );
  }
  const config = await writeFile(dir, "rivet.yaml", lines.join("\n") + "\n");
  const r = await rivet(["run", "--config", config, "--validate"]);
  assert.equal(r.code, 0, r.stderr);
  const summaries = parseSummaries(r.stdout);
  const file = (name: string) => {
    assert.equal(summaries[name]?.status, "success", r.stdout);
    return summaries[name].file;
  };
  return { parquet: file("t_parquet"), csv: file("t_csv") };
}

async function check(engine: Engine, profile: string): Promise<void> {
  await withDb(engine, async (db) => {
    const count = await load(db, engine);
    // The server's text, and a check that it holds what this test means to store.
    const refs = await db.textRows(
      `SELECT id, ${engine.text("i")}, ${engine.text("f")} FROM ${db.ns}.t ORDER BY id`,
    );
    assert.equal(refs.length, count);
    assert.deepEqual(
      refs.map((r) => r[1]).filter((v) => v !== null),
      INTEGERS,
    );
    assert.deepEqual(
      refs.map((r) => r[2]).filter((v) => v !== null).map((v) => v.replace(/0+$/, "")),
      FRACTIONS.map((v) => v.replace(/0+$/, "")),
    );
    await withTempDir(async (dir) => {
      const files = await exportBoth(db, dir, profile);

      const pq = await readParquet(files.parquet);
      assert.deepEqual(pq.columns, [
        { name: "id", type: "INTEGER" },
        { name: "i", type: "DECIMAL(38,0)" },
        { name: "f", type: "DECIMAL(38,10)" },
      ]);
      assert.deepEqual(pq.rows.map((r) => [String(r.id), r.i, r.f]), refs);

      const [header, ...records] = await readCsv(files.csv);
      assert.deepEqual(header, ["id", "i", "f"]);
      assert.deepEqual(records, refs);
    });
  });
}

for (const profile of ["fast", "balanced"]) {
  const path = profile === "fast" ? "COPY binary" : "cursor FETCH";
  Deno.test(`decimal negative postgres (${profile}: ${path}): zero low words negate exactly`, async () => {
    await check(POSTGRES, profile);
  });
}

Deno.test("decimal negative mysql: zero low words negate exactly", async () => {
  await check(MYSQL, "balanced");
});
