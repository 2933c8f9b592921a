/**
 * PostgreSQL source against the local server: exact values on both read paths, identical batches,
 * bind parameters, error classification, statement_timeout per FETCH, and server-side cleanup.
 *
 * Run: deno test --allow-all tests/postgres_source_test.ts
 */
import assert from "node:assert/strict";
import {
  type Data,
  type DataType,
  type Decimal,
  type RecordBatch,
  Table,
  tableToIPC,
  Type,
} from "apache-arrow";
import type pg from "pg";
import { SourceError, TypeMappingError } from "../src/errors.ts";
import { classifySqlState, toSourceError } from "../src/source/postgres/errors.ts";
import { openPostgres, usesCopy } from "../src/source/postgres/mod.ts";
import { copySql } from "../src/source/postgres/copy.ts";
import { quoteIdent } from "../src/source/postgres/dialect.ts";
import { parseTypeRows, resolveColumns } from "../src/source/postgres/types.ts";
import type { StreamOptions } from "../src/source/source.ts";
import type { SqlQuery } from "../src/sql.ts";
import { pgSettings, sourceConfig, uniqueName, withSchema } from "./support/pg.ts";
import { openSource } from "../src/source/open.ts";
import { assertThrottled, timeBatches } from "./support/throttle.ts";

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

const assertEquals = <T>(actual: T, expected: T, message?: string) =>
  assert.deepStrictEqual(actual, expected, message);

/** Awaits `fn`, expecting it to reject with an instance of `type`; returns the error. */
async function assertRejects<E extends Error>(
  fn: () => Promise<unknown>,
  type: new (...args: never[]) => E,
): Promise<E> {
  try {
    await fn();
  } catch (error) {
    assert.ok(error instanceof type, `expected ${type.name}, got ${error}`);
    return error;
  }
  throw new assert.AssertionError({ message: `expected a ${type.name} rejection` });
}

type Path = "fetch" | "copy";

/** FETCH is forced by a throttle; COPY is what the `fast` profile (no bounds) gets. */
function pathOptions(path: Path, batchRows: number): { tuning: { throttleMs: number } } & {
  options: StreamOptions;
} {
  const throttleMs = path === "fetch" ? 1 : 0;
  return { tuning: { throttleMs }, options: { batchRows, throttleMs } };
}

async function readAll(
  schema: string,
  path: Path,
  query: SqlQuery,
  batchRows: number,
): Promise<{ batches: RecordBatch[]; fields: Map<string, Map<string, string>> }> {
  const { tuning, options } = pathOptions(path, batchRows);
  const config = sourceConfig(schema, tuning);
  assertEquals(usesCopy(config, query, options), path === "copy");
  const source = await openPostgres(config);
  try {
    const result = await source.query(query, options);
    const batches: RecordBatch[] = [];
    for await (const batch of result.batches) batches.push(batch);
    const fields = new Map(result.schema.fields.map((f) => [f.name, f.metadata]));
    return { batches, fields };
  } finally {
    await source.close();
  }
}

const SESSION_FORMAT = "SET TimeZone = 'UTC'; SET DateStyle = 'ISO'; " +
  "SET IntervalStyle = 'iso_8601'; SET extra_float_digits = 3";

const utf8 = new TextDecoder();

function hex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** Decimal128 words -> exact decimal text with `scale` fraction digits (as numeric_out prints). */
function decimalText(words: Uint32Array, scale: number): string {
  let v = 0n;
  for (let k = 3; k >= 0; k--) v = (v << 32n) | BigInt(words[k]);
  v = BigInt.asIntN(128, v);
  const negative = v < 0n;
  const digits = (negative ? -v : v).toString().padStart(scale + 1, "0");
  const text = scale === 0
    ? digits
    : `${digits.slice(0, digits.length - scale)}.${digits.slice(digits.length - scale)}`;
  return negative ? `-${text}` : text;
}

/** A float as a comparable string (distinguishes -0 and NaN). */
function floatText(value: number): string {
  return Object.is(value, -0) ? "-0" : String(value);
}

type Rendered = string | null | Rendered[];

/** Renders value `i` of `data` in the form the server-side expressions below produce. */
function render(data: Data<DataType>, i: number): Rendered {
  if (!data.getValid(i)) return null;
  const j = data.offset + i;
  switch (data.typeId) {
    case Type.Bool:
      return ((data.values[j >> 3] >> (j & 7)) & 1) === 1 ? "true" : "false";
    case Type.Int:
    case Type.Date:
    case Type.Timestamp:
    case Type.Time:
      return String(data.values[j]);
    case Type.Float:
      return floatText(data.values[j] as number);
    case Type.Decimal:
      return decimalText(
        (data.values as Uint32Array).subarray(4 * j, 4 * j + 4),
        (data.type as unknown as Decimal).scale,
      );
    case Type.Utf8:
      return utf8.decode(
        (data.values as Uint8Array).subarray(data.valueOffsets[j], data.valueOffsets[j + 1]),
      );
    case Type.Binary:
      return hex(
        (data.values as Uint8Array).subarray(data.valueOffsets[j], data.valueOffsets[j + 1]),
      );
    case Type.List: {
      const out: Rendered[] = [];
      const child = data.children[0];
      for (let k = data.valueOffsets[j]; k < data.valueOffsets[j + 1]; k++) {
        out.push(render(child, k));
      }
      return out;
    }
  }
  throw new Error(`no renderer for ${data.type}`);
}

// ---------------------------------------------------------------------------------------------
// The all-types table
// ---------------------------------------------------------------------------------------------

/** How the server prints one value for comparison: an SQL expression over `x`. */
type Expr = (x: string) => string;
/** The type's output function (keeps char(n) padding, unlike a cast to text). */
const asText: Expr = (x) => `format('%s', ${x})`;
const asCast: Expr = (x) => `(${x})::text`;
const asFloat: Expr = (x) => `(${x})::float8::text`;
const asHex: Expr = (x) => `encode(${x}, 'hex')`;
const asDays: Expr = (x) => `((${x}) - DATE '1970-01-01')::text`;
const asMicros: Expr = (x) => `(extract(epoch FROM ${x}) * 1000000)::numeric(40,0)::text`;

/** column, type, server expression (scalar or per element), expected Arrow type, extra metadata */
const COLUMNS: [string, string, Expr, string, Record<string, string>?][] = [
  ["b", "bool", asCast, "Bool"],
  ["i2", "int2", asText, "Int16"],
  ["i4", "int4", asText, "Int32"],
  ["i8", "int8", asText, "Int64"],
  ["o", "oid", asText, "Int64"],
  ["f4", "float4", asFloat, "Float32"],
  ["f8", "float8", asFloat, "Float64"],
  ["n", "numeric(38,10)", asText, "Decimal[38e+10]"],
  ["n52", "numeric(5,2)", asText, "Decimal[5e+2]"],
  ["nneg", "numeric(5,-2)", asText, "Decimal[7e0]"],
  ["nu", "numeric", asText, "Utf8", { "rivet.logical_type": "decimal" }],
  ["nbig", "numeric(50,5)", asText, "Utf8", { "rivet.logical_type": "decimal" }],
  ["dm", "money2", asText, "Decimal[12e+2]"],
  ["dma", "money2[]", asText, "List<Decimal[12e+2]>"],
  ["tx", "text", asText, "Utf8"],
  ["vc", "varchar(20)", asText, "Utf8"],
  ["bp", "char(4)", asText, "Utf8"],
  ["nm", "name", asText, "Utf8"],
  ["ch", '"char"', asText, "Utf8"],
  ["by", "bytea", asHex, "Binary"],
  ["d", "date", asDays, "Date32<DAY>"],
  ["ts", "timestamp", asMicros, "Timestamp<MICROSECOND>"],
  ["tstz", "timestamptz", asMicros, "Timestamp<MICROSECOND, UTC>"],
  ["tm", "time", asMicros, "Time64<MICROSECOND>"],
  ["ttz", "timetz", asText, "Utf8"],
  ["iv", "interval", asText, "Utf8"],
  ["u", "uuid", asText, "Utf8"],
  ["j", "json", asText, "Utf8", { "ARROW:extension:name": "arrow.json" }],
  ["jb", "jsonb", asText, "Utf8", { "ARROW:extension:name": "arrow.json" }],
  ["x", "xml", asText, "Utf8"],
  ["ip", "inet", asText, "Utf8"],
  ["cd", "cidr", asText, "Utf8"],
  ["mac", "macaddr", asText, "Utf8"],
  ["bt", "bit(4)", asText, "Utf8"],
  ["vb", "varbit", asText, "Utf8"],
  ["e", "mood", asText, "Utf8"],
  ["ia", "int4[]", asText, "List<Int32>"],
  ["i8a", "int8[]", asText, "List<Int64>"],
  ["ta", "text[]", asText, "List<Utf8>"],
  ["ba", "bytea[]", asHex, "List<Binary>"],
  ["da", "date[]", asDays, "List<Date32<DAY>>"],
  ["tsa", "timestamptz[]", asMicros, "List<Timestamp<MICROSECOND, UTC>>"],
  ["na", "numeric(10,2)[]", asText, "List<Decimal[10e+2]>"],
  ["nua", "numeric[]", asText, "List<Utf8>", { "rivet.logical_type": "decimal" }],
  ["fa", "float8[]", asFloat, "List<Float64>"],
  ["ja", "jsonb[]", asText, "List<Utf8>"],
  ["ua", "uuid[]", asText, "List<Utf8>"],
  ["ea", "mood[]", asText, "List<Utf8>"],
  ["iva", "interval[]", asText, "List<Utf8>"],
];

const BIG = "123456789012345678901234567890123456789012345678901234567890.123456789";

const ALL_TYPES_SQL = `
CREATE TYPE mood AS ENUM ('sad', 'happy', 'it''s ok');
CREATE DOMAIN money2 AS numeric(12,2);
CREATE TABLE t (id int PRIMARY KEY, ${COLUMNS.map(([c, type]) => `${c} ${type}`).join(", ")});
INSERT INTO t (id) VALUES (1);
INSERT INTO t VALUES (2,
  true, 32767, 2147483647, 9223372036854775807, 4294967295,
  'Infinity', 'NaN',
  9999999999999999999999999999.9999999999, 999.99, 9999900, ${BIG},
  999999999999999999999999999999999999999999999.99999, 9999999999.99, ARRAY[0.01, NULL],
  E'h\\u00e9llo, "quoted"\\nnew line 😀 ''single'' \\\\ tab\\t', 'ascii only', 'ab', 'name', 'x',
  '\\x00ff000000'::bytea,
  '9999-12-31', '9999-12-31 23:59:59.999999', '2263-01-01 00:00:00.000001+00', '23:59:59.999999',
  '12:34:56.789+05:30', '1 year 2 months 3 days 4 hours 5 minutes 6.000007 seconds',
  'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '{"a": [1, 2.50], "s": "x,y"}', '{"k": "v", "n": null}',
  '<a>b &amp; c</a>', '2001:db8::1/64', '10.0.0.0/8', '08:00:2b:01:02:03', B'1010', B'101', 'it''s ok',
  ARRAY[1, NULL, 3], ARRAY[-9223372036854775808, NULL, 9223372036854775807],
  ARRAY['a,b', NULL, '"x"', '', 'NULL', 'back\\slash', '{}', ' spaced '],
  ARRAY['\\x00'::bytea, NULL, '\\x'::bytea],
  ARRAY['0044-03-15 BC'::date, NULL, '9999-12-31'],
  ARRAY['1969-12-31 23:59:59.999999+00'::timestamptz, NULL],
  ARRAY[12345678.91, NULL, -0.01], ARRAY[${BIG}, NULL, 0.5],
  ARRAY['NaN'::float8, 'Infinity', '-Infinity', NULL, -0.0, 5e-324],
  ARRAY['{"a":1}'::jsonb, NULL], ARRAY['a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'::uuid, NULL],
  ARRAY['sad'::mood, NULL, 'it''s ok'], ARRAY['-1 day'::interval, NULL, '00:00:00.000001']);
INSERT INTO t VALUES (3,
  false, -32768, -2147483648, -9223372036854775808, 0,
  '-Infinity', '-Infinity',
  -9999999999999999999999999999.9999999999, -999.99, -9999900, -${BIG},
  -0.00001, -0.01, '{}',
  '', '', '', '', ' ',
  '\\x'::bytea,
  '0044-03-15 BC', '0044-03-15 12:00:00.123456 BC', '1900-01-01 00:00:00.5+00', '00:00:00',
  '00:00:00-14:59', '-1 days -00:00:00.000001',
  '00000000-0000-0000-0000-000000000000', '[]', '[]', '', '0.0.0.0', '::/0', '00:00:00:00:00:00',
  B'0000', B'', 'sad',
  '{}', '{}', '{}', '{}', '{}', '{}', '{}', '{}', '{}', '{}', '{}', '{}', '{}');
INSERT INTO t (id, f4, f8, n, n52, nneg, nu, tx, d, ts, tstz, tm, ia, ta)
  SELECT g, g * 1.1, g / 3.0, g * 0.0000000001, g / 100.0, g * 100, g::numeric / 7,
    repeat(chr(945 + g % 20), g), DATE '1970-01-01' - g * 1000, '2000-02-29 12:00:00'::timestamp
      + g * interval '1 microsecond' * 12345, '1970-01-01 00:00:00+00'::timestamptz
      - g * interval '1 second 1 microsecond', make_time(g % 24, g % 60, g % 60 + 0.000001 * g),
    ARRAY[g, NULL, -g], ARRAY[g::text, NULL]
  FROM generate_series(4, 60) g;
INSERT INTO t (id, f4, f8) VALUES (61, 1.1, 0.1), (62, 3.4028235e38, 1e-7), (63, 1e-45, -0.0);
`;

async function serverTexts(admin: pg.Client): Promise<Map<string, Rendered[]>> {
  await admin.query(SESSION_FORMAT);
  const select = COLUMNS.map(([c, type, expr]) => {
    if (!type.endsWith("[]")) return `CASE WHEN ${c} IS NULL THEN NULL ELSE ${expr(c)} END`;
    return `CASE WHEN ${c} IS NULL THEN NULL ELSE (SELECT coalesce(json_agg(` +
      `CASE WHEN e IS NULL THEN NULL ELSE ${expr("e")} END ORDER BY o), '[]') ` +
      `FROM unnest(${c}) WITH ORDINALITY AS u(e, o))::text END`;
  });
  const result = await admin.query({
    text: `SELECT ${select.join(", ")} FROM t ORDER BY id`,
    rowMode: "array",
  });
  const out = new Map<string, Rendered[]>();
  COLUMNS.forEach(([c, type], k) => {
    out.set(
      c,
      result.rows.map((row: (string | null)[]) => {
        const v = row[k];
        if (v === null || !type.endsWith("[]")) return v;
        return JSON.parse(v) as Rendered[];
      }),
    );
  });
  return out;
}

/** Canonical floats on the server side: the exact double its shortest text denotes. */
function canonical(type: string, value: Rendered): Rendered {
  if (value === null) return null;
  if (Array.isArray(value)) return value.map((v) => canonical(type, v));
  return type.startsWith("float") ? floatText(Number(value)) : value;
}

Deno.test("postgres: every type is exact on both paths, and both paths are identical", async () => {
  await withSchema(ALL_TYPES_SQL, async (schema, admin) => {
    const expected = await serverTexts(admin);
    const query = { text: "SELECT * FROM t ORDER BY id", params: [] };
    const results = new Map<Path, RecordBatch[]>();
    for (const path of ["fetch", "copy"] as const) {
      const { batches, fields } = await readAll(schema, path, query, 7);
      assertEquals(batches.map((b) => b.numRows), [7, 7, 7, 7, 7, 7, 7, 7, 7], path);
      const table = new Table(batches);
      assertEquals(table.numRows, 63);
      for (const [c, type, , arrowType, extra] of COLUMNS) {
        const vector = table.getChild(c);
        assert(vector !== null, `${path}: column ${c} missing`);
        assertEquals(String(vector.type), arrowType, `${path}: type of ${c}`);
        const metadata = fields.get(c);
        assert(metadata?.get("rivet.source_type"), `${path}: ${c} has no rivet.source_type`);
        for (const [k, v] of Object.entries(extra ?? {})) {
          assertEquals(metadata?.get(k), v, `${path}: ${c} metadata ${k}`);
        }
        const actual: Rendered[] = [];
        for (const data of vector.data) {
          for (let i = 0; i < data.length; i++) actual.push(render(data, i));
        }
        const server = expected.get(c)!.map((v) => canonical(type, v));
        assertEquals(actual, server, `${path}: values of ${c} (${type})`);
      }
      results.set(path, batches);
    }
    const fetched = results.get("fetch")!;
    const copied = results.get("copy")!;
    for (let i = 0; i < fetched.length; i++) {
      assertEquals(
        tableToIPC(new Table([copied[i]]), "stream"),
        tableToIPC(new Table([fetched[i]]), "stream"),
        `batch ${i} differs between FETCH and COPY`,
      );
    }
  });
});

Deno.test("postgres: rivet.source_type names the PostgreSQL type with its modifier", async () => {
  await withSchema(ALL_TYPES_SQL, async (schema) => {
    const { fields } = await readAll(
      schema,
      "copy",
      { text: "SELECT n, n52, vc, ia, na, e, ea FROM t WHERE false", params: [] },
      10,
    );
    const types = [...fields].map(([name, m]) => [name, m.get("rivet.source_type")]);
    assertEquals(types, [
      ["n", "numeric(38,10)"],
      ["n52", "numeric(5,2)"],
      ["vc", "varchar(20)"],
      ["ia", "_int4"],
      ["na", "_numeric(10,2)"],
      ["e", "mood"],
      ["ea", "_mood"],
    ]);
  });
});

Deno.test("postgres: an empty result has a schema and no batch", async () => {
  await withSchema("CREATE TABLE e (a int, b text)", async (schema) => {
    for (const path of ["fetch", "copy"] as const) {
      const { batches, fields } = await readAll(
        schema,
        path,
        { text: "SELECT * FROM e", params: [] },
        5,
      );
      assertEquals(batches.length, 0);
      assertEquals([...fields.keys()], ["a", "b"]);
    }
  });
});

// ---------------------------------------------------------------------------------------------
// Values and types without an exact Arrow representation
// ---------------------------------------------------------------------------------------------

async function expectMappingError(schema: string, path: Path, sql: string, ...parts: string[]) {
  const error = await assertRejects(
    () => readAll(schema, path, { text: sql, params: [] }, 2),
    TypeMappingError,
  );
  for (const part of parts) assert(error.message.includes(part), `${path}: ${error.message}`);
}

Deno.test("postgres: NaN/Infinity in a Decimal128 column and infinite dates fail naming the column", async () => {
  const setup = `CREATE TABLE n (id int, amount numeric(10,2), d date, ts timestamptz);
    INSERT INTO n VALUES (1, 1.5, '2024-01-01', now()), (2, 2.5, '2024-01-01', now()),
      (3, 'NaN', '2024-01-01', now());
    CREATE TABLE i (id int, d date, ts timestamp);
    INSERT INTO i VALUES (1, 'infinity', '2024-01-01'), (2, '2024-01-01', '-infinity');`;
  await withSchema(setup, async (schema) => {
    for (const path of ["fetch", "copy"] as const) {
      await expectMappingError(
        schema,
        path,
        "SELECT id, amount FROM n ORDER BY id",
        "column amount (numeric(10,2))",
        "NaN",
        "SELECT amount::text AS amount",
      );
      await expectMappingError(schema, path, "SELECT d FROM i ORDER BY id", "column d", "infinity");
      await expectMappingError(
        schema,
        path,
        "SELECT ts FROM i ORDER BY id",
        "column ts",
        "-infinity",
      );
    }
  });
});

Deno.test("postgres: point and money are the server's text; a multi-dimensional array fails with a cast that works", async () => {
  await withSchema(
    "CREATE TABLE g (p point, m money, a int[]); INSERT INTO g VALUES ('(1,2)', 1, '{{1,2},{3,4}}')",
    async (schema, admin) => {
      const server = await admin.query({
        text: "SELECT p::text, m::text FROM g",
        rowMode: "array",
      });
      for (const path of ["fetch", "copy"] as const) {
        const { batches, fields } = await readAll(
          schema,
          path,
          { text: "SELECT p, m FROM g", params: [] },
          2,
        );
        assertEquals(
          [...fields].map(([name, m]) => [name, m.get("rivet.source_type")]),
          [["p", "point"], ["m", "money"]],
        );
        assertEquals(batches[0].schema.fields.map((f) => String(f.type)), ["Utf8", "Utf8"]);
        assertEquals(batches[0].data.children.map((d) => render(d, 0)), server.rows[0]);
        await expectMappingError(
          schema,
          path,
          "SELECT a FROM g",
          "column a",
          "multi-dimensional",
          "SELECT a::text AS a",
        );
        // The suggested cast is exact and works.
        const cast = await readAll(
          schema,
          path,
          { text: "SELECT a::text AS a FROM g", params: [] },
          2,
        );
        assertEquals(render(cast.batches[0].data.children[0], 0), "{{1,2},{3,4}}");
      }
    },
  );
});

Deno.test("postgres: domains, enums, extension types and arrays resolve via pg_type", () => {
  const catalog = parseTypeRows([
    ["90001", "citext", "b", "0", "0", "-1", ","],
    ["90002", "_citext", "b", "90001", "0", "-1", ","],
    ["90003", "price", "d", "0", "1700", String(((12 << 16) | 2) + 4), ","],
    ["90004", "_price", "b", "90003", "0", "-1", ","],
    ["90005", "geometry", "b", "0", "0", "-1", ":"],
    ["90006", "_geometry", "b", "90005", "0", "-1", ":"],
  ]);
  const columns = resolveColumns([
    { name: "c", dataTypeID: 90001, dataTypeModifier: -1 },
    { name: "ca", dataTypeID: 90002, dataTypeModifier: -1 },
    { name: "pa", dataTypeID: 90004, dataTypeModifier: -1 },
    { name: "g", dataTypeID: 90005, dataTypeModifier: -1 },
    { name: "ga", dataTypeID: 90006, dataTypeModifier: -1 },
  ], catalog);
  const described = columns.map((c) => {
    const { kind, precision, castText } = c.scalar;
    return [c.sourceType, kind, c.isArray, precision, castText, c.delimiter];
  });
  assertEquals(described, [
    ["citext", "text", false, 0, false, ","],
    ["_citext", "text", true, 0, false, ","],
    ["_price", "decimal", true, 12, false, ","],
    // An extension type rivet does not know is the server's text (binary: cast on COPY).
    ["geometry", "text", false, 0, true, ","],
    ["_geometry", "text", true, 0, true, ":"],
  ]);
  // A type missing from pg_type (dropped since the query was described) cannot be resolved.
  const error = (() => {
    try {
      resolveColumns([{ name: "Geom", dataTypeID: 90099, dataTypeModifier: -1 }], catalog);
    } catch (e) {
      return e as Error;
    }
  })();
  assert(error instanceof TypeMappingError);
  assert(error.message.includes(`SELECT "Geom"::text AS "Geom"`), error.message);
});

Deno.test("postgres: COPY casts only the columns whose binary format is not decoded", () => {
  const text = { kind: "text", precision: 0, scale: 0, castText: false } as const;
  const cast = { ...text, castText: true };
  assertEquals(
    copySql("SELECT 1", [
      { name: "a", sourceType: "text", scalar: text, isArray: false, delimiter: "," },
    ]),
    "COPY (\nSELECT 1\n) TO STDOUT (FORMAT binary)",
  );
  assertEquals(
    copySql("SELECT 1, 2", [
      { name: "a", sourceType: "text", scalar: text, isArray: false, delimiter: "," },
      { name: "a", sourceType: "_interval", scalar: cast, isArray: true, delimiter: "," },
    ]),
    `COPY (SELECT "c1", CASE WHEN num_nulls("c2") = 1 THEN NULL ELSE format('%s', "c2") END ` +
      'FROM (\nSELECT 1, 2\n) AS _rivet_q("c1", "c2")) ' +
      "TO STDOUT (FORMAT binary)",
  );
  assertEquals(quoteIdent('we"ird'), '"we""ird"');
});

// ---------------------------------------------------------------------------------------------
// Bind parameters
// ---------------------------------------------------------------------------------------------

Deno.test("postgres: bind parameters are typed by the server, never spliced into SQL", async () => {
  const setup = `CREATE TABLE p (id bigint, name text, at timestamp, amount numeric(10,2));
    INSERT INTO p VALUES (1, 'O''Brien', '2024-01-01 00:00:00.5', 10.00),
      (2, 'Smith', '2024-01-02 00:00:00', 20.50), (3, 'O''Brien''s', '2024-01-03', 30.25);`;
  await withSchema(setup, async (schema) => {
    const source = await openPostgres(sourceConfig(schema));
    try {
      const query: SqlQuery = {
        text:
          "SELECT id FROM p WHERE name >= $1 AND at >= $2 AND amount > $3 AND id > $4 ORDER BY id",
        params: [
          { kind: "text", text: "O'Brien" },
          { kind: "timestamp", text: "2024-01-01T00:00:00.5" },
          { kind: "decimal", text: "10.00" },
          { kind: "int", text: "0" },
        ],
      };
      const { batches } = await source.query(query, { batchRows: 10, throttleMs: 0 });
      const ids: bigint[] = [];
      for await (const b of batches) ids.push(...(b.getChild("id")!.toArray() as BigInt64Array));
      // O'Brien (amount 10.00) is excluded by amount > 10.00; Smith and O'Brien's remain.
      assertEquals(ids, [2n, 3n]);
    } finally {
      await source.close();
    }
  });
});

// ---------------------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------------------

async function sourceError(schema: string, sql: string): Promise<SourceError> {
  return await assertRejects(
    () => readAll(schema, "fetch", { text: sql, params: [] }, 10),
    SourceError,
  );
}

Deno.test("postgres: server errors are classified by SQLSTATE with the server's message", async () => {
  await withSchema("CREATE TABLE secret (a int)", async (schema, admin) => {
    const syntax = await sourceError(schema, "SELEC 1");
    assertEquals(syntax.retryClass, "permanent");
    assertEquals(syntax.code, "42601");
    assert(syntax.message.includes('syntax error at or near "SELEC"'), syntax.message);

    const missing = await sourceError(schema, "SELECT * FROM no_such_table");
    assertEquals(missing.retryClass, "permanent");
    assert(missing.message.includes('relation "no_such_table" does not exist'), missing.message);
    // The position points into the user's query, not rivet's DECLARE wrapper.
    assert(missing.message.includes("at character 15"), missing.message);
    assert(!missing.message.includes("\n"));

    // Nonexistent role: rejected during authentication (28000) even under trust.
    const config = sourceConfig(schema);
    config.connection = {
      ...config.connection,
      user: uniqueName("no_such_role"),
      password: "s3cr3t-pw",
    };
    const auth = await assertRejects(() => openPostgres(config), SourceError);
    assertEquals(auth.retryClass, "auth");
    assert(auth.message.includes("does not exist"), auth.message);
    assert(!auth.message.includes("s3cr3t-pw"), auth.message);

    // Permission denied (42501) is an auth problem: a role without USAGE on the schema.
    const role = uniqueName("rivet_r");
    await admin.query(`CREATE ROLE ${role} LOGIN`);
    try {
      const denied = sourceConfig(schema);
      denied.connection = { ...denied.connection, user: role };
      const source = await openPostgres(denied);
      try {
        const error = await assertRejects(
          () =>
            source.query({ text: `SELECT * FROM ${schema}.secret`, params: [] }, {
              batchRows: 10,
              throttleMs: 0,
            }),
          SourceError,
        );
        assertEquals(error.retryClass, "auth");
        assertEquals(error.code, "42501");
      } finally {
        await source.close();
      }
    } finally {
      await admin.query(`DROP ROLE IF EXISTS ${role}`);
    }
  });
});

Deno.test("postgres: connection failures are network errors", async () => {
  const config = sourceConfig("public");
  config.connection = { ...pgSettings(), port: 1 };
  const error = await assertRejects(() => openPostgres(config), SourceError);
  assertEquals(error.retryClass, "network");
  assert(error.message.includes("cannot connect to postgres@127.0.0.1:1/test"), error.message);
});

Deno.test("postgres: classifier maps SQLSTATEs and socket codes, and masks the password", () => {
  const cases: [string, string][] = [
    ["28P01", "auth"],
    ["42501", "auth"],
    ["42P01", "permanent"],
    ["22012", "permanent"],
    ["0A000", "permanent"],
    ["57014", "timeout"],
    ["55P03", "timeout"],
    ["40001", "deadlock"],
    ["40P01", "deadlock"],
    ["53300", "capacity"],
    ["57P03", "capacity"],
    ["08006", "network"],
    ["57P01", "network"],
    ["57P02", "network"],
  ];
  for (const [code, expected] of cases) assertEquals(classifySqlState(code), expected, code);
  for (
    const code of ["ECONNREFUSED", "ECONNRESET", "EPIPE", "ETIMEDOUT", "ENOTFOUND", "EAI_AGAIN"]
  ) {
    const error = Object.assign(new Error(`connect ${code} 10.0.0.1:5432`), { code });
    assertEquals((toSourceError(error) as SourceError).retryClass, "network", code);
  }
  const lost = toSourceError(new Error("Connection terminated unexpectedly")) as SourceError;
  assertEquals(lost.retryClass, "network");
  const withHint = toSourceError(
    Object.assign(new Error("password authentication failed for hunter2pw\nsecond line"), {
      code: "28P01",
      hint: "check the password",
    }),
    { password: "hunter2pw" },
  ) as SourceError;
  assertEquals(withHint.retryClass, "auth");
  assertEquals(
    withHint.message,
    "PostgreSQL: password authentication failed for *** second line " +
      "(SQLSTATE 28P01; hint: check the password)",
  );
});

// ---------------------------------------------------------------------------------------------
// Session bounds and cleanup
// ---------------------------------------------------------------------------------------------

Deno.test("postgres: statement_timeout bounds each FETCH, not the whole read", async () => {
  await withSchema(
    "CREATE TABLE s AS SELECT g AS id FROM generate_series(1, 50) g",
    async (schema) => {
      const config = sourceConfig(schema, { statementTimeoutS: 1, throttleMs: 300 });
      const source = await openPostgres(config);
      try {
        const started = Date.now();
        const { batches } = await source.query(
          { text: "SELECT id FROM s ORDER BY id", params: [] },
          { batchRows: 10, throttleMs: 300 },
        );
        let rows = 0;
        for await (const b of batches) rows += b.numRows;
        assertEquals(rows, 50);
        assert(Date.now() - started > 1_300, "the read should outlast the statement timeout");

        // The timeout is live: one slow FETCH fails, classified as a timeout.
        const { batches: slow } = await source.query(
          { text: "SELECT 1 AS one FROM pg_sleep(3)", params: [] },
          { batchRows: 10, throttleMs: 300 },
        );
        const error = await assertRejects(async () => {
          for await (const _ of slow) { /* drain */ }
        }, SourceError);
        assertEquals(error.retryClass, "timeout");
        assertEquals(error.code, "57014");
      } finally {
        await source.close();
      }
    },
  );
});

async function backendState(admin: pg.Client, pid: number): Promise<string | null> {
  const r = await admin.query("SELECT state FROM pg_stat_activity WHERE pid = $1", [pid]);
  return r.rows.length === 0 ? null : r.rows[0].state;
}

async function waitFor(check: () => Promise<boolean>, ms: number): Promise<boolean> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    if (await check()) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return await check();
}

/** `promise`, or a rejection after `ms`: a session left mid-statement would hang, not fail. */
async function within<T>(ms: number, what: string, promise: Promise<T>): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not return in ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, late]);
  } finally {
    clearTimeout(timer);
  }
}

Deno.test("postgres: a value that cannot be decoded in the middle of a FETCH fails, naming its column, and frees the server", async () => {
  await withSchema("", async (schema, admin) => {
    const { tuning, options } = pathOptions("fetch", 50_000);
    const source = await openPostgres(sourceConfig(schema, tuning));
    // One FETCH of 40,000 rows (~3 MB): the NaN arrives many network chunks into it.
    const { batches } = await source.query({
      text: "SELECT g AS id, (CASE WHEN g = 30000 THEN 'NaN'::numeric ELSE g END)::numeric(12,2) " +
        "AS amount, repeat('x', 60) AS pad FROM generate_series(1, 40000) g",
      params: [],
    }, options);
    // The cursor described the query with `FETCH FORWARD 0`, its last statement so far.
    const pids = await admin.query(
      "SELECT pid FROM pg_stat_activity WHERE query LIKE 'FETCH FORWARD 0 FROM %' " +
        "AND datname = current_database() AND pid <> pg_backend_pid()",
    );
    assertEquals(pids.rows.length, 1);
    const read = (async () => {
      for await (const _ of batches) { /* the first batch already fails */ }
    })();
    const error = await assertRejects(
      () => within(10_000, "the failed read", read),
      TypeMappingError,
    );
    assert(error.message.includes("amount"), error.message);
    assert(error.message.includes("NaN"), error.message);
    // The statement's socket could not be handed back mid-FETCH: the session ends, and so does
    // its backend, instead of waiting for a reply that can no longer be read.
    const pid = pids.rows[0].pid;
    const gone = await waitFor(async () => await backendState(admin, pid) === null, 5_000);
    assert(gone, `backend ${pid} still ${await backendState(admin, pid)}`);
    await within(5_000, "close()", source.close());
  });
});

Deno.test("postgres: a server error in the middle of a FETCH fails the read with its message, and the connection goes on", async () => {
  await withSchema("", async (schema) => {
    const { tuning, options } = pathOptions("fetch", 50_000);
    const source = await openPostgres(sourceConfig(schema, tuning));
    try {
      // Rows stream before the error: the server fails at row 30,000 of a 40,000-row FETCH.
      const { batches } = await source.query({
        text: "SELECT g AS id, 1 / (g - 30000) AS x, repeat('x', 60) AS pad " +
          "FROM generate_series(1, 40000) g",
        params: [],
      }, options);
      const read = (async () => {
        for await (const _ of batches) { /* the first batch already fails */ }
      })();
      const error = await assertRejects(() => within(10_000, "the failed read", read), SourceError);
      assertEquals(error.code, "22012");
      assert(error.message.includes("division by zero"), error.message);
      // The error ended the FETCH's rows: the socket went back to node-postgres, whole.
      const again = await source.query({ text: "SELECT 1 AS one", params: [] }, options);
      const ones: unknown[] = [];
      for await (const b of again.batches) ones.push(b.getChild("one")!.get(0));
      assertEquals(ones, [1]);
    } finally {
      await within(5_000, "close()", source.close());
    }
  });
});

Deno.test("postgres: breaking out early releases the server session on both paths", async () => {
  await withSchema("", async (schema, admin) => {
    for (const path of ["fetch", "copy"] as const) {
      const { tuning, options } = pathOptions(path, 1000);
      const source = await openPostgres(sourceConfig(schema, tuning));
      try {
        const { batches } = await source.query({
          text: "SELECT pg_backend_pid() AS pid, g FROM generate_series(1, 5000000) g",
          params: [],
        }, options);
        let pid = 0;
        for await (const batch of batches) {
          pid = batch.getChild("pid")!.get(0) as number;
          assertEquals(
            await backendState(admin, pid),
            path === "fetch" ? "idle in transaction" : "active",
          );
          break;
        }
        const released = await waitFor(async () => {
          const state = await backendState(admin, pid);
          return state === null || state === "idle";
        }, 5_000);
        assert(released, `${path}: backend ${pid} still ${await backendState(admin, pid)}`);
        if (path === "fetch") {
          // The FETCH path keeps its connection usable after an early exit.
          const again = await source.query({ text: "SELECT 1 AS one", params: [] }, options);
          for await (const b of again.batches) assertEquals(b.getChild("one")!.get(0), 1);
        }
      } finally {
        await source.close();
      }
    }
  });
});

Deno.test("postgres: an abort cancels a running FETCH and rejects promptly", async () => {
  await withSchema("", async (schema) => {
    const source = await openPostgres(sourceConfig(schema, { throttleMs: 10 }));
    try {
      const controller = new AbortController();
      const { batches } = await source.query(
        { text: "SELECT 1 AS one FROM pg_sleep(30)", params: [] },
        { batchRows: 10, throttleMs: 10, signal: controller.signal },
      );
      const started = Date.now();
      setTimeout(() => controller.abort(), 300);
      await assertRejects(async () => {
        for await (const _ of batches) { /* drain */ }
      }, DOMException);
      assert(Date.now() - started < 5_000, "the abort should not wait for pg_sleep");
    } finally {
      await source.close();
    }
  });
});

Deno.test("postgres: the source reads in a READ ONLY transaction", async () => {
  await withSchema("CREATE TABLE w (a int)", async (schema) => {
    for (const path of ["fetch", "copy"] as const) {
      const error = await assertRejects(
        () =>
          readAll(schema, path, { text: "INSERT INTO w VALUES (1) RETURNING a", params: [] }, 5),
        SourceError,
      );
      assertEquals(error.retryClass, "permanent");
    }
  });
});

Deno.test("postgres: values larger than a network chunk decode exactly on both paths", async () => {
  const setup = `CREATE TABLE big (id int, tx text, by bytea, ia int[]);
    INSERT INTO big SELECT g, repeat('é😀x', 400000 * g), decode(repeat('00ff10', 1000000), 'hex'),
      (SELECT array_agg(k) FROM generate_series(1, 100000 * g) k) FROM generate_series(1, 3) g;`;
  await withSchema(setup, async (schema, admin) => {
    const expected = await admin.query({
      text: "SELECT encode(sha256(convert_to(tx, 'UTF8')), 'hex'), encode(sha256(by), 'hex'), " +
        "cardinality(ia)::text FROM big ORDER BY id",
      rowMode: "array",
    });
    const sha256 = async (bytes: Uint8Array) =>
      hex(new Uint8Array(await crypto.subtle.digest("SHA-256", bytes.slice())));
    for (const path of ["fetch", "copy"] as const) {
      const { batches } = await readAll(
        schema,
        path,
        { text: "SELECT tx, by, ia FROM big ORDER BY id", params: [] },
        1,
      );
      assertEquals(batches.length, 3);
      for (let i = 0; i < 3; i++) {
        const [tx, by, ia] = [0, 1, 2].map((c) => batches[i].getChildAt(c)!.data[0]);
        const text = tx.values.subarray(tx.valueOffsets[0], tx.valueOffsets[1]);
        const bytes = by.values.subarray(by.valueOffsets[0], by.valueOffsets[1]);
        assertEquals(
          [await sha256(text), await sha256(bytes), String(ia.valueOffsets[1])],
          expected.rows[i],
          `${path}: row ${i + 1}`,
        );
      }
    }
  });
});

Deno.test("postgres: a consumer that waits before and between batches still gets every row", async () => {
  // Regression: under Deno, a COPY started on a socket that sat idle never received data.
  await withSchema(
    "CREATE TABLE q AS SELECT g AS id FROM generate_series(1, 20000) g",
    async (schema) => {
      for (const path of ["fetch", "copy"] as const) {
        const { tuning, options } = pathOptions(path, 3000);
        const source = await openPostgres(sourceConfig(schema, tuning));
        try {
          const { batches } = await source.query({ text: "SELECT id FROM q", params: [] }, options);
          await new Promise((r) => setTimeout(r, 100));
          let rows = 0;
          const read = async () => {
            for await (const b of batches) {
              rows += b.numRows;
              await new Promise((r) => setTimeout(r, 20));
            }
          };
          let timer: ReturnType<typeof setTimeout> | undefined;
          const stalled = new Promise<never>((_, reject) => {
            timer = setTimeout(() => reject(new Error(`${path}: the read stalled`)), 15_000);
          });
          try {
            await Promise.race([read(), stalled]);
          } finally {
            clearTimeout(timer);
          }
          assertEquals(rows, 20000, path);
        } finally {
          await source.close();
        }
      }
    },
  );
});

Deno.test("postgres: the FETCH path waits throttle_ms between batches", async () => {
  const throttleMs = 250;
  // 22 rows in batches of 5: four full FETCHes, then a short one that ends the read.
  await withSchema(
    "CREATE TABLE paced AS SELECT g AS id FROM generate_series(1, 22) g",
    async (schema) => {
      const config = sourceConfig(schema, { throttleMs });
      const query = { text: "SELECT id FROM paced ORDER BY id", params: [] };
      const options = { batchRows: 5, throttleMs: config.tuning.throttleMs };
      assertEquals(usesCopy(config, query, options), false);
      const source = await openSource(config);
      try {
        const started = performance.now();
        const { batches } = await source.query(query, options);
        const arrivals = await timeBatches(batches);
        assertEquals(arrivals.rows, [5, 5, 5, 5, 2]);
        assertThrottled(arrivals, started, throttleMs);
      } finally {
        await source.close();
      }
    },
  );
});

Deno.test("postgres: primaryKey reads the catalog: key order, quoting, search_path, no key", async () => {
  const setup = `CREATE TABLE one (id int PRIMARY KEY, v text);
    CREATE TABLE two (a int, b int, c int, PRIMARY KEY (b, a));
    CREATE TABLE inc (id int, x int, PRIMARY KEY (id) INCLUDE (x));
    CREATE TABLE nokey (id int UNIQUE);
    CREATE VIEW v AS SELECT * FROM one;
    CREATE TABLE "Mixed Case" ("Key Col" int PRIMARY KEY);`;
  await withSchema(setup, async (schema) => {
    const source = await openPostgres(sourceConfig(schema));
    try {
      const cases: [string, string[] | undefined][] = [
        ["one", ["id"]],
        ["ONE", ["id"]],
        ["two", ["b", "a"]],
        ["inc", ["id"]],
        ["nokey", undefined],
        ["v", undefined],
        [`"Mixed Case"`, ["Key Col"]],
        [`${schema}.two`, ["b", "a"]],
        [`"${schema}"."one"`, ["id"]],
        ["nosuch", undefined],
        ["nosuch.one", undefined],
        ["Mixed Case", undefined],
        ["a.b.c.d", undefined],
        ["otherdb.s.t", undefined],
        ["one; DROP TABLE one", undefined],
      ];
      for (const [table, key] of cases) assertEquals(await source.primaryKey(table), key, table);
      // A rejected name inside a pinned snapshot leaves the snapshot usable.
      await source.pinSnapshot();
      assertEquals(await source.primaryKey("a b"), undefined);
      assertEquals(await source.primaryKey("two"), ["b", "a"]);
      const { batches } = await source.query({ text: "SELECT id FROM one", params: [] }, {
        batchRows: 10,
        throttleMs: 0,
      });
      for await (const _ of batches) { /* drain */ }
    } finally {
      await source.close();
    }
  });
});
