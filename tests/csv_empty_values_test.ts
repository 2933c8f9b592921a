/**
 * CSV: NULL versus empty, through the real CLI on every read path (PostgreSQL COPY binary and
 * cursor FETCH, MySQL/MariaDB). Each table holds, per column, an empty non-NULL value, a NULL, and
 * the empty value again, read in batches of two so that both a batch with a validity bitmap and
 * one without reach the writer.
 *
 * The rule under test (src/writer/csv.ts, docs/types.md "CSV: NULL versus empty"): only NULL is an
 * empty unquoted field; a non-NULL value whose text is empty (empty text, empty binary) is `""`;
 * lists and JSON values are never empty text (`[]`, `[""]`, `[null]`, `""""`).
 *
 * The files are checked four ways: their exact bytes, csv-parse (which reports per field whether
 * it was quoted), DuckDB's `read_csv` with `allow_quoted_nulls = false`, and PostgreSQL's
 * `COPY ... FROM STDIN (FORMAT csv)` with its defaults. The expected text of every value is also
 * checked against the server's own rendering of the stored value.
 *
 * @module
 */
import assert from "node:assert/strict";
import { from as copyFrom } from "pg-copy-streams";
import { parseSummaries, rivet } from "./support/cli.ts";
import { mysqlDb, postgresDb, type TestDb, withDb } from "./support/engines.ts";
import { withTempDir, writeFile } from "./support/files.ts";
import { adminClient } from "./support/pg.ts";
import { readCsv } from "./support/read_csv.ts";
import { queryDuckDB, sqlPath } from "./support/read_parquet.ts";

/** One column holding an empty (or emptiest possible) non-NULL value. */
interface Column {
  name: string;
  /** Type in CREATE TABLE. */
  type: string;
  /** SQL literal of the non-NULL value. */
  literal: string;
  /** Server expression whose text is the CSV field's value (checked against `csv`). */
  ref: (c: string) => string;
  /** The field's value as a CSV reader must return it. */
  csv: string;
}

/** The server's own text output of the column (as `textRows` returns it). */
const asIs = (c: string) => c;
const pgJsonArray = (c: string) => `array_to_json(${c})::text`;
const myText = (c: string) => `CAST(${c} AS CHAR)`;
const myHex = (c: string) => `LOWER(HEX(${c}))`;

const PG_COLUMNS: Column[] = [
  { name: "b", type: "bytea", literal: "''", ref: (c) => `encode(${c}, 'hex')`, csv: "" },
  { name: "t", type: "text", literal: "''", ref: asIs, csv: "" },
  { name: "v", type: "varchar(10)", literal: "''", ref: asIs, csv: "" },
  // PostgreSQL has no char(0); char(n) keeps its padding, so its text is never empty.
  { name: "c", type: "char(1)", literal: "''", ref: asIs, csv: " " },
  { name: "vb", type: "varbit", literal: "B''", ref: asIs, csv: "" },
  { name: "x", type: "xml", literal: "''", ref: asIs, csv: "" },
  { name: "ai", type: "int[]", literal: "'{}'", ref: pgJsonArray, csv: "[]" },
  { name: "at", type: "text[]", literal: "'{}'", ref: pgJsonArray, csv: "[]" },
  { name: "ae", type: "text[]", literal: `'{""}'`, ref: pgJsonArray, csv: '[""]' },
  { name: "an", type: "text[]", literal: "'{NULL}'", ref: pgJsonArray, csv: "[null]" },
  {
    name: "ab",
    type: "bytea[]",
    literal: `'{""}'`,
    ref: (c) => `(SELECT json_agg(encode(e, 'hex'))::text FROM unnest(${c}) AS e)`,
    csv: '[""]',
  },
  { name: "j", type: "json", literal: `'""'`, ref: asIs, csv: '""' },
  { name: "jb", type: "jsonb", literal: `'""'`, ref: asIs, csv: '""' },
];

const MYSQL_COLUMNS: Column[] = [
  { name: "b", type: "BLOB", literal: "''", ref: myHex, csv: "" },
  { name: "tb", type: "TINYBLOB", literal: "''", ref: myHex, csv: "" },
  { name: "vb", type: "VARBINARY(16)", literal: "''", ref: myHex, csv: "" },
  { name: "b0", type: "BINARY(0)", literal: "''", ref: myHex, csv: "" },
  { name: "t", type: "TEXT", literal: "''", ref: myText, csv: "" },
  { name: "v", type: "VARCHAR(10)", literal: "''", ref: myText, csv: "" },
  { name: "c0", type: "CHAR(0)", literal: "''", ref: myText, csv: "" },
  // MySQL strips CHAR padding on read: an empty CHAR(3) is empty text.
  { name: "c3", type: "CHAR(3)", literal: "''", ref: myText, csv: "" },
  { name: "e", type: "ENUM('', 'a')", literal: "''", ref: myText, csv: "" },
  { name: "s", type: "SET('a', 'b')", literal: "''", ref: myText, csv: "" },
  { name: "j", type: "JSON", literal: `'""'`, ref: myText, csv: '""' },
];

/** Ids of the rows: the value, NULL, the value again. */
const IDS = [1, 2, 3];
const NULL_ID = 2;

/** The RFC 4180 rule as documented, stated independently of the writer. */
function field(value: string | null): string {
  if (value === null) return "";
  return value === "" || /[",\r\n]/.test(value) ? `"${value.replaceAll('"', '""')}"` : value;
}

/** Expected value of column `c` in row `id` as a reader returns it (null for NULL). */
function expected(c: Column, id: number): string | null {
  return id === NULL_ID ? null : c.csv;
}

async function createTable(db: TestDb, columns: Column[]): Promise<void> {
  const defs = columns.map((c) => `${c.name} ${c.type}`).join(", ");
  await db.exec(`CREATE TABLE ${db.ns}.t (id int PRIMARY KEY, ${defs})`);
  const rows = IDS.map((id) =>
    `(${id}, ${columns.map((c) => id === NULL_ID ? "NULL" : c.literal).join(", ")})`
  );
  await db.exec(`INSERT INTO ${db.ns}.t VALUES ${rows.join(", ")}`);
  // The values are what the test thinks they are, in the server's own words.
  const refs = await db.textRows(
    `SELECT ${columns.map((c) => c.ref(c.name)).join(", ")} FROM ${db.ns}.t ORDER BY id`,
  );
  assert.deepEqual(refs, IDS.map((id) => columns.map((c) => expected(c, id))));
}

/**
 * Exports `columns` of the table (`SELECT <columns> ... ORDER BY id`) to CSV with the real CLI;
 * returns the file's path.
 */
async function exportCsv(
  db: TestDb,
  dir: string,
  profile: string,
  columns: string,
): Promise<string> {
  const config = await writeFile(
    dir,
    "rivet.yaml",
    `
    source:
      type: ${db.engine}
      url: "${db.url}"
      tuning: { profile: ${profile}, batch_size: 2 }
    exports:
      - name: empty
        query: "SELECT ${columns} FROM ${db.ns}.t ORDER BY id"
        format: csv
        destination: { type: local, path: ./out }
    `,
  );
  const r = await rivet(["run", "--config", config, "--validate"]);
  assert.equal(r.code, 0, r.stderr);
  const summary = parseSummaries(r.stdout).empty;
  assert.equal(summary?.status, "success", r.stdout);
  assert.equal(summary.rows, String(IDS.length));
  assert.equal(summary.validated, "pass");
  return summary.file;
}

/** The file as PostgreSQL's own CSV parser reads it into text columns (COPY defaults). */
async function readWithCopy(path: string, names: string[]): Promise<(string | null)[][]> {
  const client = await adminClient();
  try {
    const columns = names.join(", ");
    await client.query(
      `CREATE TEMP TABLE back (rivet_n serial, ${names.map((n) => `${n} text`).join(", ")})`,
    );
    const bytes = await Deno.readFile(path);
    const copy = client.query(
      copyFrom(`COPY back (${columns}) FROM STDIN (FORMAT csv, HEADER true)`),
    );
    await new Promise<void>((resolve, reject) => {
      copy.on("error", reject);
      copy.on("finish", () => resolve());
      copy.end(bytes);
    });
    const r = await client.query({
      text: `SELECT ${columns} FROM back ORDER BY rivet_n`,
      rowMode: "array",
    });
    return r.rows;
  } finally {
    await client.end();
  }
}

/** Checks the file's bytes, then reads it back with csv-parse, DuckDB and PostgreSQL. */
async function checkCsv(path: string, names: string[], rows: (string | null)[][]): Promise<void> {
  // The bytes: `""` for every empty non-NULL text, nothing at all for NULL.
  const lines = [names.join(","), ...rows.map((r) => r.map(field).join(","))];
  assert.equal(await Deno.readTextFile(path), lines.join("\n") + "\n");

  // csv-parse: a field that was quoted is a string, an empty unquoted one is null.
  assert.deepEqual(await readCsv(path), [names, ...rows]);

  // DuckDB, told that a quoted empty field is not NULL.
  const duck = await queryDuckDB(
    `SELECT * FROM read_csv(${sqlPath(path)}, header = true, all_varchar = true,
                            allow_quoted_nulls = false)`,
  );
  assert.deepEqual(duck, rows.map((r) => Object.fromEntries(names.map((n, k) => [n, r[k]]))));

  // PostgreSQL's COPY, whose CSV defaults are this very rule.
  assert.deepEqual(await readWithCopy(path, names), rows);
}

/** Exports every column and checks the file, the NULL row being `<id>,,,...`. */
async function checkTable(db: TestDb, dir: string, profile: string, columns: Column[]) {
  const file = await exportCsv(db, dir, profile, "*");
  const names = ["id", ...columns.map((c) => c.name)];
  const rows = IDS.map((id) => [String(id), ...columns.map((c) => expected(c, id))]);
  await checkCsv(file, names, rows);
  const nullLine = (await Deno.readTextFile(file)).split("\n")[1 + IDS.indexOf(NULL_ID)];
  assert.equal(nullLine, `${NULL_ID}${",".repeat(columns.length)}`);
}

Deno.test('csv empty values: the test readers tell `""` from an empty unquoted field', async () => {
  // Checked on a hand-written file, so the readers are known to see the difference rivet writes.
  await withTempDir(async (dir) => {
    const path = await writeFile(dir, "readers.csv", 'a,b,c\n"",,x\n,"",""""\n');
    assert.deepEqual(await readCsv(path), [["a", "b", "c"], ["", null, "x"], [null, "", '"']]);
    assert.deepEqual(
      await queryDuckDB(
        `SELECT * FROM read_csv(${sqlPath(path)}, header = true, all_varchar = true,
                                allow_quoted_nulls = false)`,
      ),
      [{ a: "", b: null, c: "x" }, { a: null, b: "", c: '"' }],
    );
    assert.deepEqual(await readWithCopy(path, ["a", "b", "c"]), [["", null, "x"], [null, "", '"']]);
  });
});

for (const profile of ["fast", "balanced"]) {
  const path = profile === "fast" ? "COPY binary" : "cursor FETCH";
  Deno.test(`csv empty values postgres (${profile}: ${path}): empty is never NULL`, async () => {
    await withDb({ create: postgresDb }, async (db) => {
      await createTable(db, PG_COLUMNS);
      await withTempDir(async (dir) => {
        await checkTable(db, dir, profile, PG_COLUMNS);
      });
    });
  });
}

Deno.test("csv empty values mysql: empty is never NULL", async () => {
  await withDb({ create: mysqlDb }, async (db) => {
    await createTable(db, MYSQL_COLUMNS);
    await withTempDir(async (dir) => {
      await checkTable(db, dir, "balanced", MYSQL_COLUMNS);
    });
  });
});

Deno.test("csv empty values: a one-column export writes NULL as an empty line", async () => {
  // The edge of the rule: a record whose only field is NULL is a blank line, which a reader must
  // keep as a record (csv-parse with skip_empty_lines off; DuckDB and PostgreSQL's COPY do).
  for (const engine of [{ create: postgresDb }, { create: mysqlDb }]) {
    await withDb(engine, async (db) => {
      const column = (db.engine === "postgres" ? PG_COLUMNS : MYSQL_COLUMNS)[0];
      await createTable(db, [column]);
      await withTempDir(async (dir) => {
        const file = await exportCsv(db, dir, "fast", column.name);
        assert.equal(await Deno.readTextFile(file), `${column.name}\n""\n\n""\n`);
        await checkCsv(file, [column.name], IDS.map((id) => [expected(column, id)]));
      });
    });
  }
});
