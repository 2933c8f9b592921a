/**
 * PostgreSQL -> CSV through the server's own `COPY ... (FORMAT csv)` (the passthrough: `fast`
 * profile, src/source/postgres/copy_csv.ts, src/pipeline/extract_csv_copy.ts).
 *
 * On a table of every type (the values of types_roundtrip_test.ts and postgres_text_types_test.ts,
 * plus arrays of every scalar kind, NULLs, empty strings and arrays, quotes, commas, line breaks,
 * `\.`, unicode, extreme numerics, BC dates, NaN and infinite floats) the passthrough's file must be
 * byte for byte the file the Arrow path writes, on both of its reads (COPY binary, forced with a
 * test hook on the batches, and cursor FETCH, chosen by a statement timeout), and csv-parse must
 * read every field back as the server's own text brought to the conventions of docs/types.md.
 * Also: the passthrough is really taken (its log line), every condition that rules it out falls
 * back to batches, values Arrow cannot hold fail with the Arrow path's very error, the incremental
 * cursor is the Arrow path's, `max_file_size` parts hold the same records, and the record framing
 * does not depend on where the network cuts the stream.
 *
 * Run: deno test --allow-all tests/postgres_copy_csv_test.ts
 */
import assert from "node:assert/strict";
import { PassThrough } from "node:stream";
import { CopyRowsParser, type Records } from "../src/source/postgres/copy_rows.ts";
import { CopyRowsQuery } from "../src/source/postgres/copy_rows_query.ts";
import { CsvRewriter } from "../src/source/postgres/csv_rewrite.ts";
import { openSource } from "../src/source/open.ts";
import type { PgColumn, ScalarKind } from "../src/source/postgres/types.ts";
import { postgresDb, type TestDb, withDb } from "./support/engines.ts";
import { withTempDir } from "./support/files.ts";
import { readCsv } from "./support/read_csv.ts";
import {
  ARROW,
  bytesOf,
  cursorOf,
  DECLINED,
  type Run,
  runCsv as runPassthroughCsv,
  type RunSpec,
  tookPassthrough,
} from "./support/passthrough_runs.ts";
import { adminClient, pgSettings, tuning, uniqueName } from "./support/pg.ts";
import { startTcpProxy } from "./support/tcp_proxy.ts";

const sql = String.raw;

/** The Arrow path through cursor FETCH: a statement timeout rules out every COPY. */
const FETCH_TUNING = "statement_timeout_s: 600";

// ---------------------------------------------------------------------------------------------
// Running exports.

/** Runs one CSV export of `spec.query` on `db` (see `support/passthrough_runs.ts`). */
function runCsv(db: TestDb, base: string, spec: RunSpec, dir?: string): Promise<Run> {
  return runPassthroughCsv({ type: "postgres", url: db.url }, base, spec, dir);
}

/** Both Arrow reads of `query` and the passthrough; asserts all three files are the same bytes. */
async function sameAsArrow(db: TestDb, base: string, query: string): Promise<Run> {
  const passthrough = await runCsv(db, base, { query });
  assert.ok(tookPassthrough(passthrough), "the passthrough was taken");
  const bytes = await bytesOf(passthrough);
  const arrowCopy = await runCsv(db, base, { query, hooks: ARROW });
  const fetch = await runCsv(db, base, { query, tuning: FETCH_TUNING });
  for (const [label, arrow] of [["COPY binary", arrowCopy], ["FETCH", fetch]] as const) {
    assert.ok(!tookPassthrough(arrow), `${label}: Arrow path`);
    assertSameBytes(bytes, await bytesOf(arrow), label);
  }
  return passthrough;
}

function assertSameBytes(actual: Uint8Array, expected: Uint8Array, label: string): void {
  if (actual.length === expected.length && actual.every((b, i) => b === expected[i])) return;
  const a = new TextDecoder().decode(actual).split("\n");
  const e = new TextDecoder().decode(expected).split("\n");
  const line = a.findIndex((l, i) => l !== e[i]);
  assert.fail(
    `${label}: the files differ from line ${line + 1}:\n  passthrough: ${
      JSON.stringify(a[line])
    }\n  Arrow path:  ${JSON.stringify(e[line])}`,
  );
}

// ---------------------------------------------------------------------------------------------
// The type-torture table.

/**
 * How the server's text of a value becomes its CSV field (docs/types.md), stated independently
 * of rivet's code: `text` as is (numbers, floats, text, JSON, uuids, intervals and every type
 * exported as text), `bool` true/false, `bytea` without `\x`, `temporal` astronomical years with
 * `T`, six fraction digits and `Z` for UTC, `clock` six fraction digits.
 */
type Convention = "text" | "bool" | "bytea" | "temporal" | "clock";

/** How an array element is written in the JSON list: as a JSON number-like literal or a string. */
type ElementJson = "literal" | "float" | "string";

interface Column {
  name: string;
  type: string;
  /** SQL literals, one per sample row. */
  values: string[];
  convention?: Convention;
  /** Set for arrays: how each element travels in the JSON list. */
  element?: ElementJson;
}

const SAMPLES = 8;

/** `values` cycled to {@link SAMPLES}. */
function cycle(values: string[]): string[] {
  return Array.from({ length: SAMPLES }, (_, k) => values[k % values.length]);
}

const ITEM_A = sql`ROW('a "quoted", name', 1, 1.50, '2024-01-01 12:00:00.000001+05:30',
  ARRAY['x', 'y z'], '(1,2)')::item`;
const ITEM_EDGE = "ROW('', -1, 'NaN', '-infinity', '{}', NULL)::item";
const ITEM_ODD = sql`ROW('😀 é \ back(slash)', 2147483647, 12345678901234567890.123456789,
  '0044-03-15 12:00:00 BC', ARRAY[NULL, 'NULL', '{}'], '(-0,NaN)')::item`;

function tortureColumns(ns: string): Column[] {
  return [
    {
      name: "b",
      type: "bool",
      values: ["true", "false", "true", "false", "true", "false", "false", "true"],
      convention: "bool",
    },
    {
      name: "i2",
      type: "int2",
      values: ["-32768", "32767", "0", "-1", "1", "12345", "-12345", "255"],
    },
    {
      name: "i4",
      type: "int4",
      values: ["-2147483648", "2147483647", "0", "-1", "1", "123456789", "-65536", "65535"],
    },
    {
      name: "i8",
      type: "int8",
      values: [
        "-9223372036854775808",
        "9223372036854775807",
        "0",
        "-1",
        "9007199254740993",
        "-9007199254740993",
        "4294967296",
        "-4294967297",
      ],
    },
    {
      name: "f4",
      type: "float4",
      values: [
        "'NaN'",
        "'Infinity'",
        "'-Infinity'",
        "'-0'",
        "'3.4028235e38'",
        "'1.4e-45'",
        "'1e6'",
        "'-66150272'",
      ],
    },
    {
      name: "f8",
      type: "float8",
      values: [
        "'NaN'",
        "'Infinity'",
        "'-Infinity'",
        "'-0'",
        "'1.7976931348623157e308'",
        "'5e-324'",
        "'1e15'",
        "'0.00001'",
      ],
    },
    {
      name: "n38",
      type: "numeric(38,10)",
      values: [
        "-9999999999999999999999999999.9999999999",
        "9999999999999999999999999999.9999999999",
        "0.0000000001",
        "-0.0000000001",
        "0",
        "1",
        "12345678901234567890.0123456789",
        "-1.5",
      ],
    },
    {
      name: "n10",
      type: "numeric(10,2)",
      values: ["-99999999.99", "99999999.99", "0.01", "-0.01", "0", "0.10", "1234.5", "-100"],
    },
    { name: "nneg", type: "numeric(5,-2)", values: cycle(["12345", "-99900", "0", "50"]) },
    {
      name: "nu",
      type: "numeric",
      values: [
        "123456789012345678901234567890123456789012345678901234567890.123456789012345678901234567890",
        "-0.000000000000000000000000000000000000000000000000000001",
        "'NaN'",
        "'Infinity'",
        "'-Infinity'",
        "0",
        "1.500",
        "-99999999999999999999999999999999999999999999999999999",
      ],
    },
    {
      name: "tx",
      type: "text",
      values: [
        sql`E'héllo, "wörld"\r\nnext line 😀'`,
        "''",
        sql`E'\n'`,
        sql`E'\\.'`,
        sql`E'\\.\n\\.'`,
        "'NULL'",
        sql`E'back\\slash \\N'`,
        `'"'`,
      ],
    },
    {
      name: "vc",
      type: "varchar(40)",
      values: ["''", "'a,b'", sql`E'x\ry'`, "'😀😀'", "'ümlaut, ß'", "NULL", "'plain'", "','"],
    },
    {
      name: "ch",
      type: "char(5)",
      values: ["'ab'", "''", "'ñ😀'", "'abcde'", "' a'", "'x'", `'q"'`, "','"],
    },
    {
      name: "nm",
      type: "name",
      values: ["'ñame'", "''", "'a,b'", sql`E'new\nline'`, "'😀'", "'x'", "'NULL'", `'quote"d'`],
    },
    { name: "qc", type: `"char"`, values: cycle([`'a'`, `''`, `','`, `'"'`]) },
    {
      name: "by",
      type: "bytea",
      values: [
        "'\\x00'",
        "'\\x'",
        "'\\x00ff00'",
        "'\\xdeadbeef'",
        "'\\x0d0a'",
        "'\\x22'",
        "'\\x2c5c'",
        "'\\x000000'",
      ],
      convention: "bytea",
    },
    {
      name: "d",
      type: "date",
      values: [
        "'0001-01-01'",
        "'1900-02-28'",
        "'9999-12-31'",
        "'0044-03-15 BC'",
        "'1969-12-31'",
        "'0001-12-31 BC'",
        "'4714-11-24 BC'",
        "'5874897-12-31'",
      ],
      convention: "temporal",
    },
    {
      name: "ts",
      type: "timestamp(6)",
      values: [
        "'0001-01-01 00:00:00'",
        "'1900-02-28 23:59:59.999999'",
        "'2262-04-11 23:47:16.854776'",
        "'12345-06-07 08:09:10.5'",
        "'1969-12-31 23:59:59.999999'",
        "'0044-03-15 12:00:00.000001 BC'",
        "'4713-11-24 00:00:00 BC'",
        "'294247-01-10 04:00:54.775806'",
      ],
      convention: "temporal",
    },
    {
      name: "ts0",
      type: "timestamp(0)",
      values: cycle(["'2024-01-02 03:04:05'", "'0999-12-31 23:59:59'", "'99999-01-01 00:00:00'"]),
      convention: "temporal",
    },
    {
      name: "tstz",
      type: "timestamptz",
      values: [
        "'1969-12-31 23:59:59.999999+00'",
        "'1900-02-28 12:00:00.5-03:30'",
        "'2300-01-01 00:00:00.000001+14'",
        "'9999-12-31 23:59:59.999999+00'",
        "'0001-01-01 00:00:00+00'",
        "'2024-03-31 02:30:00+02'",
        "'0044-03-15 12:00:00+00 BC'",
        "'12345-01-01 00:00:00+00'",
      ],
      convention: "temporal",
    },
    {
      name: "tm",
      type: "time",
      values: [
        "'00:00:00'",
        "'23:59:59.999999'",
        "'24:00:00'",
        "'12:34:56.000001'",
        "'00:00:00.5'",
        "'13:00'",
        "'01:02:03.1'",
        "'23:00:00'",
      ],
      convention: "clock",
    },
    {
      name: "tmz",
      type: "timetz",
      values: cycle(["'12:00:00+05:30'", "'00:00:00.000001-14'", "'24:00:00+00'"]),
    },
    {
      name: "iv",
      type: "interval",
      values: [
        "'1 year 2 mons 3 days 04:05:06.789'",
        "'-1 days +00:00:00.000001'",
        "'0'",
        "'178000000 years'",
        "'-178000000 years'",
        "'1 mon -1 day'",
        "'00:00:00.000001'",
        "'-2 hours -3 minutes'",
      ],
    },
    {
      name: "u",
      type: "uuid",
      values: [
        "'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'",
        "'00000000-0000-0000-0000-000000000000'",
        "'ffffffff-ffff-ffff-ffff-ffffffffffff'",
        "'A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A12'",
        "'{12345678-1234-1234-1234-123456789abc}'",
        "'80000000-0000-0000-0000-000000000001'",
        "'0123456789abcdef0123456789abcdef'",
        "'7fffffff-ffff-ffff-ffff-fffffffffffe'",
      ],
    },
    {
      name: "j",
      type: "json",
      values: [
        `'{"a": [1, 2.50, "x"]}'`,
        "'[]'",
        `'"s"'`,
        "'null'",
        sql`'{"k": "😀,\"q\"\n"}'`,
        `'  {"spaced" :  1 }  '`,
        "'1e400'",
        `'{"dup": 1, "dup": 2}'`,
      ],
    },
    {
      name: "jb",
      type: "jsonb",
      values: [
        `'{"b": 1, "a": "😀"}'`,
        "'[]'",
        `'"s"'`,
        "'null'",
        sql`'{"k": "😀,\"q\"\n"}'`,
        `'  {"spaced" :  1 }  '`,
        "'1e400'",
        `'{"dup": 1, "dup": 2, "n": 2.50}'`,
      ],
    },
    { name: "o", type: "oid", values: cycle(["0", "4294967295", "1", "2147483648"]) },
    { name: "e", type: `${ns}.mood`, values: cycle([`'happy, "very"'`, "'sad'", "'😀'"]) },
    {
      name: "m",
      type: "money",
      values: cycle(["'-92233720368547758.08'", "'92233720368547758.07'", "0", "'1234.567'"]),
    },
    {
      name: "pt",
      type: "point",
      values: cycle([
        "'(1,2)'",
        "'(-0,NaN)'",
        "'(1e300,-1.5e-300)'",
        "'(0.1,0.30000000000000004)'",
      ]),
    },
    {
      name: "bx",
      type: "box",
      values: cycle(["'(1,2),(3,4)'", "'(-1.5,2),(3,-4.25)'", "'(1e300,1),(-1e300,-1)'"]),
    },
    {
      name: "ci",
      type: "circle",
      values: cycle(["'<(0,0),1>'", "'<(1.5,-2),0.1>'", "'<(1e300,-1e-300),1e10>'"]),
    },
    {
      name: "rts",
      type: "tsrange",
      values: cycle([
        "'[-infinity,infinity)'",
        `'["2024-01-01 00:00:00.000001","9999-12-31 23:59:59.999999"]'`,
        "'empty'",
        `'(,"4713-01-01 00:00:00 BC")'`,
      ]),
    },
    {
      name: "rd",
      type: "daterange",
      values: cycle(["'[2024-01-01,2024-02-01)'", "'[4713-01-01 BC,infinity)'", "'empty'"]),
    },
    { name: "mr", type: "int4multirange", values: cycle(["'{}'", "'{[1,3),[5,7)}'", "'{(,0)}'"]) },
    { name: "it", type: "item", values: cycle([ITEM_A, ITEM_EDGE, ITEM_ODD]) },
    { name: "inet", type: "inet", values: cycle(["'192.168.0.1/24'", "'::1'", "'10.0.0.1'"]) },
    { name: "mac", type: "macaddr", values: cycle(["'08:00:2b:01:02:03'", "'ff:ff:ff:ff:ff:ff'"]) },
    { name: "bits", type: "varbit", values: cycle(["B''", "B'1'", "B'0101'"]) },
    { name: "tsv", type: "tsvector", values: cycle([`'a fat,cat "sat"'`, "''"]) },
    { name: "x", type: "xml", values: cycle([`'<a b="1">x, y</a>'`, "'plain'"]) },
    { name: "i2v", type: "int2vector", values: cycle(["'1 2 3'", "''", "'-32768 32767'"]) },
    { name: "lsn", type: "pg_lsn", values: cycle(["'0/0'", "'FFFFFFFF/FFFFFFFF'"]) },
    // Arrays of every scalar kind.
    {
      name: "ab",
      type: "bool[]",
      values: cycle(["'{t,f,NULL}'", "'{}'", "'{NULL}'"]),
      convention: "bool",
      element: "literal",
    },
    {
      name: "ai",
      type: "int4[]",
      values: cycle(["'{1,NULL,3}'", "'{}'", "'{-2147483648,2147483647}'", "'[0:1]={7,8}'"]),
      element: "literal",
    },
    {
      name: "ai8",
      type: "int8[]",
      values: cycle(["'{9223372036854775807,-9223372036854775808}'", "'{}'"]),
      element: "literal",
    },
    {
      name: "af4",
      type: "float4[]",
      values: cycle(["'{NaN,Infinity,-Infinity,-0,1e6,0.1}'", "'{}'", "'{NULL,16777217}'"]),
      element: "float",
    },
    {
      name: "af8",
      type: "float8[]",
      values: cycle(["'{NaN,-Infinity,1e15,5e-324}'", "'{}'", "'{NULL,0.1}'"]),
      element: "float",
    },
    {
      name: "an",
      type: "numeric(10,2)[]",
      values: cycle(["'{1.5,-0.01,NULL}'", "'{}'", "'{99999999.99}'"]),
      element: "literal",
    },
    {
      name: "anu",
      type: "numeric[]",
      values: cycle(["'{1.500,NaN,Infinity}'", "'{}'", "'{NULL,-0.000001}'"]),
      element: "string",
    },
    {
      name: "at",
      type: "text[]",
      values: cycle([
        sql`ARRAY['a,b', 'q"', NULL, '']`,
        "'{}'",
        sql`'{"NULL"}'`,
        sql`ARRAY[E'line\nbreak', E'cr\r', E'back\\slash', '😀']`,
        sql`ARRAY['{braces}', ' sp ', '"', E'\\.']`,
      ]),
      element: "string",
    },
    {
      name: "aby",
      type: "bytea[]",
      values: cycle([sql`ARRAY['\x00ff'::bytea, NULL, '\x'::bytea]`, "'{}'"]),
      convention: "bytea",
      element: "string",
    },
    {
      name: "ad",
      type: "date[]",
      values: cycle(["'{2024-01-01,NULL,0044-03-15 BC}'", "'{}'", "'{5874897-12-31}'"]),
      convention: "temporal",
      element: "string",
    },
    {
      name: "ats",
      type: "timestamp[]",
      values: cycle([`'{"2024-01-01 00:00:00.5","0001-01-01 00:00:00 BC"}'`, "'{}'"]),
      convention: "temporal",
      element: "string",
    },
    {
      name: "atz",
      type: "timestamptz[]",
      values: cycle([`'{"2024-01-01 00:00:00+05",NULL}'`, "'{}'"]),
      convention: "temporal",
      element: "string",
    },
    {
      name: "atm",
      type: "time[]",
      values: cycle(["'{00:00:00,24:00:00,12:00:00.123}'", "'{}'"]),
      convention: "clock",
      element: "string",
    },
    {
      name: "au",
      type: "uuid[]",
      values: cycle(["'{a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11,NULL}'", "'{}'"]),
      element: "string",
    },
    {
      name: "aj",
      type: "jsonb[]",
      values: cycle([sql`ARRAY['{"a": 1}'::jsonb, 'null', NULL]`, "'{}'"]),
      element: "string",
    },
    {
      name: "aiv",
      type: "interval[]",
      values: cycle(["'{1 day,-00:00:01}'", "'{}'"]),
      element: "string",
    },
    {
      name: "abx",
      type: "box[]",
      values: cycle(["ARRAY['(1,2),(3,4)'::box, NULL]", "'{}'"]),
      element: "string",
    },
  ];
}

/** Creates the table `t` (id 1..9, the all-NULL row fourth) with the session set as rivet's. */
async function createTorture(db: TestDb): Promise<Column[]> {
  await db.exec(
    `SET search_path = ${db.ns}; SET TimeZone = 'UTC'; SET DateStyle = 'ISO'; ` +
      "SET IntervalStyle = 'iso_8601'; SET extra_float_digits = 3",
  );
  await db.exec(`
    CREATE TYPE mood AS ENUM ('happy, "very"', 'sad', '😀');
    CREATE TYPE item AS (name text, qty int, price numeric, at timestamptz, tags text[], pos point)`);
  const cols = tortureColumns(db.ns);
  await db.exec(
    `CREATE TABLE t (id int PRIMARY KEY, ${cols.map((c) => `${c.name} ${c.type}`).join(", ")})`,
  );
  const rows = Array.from({ length: SAMPLES }, (_, k) => cols.map((c) => c.values[k]));
  rows.splice(3, 0, cols.map(() => "NULL"));
  await db.exec(
    `INSERT INTO t VALUES ${rows.map((r, i) => `(${i + 1}, ${r.join(", ")})`).join(",\n")}`,
  );
  return cols;
}

/** An astronomical year as the CSV writes it (4+ digits, `-` before year 0). */
function yearText(year: number): string {
  return year < 0 ? `-${String(-year).padStart(4, "0")}` : String(year).padStart(4, "0");
}

/** PostgreSQL's ISO date or timestamp text (TimeZone UTC) in the CSV's form. */
function temporalCsv(s: string): string {
  const m = /^(\d{4,})-(\d\d)-(\d\d)(?: (\d\d:\d\d:\d\d)(?:\.(\d{1,6}))?(\+00)?)?( BC)?$/.exec(s);
  assert.ok(m, `unexpected PostgreSQL date/time text ${s}`);
  const [, y, month, day, clock, fraction, utc, bc] = m;
  const date = `${yearText(bc ? 1 - Number(y) : Number(y))}-${month}-${day}`;
  if (clock === undefined) return date;
  return `${date}T${clock}.${(fraction ?? "").padEnd(6, "0")}${utc ? "Z" : ""}`;
}

function clockCsv(s: string): string {
  const m = /^(\d\d:\d\d:\d\d)(?:\.(\d{1,6}))?$/.exec(s);
  assert.ok(m, `unexpected time text ${s}`);
  return `${m[1]}.${(m[2] ?? "").padEnd(6, "0")}`;
}

function byConvention(convention: Convention, text: string): string {
  switch (convention) {
    case "text":
      return text;
    case "bool":
      return text === "t" ? "true" : "false";
    case "bytea":
      return text.replace(/^\\x/, "");
    case "temporal":
      return temporalCsv(text);
    case "clock":
      return clockCsv(text);
  }
}

/** The JSON list a CSV cell holds for an array whose elements' server texts are `items`. */
function listCsv(column: Column, items: (string | null)[]): string {
  const convention = column.convention ?? "text";
  const json = items.map((item) => {
    if (item === null) return "null";
    const text = byConvention(convention, item);
    if (column.element === "string") return JSON.stringify(text);
    if (column.element === "float" && /^(NaN|-?Infinity)$/.test(text)) return `"${text}"`;
    return text;
  });
  return `[${json.join(",")}]`;
}

/**
 * The CSV fields the server's own text stands for, row by row: `format('%s', c)` (the type's
 * output function), arrays element by element in subscript order.
 */
async function expectedFields(db: TestDb, cols: Column[]): Promise<(string | null)[][]> {
  // num_nulls, not IS NULL, which is also true of a composite whose fields are all NULL.
  const text = (e: string) => `CASE WHEN num_nulls(${e}) = 0 THEN format('%s', ${e}) END`;
  const exprs = cols.map((c) =>
    c.element
      ? `CASE WHEN ${c.name} IS NOT NULL THEN (SELECT coalesce(json_agg(${
        text(`${c.name}[i]`)
      } ORDER BY i), '[]') FROM generate_subscripts(${c.name}, 1) AS i)::text END`
      : text(c.name)
  );
  const rows = await db.textRows(`SELECT id, ${exprs.join(", ")} FROM t ORDER BY id`);
  return rows.map((row) => [
    row[0],
    ...cols.map((c, k) => {
      const v = row[k + 1];
      if (v === null) return null;
      return c.element ? listCsv(c, JSON.parse(v)) : byConvention(c.convention ?? "text", v);
    }),
  ]);
}

Deno.test("postgres copy csv: every type, byte for byte the Arrow path's file, read back as the server's text", async () => {
  await withDb({ create: postgresDb }, async (db) => {
    const cols = await createTorture(db);
    await withTempDir(async (base) => {
      const run = await sameAsArrow(db, base, `SELECT * FROM ${db.ns}.t ORDER BY id`);
      assert.equal(run.summary.rows, SAMPLES + 1);
      const records = await readCsv(run.files[0]);
      assert.deepEqual(records[0], ["id", ...cols.map((c) => c.name)]);
      const expected = await expectedFields(db, cols);
      const problems: string[] = [];
      records.slice(1).forEach((record, r) => {
        record.forEach((field, k) => {
          if (field !== expected[r][k]) {
            const name = k === 0 ? "id" : cols[k - 1].name;
            problems.push(
              `row ${r + 1} ${name}: got ${JSON.stringify(field)}, want ${
                JSON.stringify(expected[r][k])
              }`,
            );
          }
        });
      });
      assert.deepEqual(problems, []);
    });
  });
});

Deno.test("postgres copy csv: \\. alone in a one-column file is quoted, as PostgreSQL quotes it", async () => {
  await withDb({ create: postgresDb }, async (db) => {
    await db.exec(`CREATE TABLE ${db.ns}.one (s text)`);
    await db.exec(
      sql`INSERT INTO ${db.ns}.one VALUES (E'\\.'), (NULL), (''), (E'\\.x'), ('.'), (E'a\n\\.\nb')`,
    );
    await withTempDir(async (base) => {
      const run = await sameAsArrow(db, base, `SELECT s AS "\\." FROM ${db.ns}.one`);
      const text = await Deno.readTextFile(run.files[0]);
      assert.equal(
        text,
        sql`"\."` + "\n" + sql`"\."` + "\n\n" + `""\n` + sql`\.x` + "\n.\n" +
          `"a\n` + sql`\.` + `\nb"\n`,
      );
      assert.deepEqual(await readCsv(run.files[0]), [
        ["\\."],
        ["\\."],
        [null],
        [""],
        ["\\.x"],
        ["."],
        ["a\n\\.\nb"],
      ]);
    });
  });
});

Deno.test("postgres copy csv: records longer than many network chunks, and many short ones", async () => {
  await withDb({ create: postgresDb }, async (db) => {
    await db.exec(`CREATE TABLE ${db.ns}.big (id int, s text, b bool, ts timestamp)`);
    // A 3 MB value full of quotes, commas and line breaks, between thousands of short rows.
    await db.exec(`INSERT INTO ${db.ns}.big
      SELECT g, CASE WHEN g = 2500 THEN repeat(E'ab"c,\n', 500000) ELSE 'r' || g END,
        g % 2 = 0, timestamp '2024-01-01' + g * interval '1.5 second'
      FROM generate_series(1, 5000) g`);
    await withTempDir(async (base) => {
      const run = await sameAsArrow(db, base, `SELECT * FROM ${db.ns}.big ORDER BY id`);
      assert.equal(run.summary.rows, 5000);
      const records = await readCsv(run.files[0]);
      assert.equal(records[2500][1], 'ab"c,\n'.repeat(500000));
      assert.deepEqual(records[5000], ["5000", "r5000", "true", "2024-01-01T02:05:00.000000"]);
    });
  });
});

// ---------------------------------------------------------------------------------------------
// Values Arrow cannot hold: the Arrow path's very error.

Deno.test("postgres copy csv: values Arrow cannot hold fail with the Arrow path's error", async () => {
  await withDb({ create: postgresDb }, async (db) => {
    const cases: [type: string, value: string][] = [
      ["date", "'infinity'"],
      ["date", "'-infinity'"],
      ["timestamp", "'infinity'"],
      ["timestamptz", "'-infinity'"],
      ["timestamp", "'294276-12-31 23:59:59.999999'"],
      ["timestamptz", "'294270-01-01 00:00:00+00'"],
      ["numeric(10,2)", "'NaN'"],
      ["int4[]", "'{{1,2},{3,4}}'"],
      ["date[]", "'{2024-01-01,infinity}'"],
      ["timestamp[]", `'{"294276-01-01 00:00:00"}'`],
      ["numeric(10,2)[]", "'{1.5,NaN}'"],
    ];
    await withTempDir(async (base) => {
      for (const [i, [type, value]] of cases.entries()) {
        const table = `${db.ns}.bad${i}`;
        await db.exec(`CREATE TABLE ${table} (id int, v ${type})`);
        await db.exec(`INSERT INTO ${table} VALUES (1, NULL), (2, ${value}::${type}), (3, NULL)`);
        const query = `SELECT * FROM ${table} ORDER BY id`;
        const passthrough = await runCsv(db, base, { query });
        const arrow = await runCsv(db, base, { query, hooks: ARROW });
        const label = `${type} ${value}`;
        assert.ok(tookPassthrough(passthrough), label);
        assert.equal(passthrough.summary.status, "failed", label);
        assert.equal(arrow.summary.status, "failed", label);
        assert.match(
          passthrough.summary.error!,
          /column v /,
          `${label}: ${passthrough.summary.error}`,
        );
        assert.equal(passthrough.summary.error, arrow.summary.error, label);
        assert.deepEqual(passthrough.files, [], `${label}: nothing delivered`);
      }
    });
  });
});

Deno.test("postgres copy csv: a server error after rows were sent fails as the Arrow path fails", async () => {
  await withDb({ create: postgresDb }, async (db) => {
    // Division by zero at row 30000, long after the first rows went out.
    const query = "SELECT g, 100 / (30000 - g) AS x, repeat('y', 50) AS pad " +
      "FROM generate_series(1, 40000) g";
    await withTempDir(async (base) => {
      const passthrough = await runCsv(db, base, { query, tuning: "max_retries: 0" });
      const arrow = await runCsv(db, base, { query, tuning: "max_retries: 0", hooks: ARROW });
      assert.ok(tookPassthrough(passthrough));
      assert.match(passthrough.log, /batch 2: /, "records had been written when the error came");
      assert.equal(passthrough.summary.status, "failed");
      assert.match(passthrough.summary.error!, /division by zero/);
      assert.equal(passthrough.summary.error, arrow.summary.error);
      assert.deepEqual(passthrough.files, []);
    });
  });
});

Deno.test("postgres copy csv: a read cut mid-stream is retried on a fresh connection; each row once", async () => {
  await withDb({ create: postgresDb }, async (db) => {
    await db.exec(`CREATE TABLE ${db.ns}.t (id int, pad text)`);
    await db.exec(
      `INSERT INTO ${db.ns}.t SELECT g, repeat('p', 100) FROM generate_series(1, 30000) g`,
    );
    const proxy = startTcpProxy(5432);
    try {
      await withTempDir(async (base) => {
        const url = db.url.replace(":5432/", `:${proxy.port}/`);
        proxy.cutNextDownload(1024 * 1024);
        const query = `SELECT * FROM ${db.ns}.t ORDER BY id`;
        const run = await runCsv({ ...db, url }, base, {
          query,
          tuning: "max_retries: 2, retry_backoff_ms: 10",
        });
        assert.equal(proxy.downloadsCut(), 1, "the proxy cut one connection");
        assert.match(run.log, /batch 2: [\s\S]*retry 1\/2 in 10ms, reconnecting/);
        assert.equal(run.summary.retries, 1);
        assert.equal(run.summary.rows, 30000);
        assertSameBytes(
          await bytesOf(run),
          await bytesOf(await runCsv(db, base, { query, hooks: ARROW })),
          "after the retry",
        );
      });
    } finally {
      proxy.close();
    }
  });
});

Deno.test("postgres copy csv: an abort cancels the COPY and rejects promptly", async () => {
  await withDb({ create: postgresDb }, async (db) => {
    const source = await openSource({
      type: "postgres",
      connection: pgSettings(),
      tuning: tuning({ profile: "fast" }),
    });
    try {
      const controller = new AbortController();
      // A row every 10 ms for 100 s.
      const stream = await source.copyCsv!(
        {
          text: "SELECT g FROM generate_series(1, 10000) g, LATERAL pg_sleep(0.01 + g * 0) s",
          params: [],
        },
        { throttleMs: 0, signal: controller.signal },
      );
      assert.ok(stream !== undefined);
      const started = Date.now();
      setTimeout(() => controller.abort(), 300);
      await assert.rejects(async () => {
        for await (const _ of stream.chunks) { /* drain */ }
      }, DOMException);
      assert.ok(Date.now() - started < 5_000, "the abort did not wait for the query");
    } finally {
      await source.close();
    }
    // The cancel reaches the backend at once; it may take a moment to wind down.
    const running = () =>
      db.textRows(
        "SELECT count(*) FROM pg_stat_activity " +
          "WHERE query LIKE 'COPY%pg_sleep%' AND pid <> pg_backend_pid()",
      );
    for (let wait = 0; wait < 50 && (await running())[0][0] !== "0"; wait++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    assert.deepEqual(await running(), [["0"]], "the server is not still running the COPY");
  });
});

// ---------------------------------------------------------------------------------------------
// When the passthrough is not taken.

Deno.test("postgres copy csv: everything that needs batches or a cursor read falls back, with the same file", async () => {
  await withDb({ create: postgresDb }, async (db) => {
    await db.exec(
      `CREATE TABLE ${db.ns}.t (id int PRIMARY KEY, at timestamptz, ok bool, note text)`,
    );
    await db.exec(`INSERT INTO ${db.ns}.t
      SELECT g, timestamptz '2024-01-01 00:00:00+00' + g * interval '1 minute', g % 3 = 0,
        CASE WHEN g % 7 = 0 THEN NULL ELSE 'n,' || g END
      FROM generate_series(1, 300) g`);
    const query = `SELECT * FROM ${db.ns}.t ORDER BY id`;
    await withTempDir(async (base) => {
      const fast = await runCsv(db, base, { query });
      assert.ok(tookPassthrough(fast));
      const bytes = await bytesOf(fast);
      const fallbacks: [label: string, spec: RunSpec, reason: RegExp][] = [
        ["throttle", { query, tuning: "throttle_ms: 1" }, /the source reads this query so/],
        ["statement timeout", { query, tuning: FETCH_TUNING }, /the source reads this query so/],
        [
          "quality rules",
          { query, exportLines: ["quality: { row_count_min: 1 }"] },
          /quality rules check batches/,
        ],
        ["--reconcile", { query, options: { reconcile: true } }, /--reconcile tallies batches/],
        ["a batch hook", { query, hooks: ARROW }, /a test hook rewrites batches/],
      ];
      for (const [label, spec, reason] of fallbacks) {
        const run = await runCsv(db, base, spec);
        assert.ok(!tookPassthrough(run), `${label}: no passthrough`);
        assert.match(run.log, new RegExp(`${DECLINED}: ${reason.source}`), label);
        assertSameBytes(bytes, await bytesOf(run), label);
      }
      const meta = await runCsv(db, base, {
        query,
        exportLines: ["meta_columns: { row_hash: true }"],
      });
      assert.ok(!tookPassthrough(meta));
      assert.match(meta.log, /meta_columns are computed from batches/);
      assert.equal((await readCsv(meta.files[0]))[0].at(-1), "_rivet_row_hash");
    });
  });
});

Deno.test("postgres copy csv: a SQL_ASCII database, which does not validate text, reads batches", async () => {
  const admin = await adminClient();
  const name = uniqueName("rivet_ascii");
  try {
    await admin.query(`CREATE DATABASE ${name} ENCODING 'SQL_ASCII' TEMPLATE template0`);
    const url = `postgresql://postgres@127.0.0.1:5432/${name}`;
    const db = { ...await postgresDb(), url };
    try {
      await withTempDir(async (base) => {
        const run = await runCsv(db, base, { query: "SELECT 'plain' AS s, 1 AS n" });
        assert.ok(!tookPassthrough(run));
        assert.match(run.log, new RegExp(`${DECLINED}: the source reads this query so`));
        assert.equal(await Deno.readTextFile(run.files[0]), "s,n\nplain,1\n");
      });
    } finally {
      await db.drop();
    }
  } finally {
    await admin.query(`DROP DATABASE IF EXISTS ${name}`);
    await admin.end();
  }
});

Deno.test("postgres copy csv: --validate and max_file_size parts on the passthrough", async () => {
  await withDb({ create: postgresDb }, async (db) => {
    await db.exec(`CREATE TABLE ${db.ns}.t (id int, note text, at date)`);
    await db.exec(`INSERT INTO ${db.ns}.t
      SELECT g, E'line\n' || repeat('x', g % 50), date '2024-01-01' + g FROM generate_series(1, 20000) g`);
    const query = `SELECT * FROM ${db.ns}.t ORDER BY id`;
    await withTempDir(async (base) => {
      const whole = await bytesOf(await runCsv(db, base, { query, hooks: ARROW }));
      const parts = await runCsv(db, base, {
        query,
        exportLines: ["max_file_size: 100KB"],
        options: { validate: true },
      });
      assert.ok(tookPassthrough(parts));
      assert.equal(parts.summary.error, undefined);
      assert.equal(parts.summary.validated, true);
      assert.ok(parts.files.length > 3, `several parts: ${parts.files.length}`);
      const header = "id,note,at\n";
      let records = "";
      for (const [i, file] of parts.files.entries()) {
        const text = await Deno.readTextFile(file);
        assert.ok(text.startsWith(header), file);
        assert.ok(text.endsWith("\n"));
        // Cut right after the record that reaches the size (every record here is under 80 bytes).
        assert.ok(text.length < 100 * 1024 + 80, `${file}: ${text.length} bytes`);
        if (i < parts.files.length - 1) assert.ok(text.length >= 100 * 1024, file);
        records += text.slice(header.length);
      }
      assert.equal(header + records, new TextDecoder().decode(whole));
    });
  });
});

// ---------------------------------------------------------------------------------------------
// The incremental cursor.

Deno.test("postgres copy csv: the incremental cursor is the one the Arrow path stores", async () => {
  await withDb({ create: postgresDb }, async (db) => {
    const cursors: [type: string, values: string[]][] = [
      ["int8", ["1", "9223372036854775807", "NULL"]],
      ["numeric(12,3)", ["-1.5", "123456789.125"]],
      ["numeric", ["1.500", "99999999999999999999999.1"]],
      ["float4", ["0.1", "16777217", "3.4e38"]],
      ["float8", ["0.1", "1e300", "5e-324"]],
      ["date", ["'0100-01-01 BC'", "'0044-03-15 BC'"]],
      ["timestamp", ["'2024-01-01 00:00:00'", "'12345-01-01 00:00:00.5'", "NULL"]],
      ["timestamptz", ["'0100-01-01 00:00:00+00 BC'", "'0001-01-01 00:00:00.5+00 BC'"]],
      ["timestamptz", ["'0001-01-01 00:00:00+00 BC'", "'2024-06-01 12:00:00.000001+02'"]],
      ["text", [`'a'`, `'z, "quoted"\n'`]],
    ];
    await withTempDir(async (base) => {
      for (const [i, [type, values]] of cursors.entries()) {
        const table = `${db.ns}.c${i}`;
        await db.exec(`CREATE TABLE ${table} (id serial, k ${type}, pad bool DEFAULT true)`);
        await db.exec(`INSERT INTO ${table} (k) VALUES ${values.map((v) => `(${v})`).join(", ")}`);
        const spec: RunSpec = {
          query: `SELECT k, pad FROM ${table}`,
          exportLines: ["mode: incremental", "cursor_column: k"],
        };
        const fast = await runCsv(db, base, spec);
        const arrow = await runCsv(db, base, { ...spec, hooks: ARROW });
        assert.ok(tookPassthrough(fast), type);
        assertSameBytes(await bytesOf(fast), await bytesOf(arrow), type);
        const cursor = cursorOf(fast);
        assert.ok(cursor !== undefined, `${type}: a cursor`);
        assert.deepEqual(cursor, cursorOf(arrow), type);
        // The next run binds the cursor (no passthrough) and finds only what came after it.
        await db.exec(`INSERT INTO ${table} (k) SELECT max(k) FROM ${table}`);
        const again = await runCsv(db, base, spec, fast.dir);
        assert.ok(!tookPassthrough(again), `${type}: a bound cursor is read through batches`);
        assert.equal(again.summary.rows, 0, `${type}: nothing after the cursor`);
      }
    });
  });
});

// ---------------------------------------------------------------------------------------------
// Records from the protocol stream, wherever the network cuts it.

function column(name: string, kind: ScalarKind, isArray = false): PgColumn {
  return {
    name,
    sourceType: kind,
    scalar: { kind, precision: 10, scale: 2, castText: false },
    isArray,
    delimiter: ",",
  };
}

/** One backend message: its type, its length (counting itself), its payload. */
function message(type: string, payload: string | Uint8Array): Uint8Array {
  const body = typeof payload === "string" ? new TextEncoder().encode(payload) : payload;
  const bytes = new Uint8Array(5 + body.length);
  bytes[0] = type.charCodeAt(0);
  new DataView(bytes.buffer).setUint32(1, 4 + body.length);
  bytes.set(body, 5);
  return bytes;
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

Deno.test("postgres copy csv: records and rewrites do not depend on where chunks end", () => {
  const columns = [
    column("t", "text"),
    column("b", "bool"),
    column("ts", "timestamptz"),
    column("by", "bytea"),
    column("l", "int32", true),
    column("d", "decimal"),
  ];
  const rows = [
    `"a,""b""\n\nc",t,2024-01-02 03:04:05.5+00,\\x0aff,"{1,NULL}",1.50\n`,
    `,,,,,\n`,
    `"",f,0044-03-15 00:00:00+00 BC,\\x,{},-0.01\n`,
    `"${'long, ""quoted""\n'.repeat(400)}",t,12345-01-01 00:00:00+00,\\x00,{7},0.00\n`,
  ];
  const expectedRecords = [
    `"a,""b""\n\nc",true,2024-01-02T03:04:05.500000Z,0aff,"[1,null]",1.50\n`,
    `,,,,,\n`,
    `"",false,-0043-03-15T00:00:00.000000Z,"",[],-0.01\n`,
    `"${'long, ""quoted""\n'.repeat(400)}",true,12345-01-01T00:00:00.000000Z,00,[7],0.00\n`,
  ];
  // After CopyDone, node-postgres reads on: CommandComplete and ReadyForQuery.
  const after = concat([message("C", "COPY 4\0"), message("Z", "I")]);
  const stream = concat([
    message("H", new Uint8Array([0, 0, 6, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0])),
    ...rows.slice(0, 2).map((r) => message("d", r)),
    message("N", "SNOTICE\0\0"),
    ...rows.slice(2).map((r) => message("d", r)),
    message("c", ""),
    after,
  ]);
  for (let cut = 0; cut <= stream.length; cut += cut < 200 ? 1 : 37) {
    for (const step of [1, 7, 4096]) {
      const parser = new CopyRowsParser();
      const rewriter = new CsvRewriter(columns);
      const records: string[] = [];
      const rest: Uint8Array[] = [];
      let over = false;
      const feed = (chunk: Uint8Array) => {
        if (over) return rest.push(chunk);
        const parsed = parser.push(chunk.slice());
        for (const block of parsed.blocks) {
          const out = rewriter.rewrite(block);
          let start = 0;
          for (let r = 0; r < out.rows; r++) {
            records.push(new TextDecoder().decode(out.bytes.subarray(start, out.ends[r])));
            start = out.ends[r];
          }
          assert.equal(start, out.bytes.length);
        }
        if (parsed.over) {
          assert.equal(parsed.over.how, "done");
          over = true;
          rest.push(parsed.over.rest);
        }
      };
      feed(stream.subarray(0, cut));
      for (let at = cut; at < stream.length; at += step) feed(stream.subarray(at, at + step));
      const where = `cut ${cut} step ${step}`;
      assert.deepEqual(records, expectedRecords, where);
      assert.deepEqual(concat(rest), after, where);
    }
  }
});

Deno.test("postgres copy csv: rewrites that outgrow the block keep every record whole", () => {
  // Text arrays become JSON with doubled quotes, far past the room the in-place rewrites get, so
  // the output grows mid-block while the long fields around them are still to be copied.
  const rewriter = new CsvRewriter([
    column("a", "text"),
    column("l", "text", true),
    column("b", "bool"),
    column("c", "text"),
  ]);
  for (const rows of [1, 3, 40, 400, 3000]) {
    const input: string[] = [];
    const expected: string[] = [];
    for (let r = 0; r < rows; r++) {
      const a = `row ${r} ${"a".repeat(r % 50)}`;
      const items = Array.from({ length: 1 + (r % 60) }, (_, i) => `v${r}.${i}`);
      const c = `tail of ${r} ${"c".repeat(20 + (r % 7))}`;
      // The server quotes a field that holds a comma.
      const list = items.length > 1 ? `"{${items.join(",")}}"` : `{${items[0]}}`;
      input.push(`${a},${list},${r % 2 ? "t" : "f"},${c}\n`);
      const json = `[${items.map((item) => `""${item}""`).join(",")}]`;
      expected.push(`${a},"${json}",${r % 2 ? "true" : "false"},${c}\n`);
    }
    const bytes = new TextEncoder().encode(input.join(""));
    const ends = new Int32Array(rows);
    for (let r = 0, at = 0; r < rows; r++) {
      ends[r] = at += new TextEncoder().encode(input[r]).length;
    }
    const out = rewriter.rewrite({ bytes, rows, ends, owned: false });
    const text = new TextDecoder().decode(out.bytes);
    assert.equal(text, expected.join(""), `${rows} rows`);
    const lines = [...out.ends.subarray(0, rows)].map((end, r) =>
      new TextDecoder().decode(out.bytes.subarray(r === 0 ? 0 : out.ends[r - 1], end))
    );
    assert.deepEqual(lines, expected, `${rows} rows`);
  }
});

Deno.test("postgres copy csv: after one outsized record, the rewriter's buffer shrinks back and rewrites the same", () => {
  const rewriter = new CsvRewriter([column("b", "bool"), column("s", "text")]);
  const rewrite = (records: string[]) => {
    const encoded = records.map((r) => new TextEncoder().encode(r));
    const bytes = new Uint8Array(encoded.reduce((n, r) => n + r.length, 0));
    const ends = new Int32Array(records.length);
    for (let r = 0, at = 0; r < records.length; r++) {
      bytes.set(encoded[r], at);
      ends[r] = at += encoded[r].length;
    }
    const out = rewriter.rewrite({ bytes, rows: records.length, ends, owned: false });
    return { text: new TextDecoder().decode(out.bytes), capacity: out.bytes.buffer.byteLength };
  };
  const huge = "x".repeat(6 * 1024 * 1024);
  const outsized = rewrite([`t,${huge}\n`]);
  assert.equal(outsized.text, `true,${huge}\n`);
  assert.ok(outsized.capacity > 6 * 1024 * 1024);
  const next = rewrite(["f,a\n", "t,b\n"]);
  assert.equal(next.text, "false,a\ntrue,b\n");
  assert.equal(next.capacity, 64 * 1024, "the outsized buffer is let go");
});

/**
 * Runs a {@link CopyRowsQuery} on a fake socket fed `stream`, standing in for node-postgres: its
 * data listener receives what is handed back and it reports `COPY <rows>` as the server said.
 */
async function copyRowsOver(stream: Uint8Array, said: string): Promise<string[]> {
  const socket = new PassThrough();
  let handedBack = 0;
  socket.on("data", (bytes: Uint8Array) => handedBack += bytes.length);
  const query = new CopyRowsQuery("COPY (SELECT 1) TO STDOUT (FORMAT csv)", "csv");
  const sent: string[] = [];
  query.submit({ stream: socket, query: (text) => sent.push(text) });
  assert.deepEqual(sent, ["COPY (SELECT 1) TO STDOUT (FORMAT csv)"]);
  const records: string[] = [];
  const reading = (async () => {
    for await (const block of query as AsyncIterable<Records>) {
      records.push(new TextDecoder().decode(block.bytes));
    }
  })();
  socket.write(stream);
  while (handedBack === 0) await new Promise((resolve) => setTimeout(resolve, 1));
  query.handleCommandComplete({ text: said });
  await reading;
  return records;
}

Deno.test("postgres copy csv: the rows framed must be the rows the server counted", async () => {
  const after = concat([message("C", "COPY 2\0"), message("Z", "I")]);
  const framed = concat([message("d", "1,a\n"), message("d", "2,b\n"), message("c", ""), after]);
  assert.deepEqual(await copyRowsOver(framed, "COPY 2"), ["1,a\n2,b\n"]);
  // Two rows in one message (which the protocol rules out) would be counted as one.
  const packed = concat([message("d", "1,a\n2,b\n"), message("c", ""), after]);
  await assert.rejects(
    () => copyRowsOver(packed, "COPY 2"),
    /malformed COPY data: 1 rows read, the server says COPY 2/,
  );
});

Deno.test("postgres copy csv: an ErrorResponse hands the rest of the stream back", () => {
  const error = concat([message("E", "SERROR\0C57014\0Mcanceled\0\0"), message("Z", "I")]);
  const stream = concat([message("d", "1,a\n"), message("d", "2,b\n"), error]);
  for (let cut = 0; cut <= stream.length; cut++) {
    const parser = new CopyRowsParser();
    const first = parser.push(stream.slice(0, cut));
    const second = first.over ? undefined : parser.push(stream.slice(cut));
    const over = first.over ?? second?.over;
    assert.equal(over?.how, "error", `cut ${cut}`);
    const rows = [...first.blocks, ...second?.blocks ?? []].reduce((n, b) => n + b.rows, 0);
    assert.equal(rows, 2, `cut ${cut}`);
    // Everything from the error on is node-postgres's, even when it began in the first chunk.
    const given = first.over ? concat([first.over.rest, stream.slice(cut)]) : over!.rest;
    assert.deepEqual(given, error, `cut ${cut}`);
  }
  assert.throws(
    () => new CopyRowsParser().push(message("d", "no line end")),
    /a row without a line end/,
  );
});

Deno.test("postgres fetch rows: DataRows are framed after the RowDescription; CommandComplete on is node-postgres's", () => {
  const tuple = (text: string) => {
    const value = new TextEncoder().encode(text);
    const bytes = new Uint8Array(6 + value.length);
    const view = new DataView(bytes.buffer);
    view.setInt16(0, 1);
    view.setInt32(2, value.length);
    bytes.set(value, 6);
    return bytes;
  };
  const rows = [tuple("first"), tuple(""), tuple("third row")];
  const after = concat([message("C", "FETCH 3\0"), message("Z", "T")]);
  const stream = concat([
    message("T", "\0\x01c\0"),
    ...rows.map((row) => message("D", row)),
    message("N", "SNOTICE\0Mhello\0\0"),
    after,
  ]);
  for (let cut = 0; cut <= stream.length; cut++) {
    const parser = new CopyRowsParser("binary", "fetch");
    const first = parser.push(stream.slice(0, cut));
    const second = first.over ? undefined : parser.push(stream.slice(cut));
    const over = first.over ?? second?.over;
    assert.equal(over?.how, "done", `cut ${cut}`);
    const blocks = [...first.blocks, ...second?.blocks ?? []];
    assert.equal(blocks.reduce((n, b) => n + b.rows, 0), 3, `cut ${cut}`);
    assert.deepEqual(concat(blocks.map((b) => b.bytes)), concat(rows), `cut ${cut}`);
    const given = first.over ? concat([first.over.rest, stream.slice(cut)]) : over!.rest;
    assert.deepEqual(given, after, `cut ${cut}`);
  }
  // A COPY's own messages have no place among a FETCH's rows.
  assert.throws(
    () => new CopyRowsParser("binary", "fetch").push(message("d", tuple("x"))),
    /malformed FETCH rows: unexpected message type d/,
  );
});

Deno.test("postgres copy rows: records may release their buffer only when nothing else shares it", () => {
  const rows = concat([message("d", "1,a\n"), message("d", "2,b\n")]);
  const end = concat([message("c", ""), message("C", "COPY 3\0"), message("Z", "I")]);
  // A chunk that is its whole buffer, in the middle of the COPY: its records own it.
  const whole = new CopyRowsParser().push(rows.slice(), true);
  assert.deepEqual(whole.blocks.map((b) => b.owned), [true]);
  // The caller could not vouch for the chunk (a slice of a shared buffer): never owned.
  assert.deepEqual(new CopyRowsParser().push(rows.slice(), false).blocks.map((b) => b.owned), [
    false,
  ]);
  // The COPY ends in the chunk: what follows is node-postgres's, in the same buffer.
  const last = new CopyRowsParser().push(concat([rows, message("d", "3,c\n"), end]), true);
  assert.equal(last.over?.how, "done");
  assert.deepEqual(last.blocks.map((b) => [b.rows, b.owned]), [[3, false]]);
  // A row held back across chunks is completed in a buffer of the parser's own.
  const split = new CopyRowsParser();
  const third = message("d", "3,c\n");
  split.push(concat([rows, third.subarray(0, 3)]), false);
  const completed = split.push(concat([third.subarray(3), message("d", "4,d\n")]), false);
  assert.deepEqual(completed.blocks.map((b) => [b.rows, b.owned]), [[1, true], [1, false]]);
});
