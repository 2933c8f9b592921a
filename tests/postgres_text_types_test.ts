/**
 * PostgreSQL types that Arrow has no dedicated type for — money, the geometric types, ranges and
 * multiranges (built-in and user-defined), composites, hstore, domains over those, arrays of all of
 * them — are exported as the server's own text. Each goes through the real CLI on both read paths
 * (`fast`: COPY binary, `balanced`: cursor FETCH) into Parquet and CSV, is read back by independent
 * readers (DuckDB, csv-parse), and is compared value by value with the server's `col::text` (array
 * elements one by one, by subscript). The Parquet file's embedded Arrow schema must say Utf8 (or
 * List<Utf8>) and name the PostgreSQL type in `rivet.source_type`; both paths must give the same
 * Arrow data. Only what no Arrow type holds (arrays of arrays) still fails, naming the column.
 *
 * Needs the hstore extension (Debian: postgresql-contrib); it is created in the scratch schema when
 * the database does not have it yet.
 *
 * Run: deno test --allow-all tests/postgres_text_types_test.ts
 */
import assert from "node:assert/strict";
import { isDeepStrictEqual } from "node:util";
import { type RecordBatch, Table, tableFromIPC, tableToIPC } from "apache-arrow";
import { TypeMappingError } from "../src/errors.ts";
import { openPostgres, usesCopy } from "../src/source/postgres/mod.ts";
import type { SqlQuery } from "../src/sql.ts";
import { parseSummaries, rivet } from "./support/cli.ts";
import { postgresDb, type TestDb, withDb } from "./support/engines.ts";
import { withTempDir, writeFile } from "./support/files.ts";
import { sourceConfig } from "./support/pg.ts";
import { queryDuckDB, readParquet, sqlPath } from "./support/read_parquet.ts";
import { readCsv } from "./support/read_csv.ts";

const sql = String.raw;

/** One column of the test table. */
interface Column {
  name: string;
  /** Type in CREATE TABLE. */
  type: string;
  /** SQL literals, one per sample row. */
  values: string[];
  /**
   * `rivet.source_type`. The server describes a domain column by its base type, so a domain shows
   * as that; arrays are `_element`.
   */
  sourceType: string;
}

/** Sample rows; an all-NULL row is inserted among them. */
const SAMPLES = 4;

const ITEM_A = sql`ROW('a "quoted", name', 1, 1.50, '2024-01-01 12:00:00.000001+05:30',
  ARRAY['x', 'y z'], '(1,2)')::item`;
const ITEM_NULLS = "ROW(NULL, NULL, NULL, NULL, NULL, NULL)::item";
const ITEM_EDGE = "ROW('', -1, 'NaN', '-infinity', '{}', NULL)::item";
const ITEM_ODD = sql`ROW('😀 é \ back(slash)', 2147483647, 12345678901234567890.123456789,
  '0044-03-15 12:00:00 BC', ARRAY[NULL, 'NULL', '{}'], '(-0,NaN)')::item`;

/** The table; `hs` is the schema holding the hstore type. */
function columns(hs: string): Column[] {
  return [
    {
      name: "m",
      type: "money",
      values: ["'-92233720368547758.08'", "'92233720368547758.07'", "0", "'1234.567'"],
      sourceType: "money",
    },
    {
      name: "pt",
      type: "point",
      values: ["'(1,2)'", "'(-0,NaN)'", "'(1e300,-1.5e-300)'", "'(0.1,0.30000000000000004)'"],
      sourceType: "point",
    },
    {
      name: "ln",
      type: "line",
      values: ["'{1,-1,0}'", "'[(0,0),(1,2)]'", "'{0.1,2,3}'", "'{1,0,-5}'"],
      sourceType: "line",
    },
    {
      name: "ls",
      type: "lseg",
      values: [
        "'[(0,0),(1,1)]'",
        "'[(-1.5,2),(3,-4.25)]'",
        "'[(0,0),(0,0)]'",
        "'[(1e-10,0),(1,1e10)]'",
      ],
      sourceType: "lseg",
    },
    {
      name: "bx",
      type: "box",
      values: ["'(1,2),(3,4)'", "'(0,0),(0,0)'", "'(-1.5,2),(3,-4.25)'", "'(1e300,1),(-1e300,-1)'"],
      sourceType: "box",
    },
    {
      name: "pa",
      type: "path",
      values: [
        "'[(0,0),(1,1),(2,0)]'",
        "'((0,0),(1,1),(2,0))'",
        "'[(1,2)]'",
        "'((0.5,-0.5),(1e-5,3))'",
      ],
      sourceType: "path",
    },
    {
      name: "pg",
      type: "polygon",
      values: [
        "'((0,0),(1,1),(2,0))'",
        "'((1,2))'",
        "'((-1.5,2),(3,-4.25),(0,0))'",
        "'((0,0),(0,1),(1,1),(1,0))'",
      ],
      sourceType: "polygon",
    },
    {
      name: "ci",
      type: "circle",
      values: ["'<(0,0),1>'", "'<(1.5,-2),0.1>'", "'<(0,0),0>'", "'<(1e300,-1e-300),1e10>'"],
      sourceType: "circle",
    },
    {
      name: "r4",
      type: "int4range",
      values: ["'empty'", "'[1,10)'", "'(,5]'", "'[-2147483648,)'"],
      sourceType: "int4range",
    },
    {
      name: "r8",
      type: "int8range",
      values: ["'[-9223372036854775808,9223372036854775807)'", "'empty'", "'(1,2]'", "'[0,)'"],
      sourceType: "int8range",
    },
    {
      name: "rn",
      type: "numrange",
      values: ["'[1e-20,0.1)'", "'(,)'", "'empty'", "'[1.000,2.50]'"],
      sourceType: "numrange",
    },
    {
      // Infinite bounds fail in a timestamp column (no Int64 holds them) but not inside a range.
      name: "rts",
      type: "tsrange",
      values: [
        "'[-infinity,infinity)'",
        `'["2024-01-01 00:00:00.000001","9999-12-31 23:59:59.999999"]'`,
        "'empty'",
        `'(,"4713-01-01 00:00:00 BC")'`,
      ],
      sourceType: "tsrange",
    },
    {
      name: "rtz",
      type: "tstzrange",
      values: [
        `'["2024-01-01 00:00:00+05:30",)'`,
        "'(,infinity]'",
        "'empty'",
        `'["1900-01-01 00:00:00.5+00","1900-01-01 00:00:00.6+00")'`,
      ],
      sourceType: "tstzrange",
    },
    {
      name: "rd",
      type: "daterange",
      values: ["'[2024-01-01,2024-02-01)'", "'[4713-01-01 BC,infinity)'", "'empty'", "'(,)'"],
      sourceType: "daterange",
    },
    {
      name: "rf",
      type: "floatrange",
      values: ["'[0.1,0.30000000000000004)'", "'[-Infinity,Infinity]'", "'empty'", "'(1e-300,)'"],
      sourceType: "floatrange",
    },
    {
      name: "mr",
      type: "int4multirange",
      values: ["'{}'", "'{[1,3),[5,7)}'", "'{(,0),[10,)}'", "'{[1,2]}'"],
      sourceType: "int4multirange",
    },
    {
      name: "mtz",
      type: "tstzmultirange",
      values: [
        `'{["2024-01-01 00:00:00+00","2024-01-02 00:00:00+00"),["2024-02-01 00:00:00+00",infinity)}'`,
        "'{}'",
        "'{(,)}'",
        `'{[-infinity,"2000-01-01 00:00:00.000001+00"]}'`,
      ],
      sourceType: "tstzmultirange",
    },
    {
      name: "it",
      type: "item",
      values: [ITEM_A, ITEM_NULLS, ITEM_EDGE, ITEM_ODD],
      sourceType: "item",
    },
    {
      name: "wr",
      type: "wrapper",
      values: [
        `ROW(${ITEM_A}, 'note')::wrapper`,
        "ROW(NULL, NULL)::wrapper",
        `ROW(${ITEM_NULLS}, '')::wrapper`,
        `ROW(${ITEM_ODD}, 'a,b')::wrapper`,
      ],
      sourceType: "wrapper",
    },
    {
      name: "hs",
      type: `${hs}.hstore`,
      values: [
        sql`'"a"=>"1", "b c"=>NULL'`,
        "''",
        sql`'"quo\"te"=>"x,y", "back\\slash"=>"{}"'`,
        sql`'"😀"=>"é", "k"=>""'`,
      ],
      sourceType: "hstore",
    },
    {
      name: "dr",
      type: "small_range",
      values: ["'[1,5)'", "'empty'", "'[0,100)'", "'(10,20]'"],
      sourceType: "int4range",
    },
    {
      name: "di",
      type: "item_d",
      values: [ITEM_A, ITEM_NULLS, ITEM_EDGE, ITEM_ODD],
      sourceType: "item",
    },
    {
      name: "dm",
      type: "price",
      values: ["'1.5'", "'-0.01'", "0", "'1000000'"],
      sourceType: "money",
    },
    {
      // Its typelem is int2 but it prints as `1 2 3`, not as array text.
      name: "iv",
      type: "int2vector",
      values: ["'1 2 3'", "''", "'-32768 32767'", "'0'"],
      sourceType: "int2vector",
    },
    {
      // Non-default bounds (`[0:1]={...}`) are printed before the elements.
      name: "pts",
      type: "point[]",
      values: [
        "ARRAY['(1,2)'::point, NULL, '(-0,NaN)']",
        "'{}'",
        "ARRAY['(0.1,0.30000000000000004)'::point]",
        sql`'[0:1]={"(1,1)","(2,2)"}'`,
      ],
      sourceType: "_point",
    },
    {
      // Box arrays separate their elements with `;`: a box's text holds commas.
      name: "bxs",
      type: "box[]",
      values: [
        "ARRAY['(1,2),(3,4)'::box, NULL, '(0,0),(0,0)']",
        "'{}'",
        "ARRAY['(-1.5,2),(3,-4.25)'::box]",
        "ARRAY[NULL::box]",
      ],
      sourceType: "_box",
    },
    {
      name: "r4s",
      type: "int4range[]",
      values: [
        "ARRAY['[1,3)'::int4range, 'empty', NULL, '(,)']",
        "'{}'",
        "ARRAY['[-2147483648,)'::int4range]",
        "ARRAY[NULL::int4range]",
      ],
      sourceType: "_int4range",
    },
    {
      name: "mrs",
      type: "int4multirange[]",
      values: [
        "ARRAY['{[1,3),[5,7)}'::int4multirange, NULL, '{}']",
        "'{}'",
        "ARRAY['{(,0)}'::int4multirange]",
        "ARRAY[NULL::int4multirange]",
      ],
      sourceType: "_int4multirange",
    },
    {
      name: "its",
      type: "item[]",
      values: [
        `ARRAY[${ITEM_A}, NULL, ${ITEM_NULLS}]`,
        "'{}'",
        `ARRAY[${ITEM_EDGE}, ${ITEM_ODD}]`,
        "ARRAY[NULL::item]",
      ],
      sourceType: "_item",
    },
    {
      name: "hss",
      type: `${hs}.hstore[]`,
      values: [
        sql`ARRAY['"a"=>"1"'::${hs}.hstore, NULL, '']`,
        "'{}'",
        sql`ARRAY['"quo\"te"=>NULL, "x"=>"{,}"'::${hs}.hstore]`,
        `ARRAY[NULL::${hs}.hstore]`,
      ],
      sourceType: "_hstore",
    },
    {
      name: "ms",
      type: "money[]",
      values: [
        "ARRAY['1234.5'::money, NULL, '-0.01']",
        "'{}'",
        "ARRAY['-92233720368547758.08'::money]",
        "ARRAY[NULL::money]",
      ],
      sourceType: "_money",
    },
    {
      name: "drs",
      type: "small_range[]",
      values: [
        "ARRAY['[1,5)'::small_range, NULL]",
        "'{}'",
        "ARRAY['empty'::small_range]",
        "ARRAY[NULL::small_range]",
      ],
      sourceType: "_small_range",
    },
  ];
}

const isArray = (c: Column) => c.sourceType.startsWith("_");

/** The schema that holds hstore: the database's, or the scratch schema when it had none. */
async function hstoreSchema(db: TestDb): Promise<string> {
  const available = await db.textRows(
    "SELECT 1 FROM pg_available_extensions WHERE name = 'hstore'",
  );
  assert.equal(
    available.length,
    1,
    "the hstore extension is not available on this server (Debian: postgresql-contrib)",
  );
  await db.exec(`CREATE EXTENSION IF NOT EXISTS hstore SCHEMA ${db.ns}`);
  const [[schema]] = await db.textRows(
    "SELECT n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace " +
      "WHERE e.extname = 'hstore'",
  );
  return schema!;
}

/**
 * Creates the types and the table (ids 1..5, the all-NULL row third) in the scratch schema; the
 * session then prints values as rivet's does.
 */
async function createTable(db: TestDb): Promise<Column[]> {
  const hs = await hstoreSchema(db);
  await db.exec(
    `SET search_path = ${db.ns}; SET TimeZone = 'UTC'; SET DateStyle = 'ISO'; ` +
      "SET IntervalStyle = 'iso_8601'; SET extra_float_digits = 3",
  );
  await db.exec(`
    CREATE TYPE item AS (name text, qty int, price numeric, at timestamptz, tags text[], pos point);
    CREATE TYPE wrapper AS (inner_item item, note text);
    CREATE TYPE floatrange AS RANGE (subtype = float8);
    CREATE DOMAIN small_range AS int4range CHECK (VALUE <@ int4range(0, 100));
    CREATE DOMAIN item_d AS item CHECK ((VALUE).qty IS NULL OR (VALUE).qty <> 0);
    CREATE DOMAIN price AS money CHECK (VALUE > '-1'::money)`);
  const cols = columns(hs);
  await db.exec(
    `CREATE TABLE t (id int PRIMARY KEY, ${cols.map((c) => `${c.name} ${c.type}`).join(", ")})`,
  );
  const rows = Array.from({ length: SAMPLES }, (_, k) => cols.map((c) => c.values[k]));
  rows.splice(2, 0, cols.map(() => "NULL"));
  await db.exec(
    `INSERT INTO t VALUES ${rows.map((r, i) => `(${i + 1}, ${r.join(", ")})`).join(",\n")}`,
  );
  return cols;
}

/** A value as the readers give it back: text, a list of texts, or NULL. */
type Value = string | null | (string | null)[];

/** The server's own text per row and column: `col::text`, or each element's `::text` as a list. */
async function serverValues(db: TestDb, cols: Column[]): Promise<Value[][]> {
  const exprs = cols.map((c) =>
    isArray(c)
      ? `CASE WHEN ${c.name} IS NOT NULL THEN (SELECT coalesce(json_agg(${c.name}[i]::text ` +
        `ORDER BY i), '[]') FROM generate_subscripts(${c.name}, 1) AS i)::text END`
      : `${c.name}::text`
  );
  const rows = await db.textRows(`SELECT ${exprs.join(", ")} FROM t ORDER BY id`);
  return rows.map((row) =>
    row.map((v, k) => v === null || !isArray(cols[k]) ? v : JSON.parse(v) as (string | null)[])
  );
}

function show(v: unknown): string {
  return Deno.inspect(v, { colors: false, depth: 4 });
}

/** Mismatches between `actual` rows and the server's, one line each. */
function differences(cols: Column[], actual: Value[][], expected: Value[][]): string[] {
  assert.equal(actual.length, expected.length);
  const problems: string[] = [];
  actual.forEach((row, r) => {
    cols.forEach((c, k) => {
      if (!isDeepStrictEqual(row[k], expected[r][k])) {
        problems.push(`row ${r + 1} ${c.name}: got ${show(row[k])}, want ${show(expected[r][k])}`);
      }
    });
  });
  return problems;
}

/** The Parquet file's embedded Arrow schema (`ARROW:schema`): field type and metadata by name. */
async function embeddedSchema(
  path: string,
): Promise<Map<string, { type: string; metadata: Map<string, string> }>> {
  const rows = await queryDuckDB(
    `SELECT key, value FROM parquet_kv_metadata(${sqlPath(path)})`,
  );
  const text = new TextDecoder();
  const entry = rows.find((r) => text.decode(r.key as Uint8Array) === "ARROW:schema");
  assert.ok(entry, "the Parquet file has no ARROW:schema");
  const message = Uint8Array.from(
    atob(text.decode(entry.value as Uint8Array)),
    (ch) => ch.charCodeAt(0),
  );
  // The value is one encapsulated IPC schema message; an end-of-stream marker makes it a stream.
  const stream = new Uint8Array(message.length + 8);
  stream.set(message);
  stream.set([0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0], message.length);
  const schema = tableFromIPC(stream).schema;
  return new Map(
    schema.fields.map((f) => [f.name, { type: String(f.type), metadata: f.metadata }]),
  );
}

interface Exported {
  parquet: string;
  csv: string;
}

/** Runs `rivet run` exporting the table to Parquet and CSV with `profile`; returns the files. */
async function exportBoth(db: TestDb, dir: string, profile: string): Promise<Exported> {
  const lines = [
    "source:",
    "  type: postgres",
    `  url: "${db.url}"`,
    `  tuning: { profile: ${profile}, batch_size: 2 }`,
    "exports:",
  ];
  for (const format of ["parquet", "csv"]) {
    lines.push(
      `  - name: t_${format}`,
      `    query: "SELECT * FROM ${db.ns}.t ORDER BY id"`,
      `    format: ${format}`,
      `    destination: { type: local, path: ./${profile} }`,
    );
  }
  const config = await writeFile(dir, `${profile}.yaml`, lines.join("\n") + "\n");
  const r = await rivet(["run", "--config", config, "--validate"]);
  assert.equal(r.code, 0, r.stderr);
  const summaries = parseSummaries(r.stdout);
  const file = (name: string): string => {
    assert.equal(summaries[name]?.status, "success", r.stdout);
    assert.equal(summaries[name].rows, String(SAMPLES + 1));
    return summaries[name].file;
  };
  return { parquet: file("t_parquet"), csv: file("t_csv") };
}

async function checkParquet(path: string, cols: Column[], expected: Value[][]): Promise<void> {
  const pq = await readParquet(path);
  assert.deepEqual(pq.columns, [
    { name: "id", type: "INTEGER" },
    ...cols.map((c) => ({ name: c.name, type: isArray(c) ? "VARCHAR[]" : "VARCHAR" })),
  ]);
  const actual = pq.rows.map((row) => cols.map((c) => row[c.name] as Value));
  assert.deepEqual(differences(cols, actual, expected), [], `Parquet ${path}`);

  const fields = await embeddedSchema(path);
  const types = cols.map((c) => [c.name, fields.get(c.name)?.type]);
  assert.deepEqual(types, cols.map((c) => [c.name, isArray(c) ? "List<Utf8>" : "Utf8"]));
  const sourceTypes = cols.map((
    c,
  ) => [c.name, fields.get(c.name)?.metadata.get("rivet.source_type")]);
  assert.deepEqual(sourceTypes, cols.map((c) => [c.name, c.sourceType]));
}

async function checkCsv(path: string, cols: Column[], expected: Value[][]): Promise<void> {
  const [header, ...records] = await readCsv(path);
  assert.deepEqual(header, ["id", ...cols.map((c) => c.name)]);
  assert.deepEqual(records.map((r) => r[0]), expected.map((_, r) => String(r + 1)));
  // Lists are JSON arrays in CSV.
  const actual = records.map((record) =>
    cols.map((c, k) => {
      const field = record[k + 1];
      return field === null || !isArray(c) ? field : JSON.parse(field) as (string | null)[];
    })
  );
  assert.deepEqual(differences(cols, actual, expected), [], `CSV ${path}`);
}

Deno.test("postgres text types: the server's exact text in Parquet and CSV, on both read paths", async () => {
  await withDb({ create: postgresDb }, async (db) => {
    const cols = await createTable(db);
    const expected = await serverValues(db, cols);
    await withTempDir(async (dir) => {
      const fast = await exportBoth(db, dir, "fast");
      const balanced = await exportBoth(db, dir, "balanced");
      for (const files of [fast, balanced]) {
        await checkParquet(files.parquet, cols, expected);
        await checkCsv(files.csv, cols, expected);
      }
      assert.deepEqual(
        await Deno.readFile(fast.csv),
        await Deno.readFile(balanced.csv),
        "the CSV files of COPY and FETCH differ",
      );
      assert.deepEqual(
        (await readParquet(fast.parquet)).rows,
        (await readParquet(balanced.parquet)).rows,
      );
    });
  });
});

// ---------------------------------------------------------------------------------------------
// The source itself: identical Arrow batches from COPY and FETCH, and what still fails.

type Path = "fetch" | "copy";

/** Reads `query` on one path (FETCH forced by a throttle) in batches of 2 rows. */
async function readBatches(ns: string, path: Path, query: SqlQuery): Promise<RecordBatch[]> {
  const throttleMs = path === "fetch" ? 1 : 0;
  const options = { batchRows: 2, throttleMs };
  const config = sourceConfig(ns, { throttleMs });
  assert.equal(usesCopy(config, query, options), path === "copy");
  const source = await openPostgres(config);
  try {
    const result = await source.query(query, options);
    const batches: RecordBatch[] = [];
    for await (const batch of result.batches) batches.push(batch);
    return batches;
  } finally {
    await source.close();
  }
}

Deno.test("postgres text types: COPY and FETCH give byte-identical Arrow batches", async () => {
  await withDb({ create: postgresDb }, async (db) => {
    await createTable(db);
    const queries = [
      "SELECT * FROM t ORDER BY id",
      // Anonymous records (pseudo-type `record`) print like composites.
      "SELECT ROW(id, m, 'a b', NULL) AS rec, ARRAY[ROW(id, pt)] AS recs FROM t ORDER BY id",
    ];
    for (const text of queries) {
      const query = { text, params: [] };
      const copied = await readBatches(db.ns, "copy", query);
      const fetched = await readBatches(db.ns, "fetch", query);
      assert.deepEqual(copied.map((b) => b.numRows), [2, 2, 1]);
      assert.deepEqual(fetched.map((b) => b.numRows), [2, 2, 1]);
      assert.deepEqual(
        tableToIPC(new Table(copied), "stream"),
        tableToIPC(new Table(fetched), "stream"),
        `COPY and FETCH differ for ${text}`,
      );
    }
    const records = await readBatches(db.ns, "copy", { text: queries[1], params: [] });
    const first = new Table(records).get(0)!.toJSON();
    assert.equal(first.rec, `(1,"-$92,233,720,368,547,758.08","a b",)`);
    assert.deepEqual([...first.recs], [`(1,"(1,2)")`]);
  });
});

Deno.test("postgres text types: arrays of arrays still fail on both paths, naming the column", async () => {
  await withDb({ create: postgresDb }, async (db) => {
    await db.exec(`CREATE DOMAIN ${db.ns}.ints AS int[]`);
    for (const path of ["copy", "fetch"] as const) {
      const cases: [string, string[]][] = [
        [
          "SELECT ARRAY[[point '(1,2)', point '(3,4)']] AS grid",
          ["column grid (_point)", "multi-dimensional", "SELECT grid::text AS grid"],
        ],
        [
          "SELECT ARRAY['{1,2}'::ints] AS nested",
          ["column nested has PostgreSQL type _ints", "SELECT nested::text AS nested"],
        ],
      ];
      for (const [text, parts] of cases) {
        const error = await readBatches(db.ns, path, { text, params: [] }).then(
          () => assert.fail(`${path}: ${text} did not fail`),
          (e: unknown) => e,
        );
        assert.ok(error instanceof TypeMappingError, `${path}: ${error}`);
        for (const part of parts) {
          assert.ok(error.message.includes(part), `${path}: ${error.message}`);
        }
      }
    }
  });
});
