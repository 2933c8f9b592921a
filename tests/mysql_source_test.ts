import assert from "node:assert/strict";
import { EventEmitter } from "node:events";
import mysqlCallbacks from "mysql2";
import mysql from "mysql2/promise";
import { type Data, type DataType, type RecordBatch, type Schema, Type } from "apache-arrow";
import { RivetError, SourceError, TypeMappingError } from "../src/errors.ts";
import { openMysql } from "../src/source/mysql/mod.ts";
import {
  bindParams,
  findPlaceholders,
  mysqlDialect,
  parseSqlMode,
} from "../src/source/mysql/dialect.ts";
import { classifyErrno, toSourceError } from "../src/source/mysql/errors.ts";
import { wrapFloats } from "../src/source/mysql/floats.ts";
import { parseTableName } from "../src/source/mysql/primary_key.ts";
import { type MysqlField, resolveColumns } from "../src/source/mysql/types.ts";
import { createDecoders, valueError } from "../src/source/mysql/decode.ts";
import type { Source } from "../src/source/source.ts";
import type { TypedValue } from "../src/sql.ts";
import { incrementalQuery } from "../src/plan/incremental.ts";
import { captureLog } from "./support/log.ts";
import { MYSQL_SERVER, type MysqlTestDb, withMysqlDb } from "./support/mysql.ts";
import { openSource } from "../src/source/open.ts";
import { assertThrottled, timeBatches } from "./support/throttle.ts";

// ---------------------------------------------------------------------------------------------
// Helpers

/** Every batch of `sql`, plus the schema. */
async function readAll(
  source: Source,
  sql: string,
  params: TypedValue[] = [],
  batchRows = 1000,
): Promise<{ schema: Schema; batches: RecordBatch[] }> {
  const { schema, batches } = await source.query({ text: sql, params }, {
    batchRows,
    throttleMs: 0,
  });
  const all: RecordBatch[] = [];
  for await (const batch of batches) all.push(batch);
  return { schema, batches: all };
}

async function withSource<T>(db: MysqlTestDb, body: (source: Source) => Promise<T>): Promise<T> {
  const source = await openMysql(db.config());
  try {
    return await body(source);
  } finally {
    await source.close();
  }
}

// Reference renderings, written independently of rivet's writers.

function pad(n: number | bigint, width: number): string {
  return String(n).padStart(width, "0");
}

/** `YYYY-MM-DD` of days since 1970-01-01 (H. Hinnant's civil_from_days). */
function dateText(days: number): string {
  const z = days + 719468;
  const era = Math.floor(z / 146097);
  const doe = z - era * 146097;
  const yoe = Math.floor(
    (doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) -
      Math.floor(doe / 146096)) / 365,
  );
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const day = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const month = mp < 10 ? mp + 3 : mp - 9;
  return `${pad(yoe + era * 400 + (month <= 2 ? 1 : 0), 4)}-${pad(month, 2)}-${pad(day, 2)}`;
}

/** `HH:MM:SS.ffffff` of microseconds since midnight. */
function timeText(micros: bigint): string {
  const s = micros / 1_000_000n;
  return `${pad(s / 3600n, 2)}:${pad((s / 60n) % 60n, 2)}:${pad(s % 60n, 2)}.${
    pad(micros % 1_000_000n, 6)
  }`;
}

/** `YYYY-MM-DDTHH:MM:SS.ffffff` of microseconds since the epoch. */
function timestampText(micros: bigint): string {
  const day = 86_400_000_000n;
  let days = micros / day;
  let rem = micros % day;
  if (rem < 0n) {
    rem += day;
    days -= 1n;
  }
  return `${dateText(Number(days))}T${timeText(rem)}`;
}

/** Exact text of Decimal128 value `i` with `scale` fraction digits. */
function decimalText(words: Uint32Array, i: number, scale: number): string {
  let v = 0n;
  for (let k = 3; k >= 0; k--) v = (v << 32n) | BigInt(words[i * 4 + k]);
  if (v >= 1n << 127n) v -= 1n << 128n;
  const digits = (v < 0n ? -v : v).toString().padStart(scale + 1, "0");
  const cut = digits.length - scale;
  return `${v < 0n ? "-" : ""}${digits.slice(0, cut)}${scale > 0 ? `.${digits.slice(cut)}` : ""}`;
}

function hex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("").toUpperCase();
}

function isValid(data: Data, i: number): boolean {
  const bitmap = data.nullBitmap;
  if (!bitmap || data.nullCount === 0) return true;
  return (bitmap[(data.offset + i) >> 3] & (1 << ((data.offset + i) & 7))) !== 0;
}

/** A cell as text in the form the server's reference expression renders it (floats as numbers). */
function cell(data: Data, i: number): string | number | null {
  if (!isValid(data, i)) return null;
  const type = data.type as DataType;
  const values = data.values as ArrayLike<number | bigint>;
  switch (type.typeId) {
    case Type.Bool:
      return ((data.values as Uint8Array)[(data.offset + i) >> 3] >> ((data.offset + i) & 7)) & 1
        ? "1"
        : "0";
    case Type.Int:
      return String(values[i]);
    case Type.Float:
      return Number(values[i]);
    case Type.Decimal:
      return decimalText(
        data.values as Uint32Array,
        i,
        (type as unknown as { scale: number }).scale,
      );
    case Type.Date:
      return dateText(Number(values[i]));
    case Type.Timestamp:
      return timestampText(BigInt(values[i]));
    // The TIME samples here are all times of day; tests/mysql_time_spatial_test.ts covers the rest.
    case Type.Time:
    case Type.Duration:
      return timeText(BigInt(values[i]));
    case Type.Utf8:
    case Type.Binary: {
      const offsets = data.valueOffsets as Int32Array;
      const bytes = (data.values as Uint8Array).subarray(offsets[i], offsets[i + 1]);
      return type.typeId === Type.Utf8 ? new TextDecoder().decode(bytes) : hex(bytes);
    }
    default:
      throw new Error(`unexpected type ${type}`);
  }
}

/** All rows of `batches` as cells, column by column per row. */
function rowsOf(batches: RecordBatch[]): (string | number | null)[][] {
  const rows: (string | number | null)[][] = [];
  for (const batch of batches) {
    const columns = batch.schema.fields.map((_, c) => batch.getChildAt(c)!.data[0]);
    for (let r = 0; r < batch.numRows; r++) rows.push(columns.map((d) => cell(d, r)));
  }
  return rows;
}

async function expectRejects<E extends Error>(
  promise: Promise<unknown>,
  type: new (...args: never[]) => E,
  check: (error: E) => void,
): Promise<void> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof type, `expected ${type.name}, got ${error}`);
    check(error);
    return;
  }
  assert.fail(`expected ${type.name}, but it resolved`);
}

async function drain(source: Source, sql: string, batchRows = 1000): Promise<number> {
  const { batches } = await readAll(source, sql, [], batchRows);
  return batches.reduce((n, b) => n + b.numRows, 0);
}

/**
 * Waits until no server thread runs a statement containing `marker`; false once `ms` have passed.
 * The server is always asked at least once, so `ms = 0` checks the present state.
 */
async function queryGone(db: MysqlTestDb, marker: string, ms = 5_000): Promise<boolean> {
  const deadline = Date.now() + ms;
  for (;;) {
    const [[count]] = await db.textRows(
      `SELECT COUNT(*) FROM information_schema.PROCESSLIST ` +
        `WHERE INFO LIKE '%${marker}%' AND ID <> CONNECTION_ID()`,
    );
    if (count === "0") return true;
    if (Date.now() >= deadline) return false;
    await new Promise((r) => setTimeout(r, 50));
  }
}

// ---------------------------------------------------------------------------------------------
// Every type

const ALL_TYPES = `
CREATE TABLE t (
  id INT PRIMARY KEY,
  b1 TINYINT(1), ti TINYINT, tiu TINYINT UNSIGNED, si SMALLINT, siu SMALLINT UNSIGNED,
  mi MEDIUMINT, miu MEDIUMINT UNSIGNED, i INT, iu INT UNSIGNED, bi BIGINT, biu BIGINT UNSIGNED,
  f FLOAT, d DOUBLE,
  dec10 DECIMAL(10,2), dec38 DECIMAL(38,10), dec65 DECIMAL(65,30), dec55 DECIMAL(5,5),
  decu DECIMAL(20,0) UNSIGNED,
  c CHAR(10), vc VARCHAR(50), tx TEXT, lat VARCHAR(10) CHARACTER SET latin1,
  bn BINARY(4), vb VARBINARY(16), bl BLOB,
  dt DATE, dtm DATETIME, dtm3 DATETIME(3), dtm6 DATETIME(6), ts TIMESTAMP NULL,
  ts6 TIMESTAMP(6) NULL, tm TIME, tm6 TIME(6), y YEAR,
  bit1 BIT(1), bit12 BIT(12), bit64 BIT(64),
  e ENUM('small','médium','😀'), st SET('a','b','c'), j JSON
);
INSERT INTO t VALUES
(1, 1, 127, 255, 32767, 65535, 8388607, 16777215, 2147483647, 4294967295,
 9223372036854775807, 18446744073709551615, 3.40282e38, 1.7976931348623157e308,
 99999999.99, 9999999999999999999999999999.9999999999,
 99999999999999999999999999999999999.999999999999999999999999999999, 0.99999,
 99999999999999999999,
 'abc', 'it''s 😀 ok', 'line1\\nline2 — 中文 🎉', 'é',
 X'00000000', X'00FF00', X'DEADBEEF00',
 '9999-12-31', '9999-12-31 23:59:59', '2024-02-29 12:00:00.123', '9999-12-31 23:59:59.999999',
 '2038-01-19 03:14:07', '2038-01-19 03:14:07.999999', '23:59:59', '23:59:59.999999', 2155,
 b'1', b'111111111111', b'1111111111111111111111111111111111111111111111111111111111111111',
 '😀', 'a,c', '{"k": [1, 2.5, "x"]}'),
(2, 0, -128, 0, -32768, 0, -8388608, 0, -2147483648, 0,
 -9223372036854775808, 0, -1.17549e-38, -2.2250738585072014e-308,
 -99999999.99, -9999999999999999999999999999.9999999999,
 -99999999999999999999999999999999999.999999999999999999999999999999, -0.99999, 0,
 '', '', '', '',
 X'', X'', X'',
 '1000-01-01', '1000-01-01 00:00:00', '1969-12-31 23:59:59.999', '1000-01-01 00:00:00.000000',
 '1970-01-01 00:00:01', '1970-01-01 00:00:01.000001', '00:00:00', '00:00:00.000001', 1901,
 b'0', b'0', b'0', 'small', '', '[]'),
(3, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
 NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
 NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
(4, 1, 0, 1, 0, 1, 0, 1, 0, 1, 9007199254740993, 9223372036854775808, 1.2345678,
 0.30000000000000004, 0.01, -0.0000000001, 0.000000000000000000000000000001, 0.00001, 1,
 'x😀y', CONCAT('a', CHAR(0), 'b'), REPEAT('long ', 100), 'ü',
 X'01', X'000000', X'00',
 '1970-01-01', '1970-01-01 00:00:00', '1970-01-01 00:00:00.001', '1970-01-01 00:00:00.000001',
 '2024-06-01 12:34:56', '2024-06-01 12:34:56.654321', '12:34:56', '12:34:56.5', 2000,
 b'1', b'101', b'1000000000000000000000000000000000000000000000000000000000000000',
 'médium', 'b', '"just a string"'),
(5, 0, -1, 2, -2, 3, -3, 4, -4, 5, -9007199254740993, 12345678901234567890, 0,
 5e-324, -0.5, 0, 0, 0, 12345678901234567890,
 ' pad', 'tab\\there', 'x', 'x', X'FF', X'FF', X'FF',
 '2000-02-29', '1999-12-31 23:59:59', '2000-01-01 00:00:00.5', '2000-01-01 00:00:00.000500',
 '2000-01-01 00:00:00', '2000-01-01 00:00:00.100000', '08:00:00', '00:00:59.999999', 1999,
 b'0', b'100000000000', b'0111111111111111111111111111111111111111111111111111111111111111',
 'small', 'a,b,c', '{}');
`;

/** Per column: the Arrow type, `rivet.source_type`, and the server expression for its text. */
const COLUMNS: [name: string, arrow: string, sourceType: string, reference?: string][] = [
  ["id", "Int32", "int"],
  ["b1", "Bool", "tinyint(1)"],
  ["ti", "Int16", "tinyint"],
  ["tiu", "Int16", "tinyint unsigned"],
  ["si", "Int16", "smallint"],
  ["siu", "Int32", "smallint unsigned"],
  ["mi", "Int32", "mediumint"],
  ["miu", "Int32", "mediumint unsigned"],
  ["i", "Int32", "int"],
  ["iu", "Int64", "int unsigned"],
  ["bi", "Int64", "bigint"],
  ["biu", "Uint64", "bigint unsigned"],
  // FLOAT is read widened to DOUBLE: the reference is the exact value, not the 6-digit text.
  ["f", "Float32", "float", "CAST(f AS DOUBLE)"],
  ["d", "Float64", "double"],
  ["dec10", "Decimal[10e+2]", "decimal(10,2)"],
  ["dec38", "Decimal[38e+10]", "decimal(38,10)"],
  ["dec65", "Utf8", "decimal(65,30)"],
  ["dec55", "Decimal[5e+5]", "decimal(5,5)"],
  ["decu", "Decimal[20e0]", "decimal(20,0) unsigned"],
  ["c", "Utf8", "char"],
  ["vc", "Utf8", "varchar"],
  ["tx", "Utf8", "text"],
  ["lat", "Utf8", "varchar"],
  ["bn", "Binary", "binary", "HEX(bn)"],
  ["vb", "Binary", "varbinary", "HEX(vb)"],
  ["bl", "Binary", "blob", "HEX(bl)"],
  ["dt", "Date32<DAY>", "date"],
  ["dtm", "Timestamp<MICROSECOND>", "datetime", "DATE_FORMAT(dtm, '%Y-%m-%dT%H:%i:%s.%f')"],
  ["dtm3", "Timestamp<MICROSECOND>", "datetime(3)", "DATE_FORMAT(dtm3, '%Y-%m-%dT%H:%i:%s.%f')"],
  ["dtm6", "Timestamp<MICROSECOND>", "datetime(6)", "DATE_FORMAT(dtm6, '%Y-%m-%dT%H:%i:%s.%f')"],
  ["ts", "Timestamp<MICROSECOND, UTC>", "timestamp", "DATE_FORMAT(ts, '%Y-%m-%dT%H:%i:%s.%f')"],
  [
    "ts6",
    "Timestamp<MICROSECOND, UTC>",
    "timestamp(6)",
    "DATE_FORMAT(ts6, '%Y-%m-%dT%H:%i:%s.%f')",
  ],
  ["tm", "Duration<MICROSECOND>", "time", "TIME_FORMAT(tm, '%H:%i:%s.%f')"],
  ["tm6", "Duration<MICROSECOND>", "time(6)", "TIME_FORMAT(tm6, '%H:%i:%s.%f')"],
  ["y", "Int16", "year"],
  ["bit1", "Bool", "bit(1)", "CAST(bit1 AS UNSIGNED)"],
  ["bit12", "Int64", "bit(12)", "CAST(bit12 AS UNSIGNED)"],
  ["bit64", "Uint64", "bit(64)", "CAST(bit64 AS UNSIGNED)"],
  ["e", "Utf8", "enum"],
  ["st", "Utf8", "set"],
  // MariaDB stores JSON as LONGTEXT (MySQL 8 reports type JSON: same Utf8, plus arrow.json).
  ["j", "Utf8", "text"],
];

Deno.test("mysql source: every type matches the server's own text, NULLs included", async () => {
  await withMysqlDb(ALL_TYPES, async (db) => {
    const names = COLUMNS.map(([n]) => n);
    const references = COLUMNS.map(([n, , , ref]) => ref ?? `CAST(${n} AS CHAR)`);
    const expected = await db.textRows(`SELECT ${references.join(", ")} FROM t ORDER BY id`);
    await withSource(db, async (source) => {
      const { schema, batches } = await readAll(
        source,
        `SELECT ${names.join(", ")} FROM t ORDER BY id`,
        [],
        2,
      );
      assert.deepEqual(batches.map((b) => b.numRows), [2, 2, 1]);
      assert.deepEqual(
        schema.fields.map((f) => [f.name, String(f.type), f.metadata.get("rivet.source_type")]),
        COLUMNS.map(([n, arrow, sourceType]) => [n, arrow, sourceType]),
      );
      assert.equal(schema.fields[16].metadata.get("rivet.logical_type"), "decimal");
      assert.ok(schema.fields.every((f) => f.nullable));
      const actual = rowsOf(batches);
      assert.equal(actual.length, expected.length);
      for (let r = 0; r < expected.length; r++) {
        for (let c = 0; c < names.length; c++) {
          const want = expected[r][c];
          const got = actual[r][c];
          const where = `row ${r + 1} column ${names[c]}`;
          if (typeof got === "number") {
            assert.ok(want !== null, where);
            assert.ok(Object.is(got, Number(want)), `${where}: ${got} vs ${want}`);
          } else {
            assert.equal(got, want, where);
          }
        }
      }
      // Row 3 is all NULL except the key.
      assert.ok(actual[2].slice(1).every((v) => v === null));
      // Spot checks against literal values, independent of the server's formatting.
      const column = (name: string) => names.indexOf(name);
      assert.equal(actual[0][column("biu")], "18446744073709551615");
      assert.equal(actual[3][column("biu")], "9223372036854775808");
      assert.equal(actual[4][column("bi")], "-9007199254740993");
      assert.equal(actual[3][column("bi")], "9007199254740993");
      assert.equal(actual[3][column("f")], 1.2345677614212036); // the server prints 1.23457
      assert.equal(actual[0][column("d")], 1.7976931348623157e308);
      assert.equal(actual[3][column("d")], 0.30000000000000004);
      assert.equal(actual[4][column("d")], 5e-324);
      assert.equal(actual[0][column("vc")], "it's 😀 ok");
      assert.equal(actual[3][column("vc")], "a\0b");
      assert.equal(actual[0][column("bn")], "00000000");
      assert.equal(actual[3][column("bl")], "00");
      assert.equal(actual[0][column("dtm6")], "9999-12-31T23:59:59.999999");
      assert.equal(actual[3][column("dtm6")], "1970-01-01T00:00:00.000001");
      assert.equal(actual[1][column("dtm3")], "1969-12-31T23:59:59.999000");
      assert.equal(actual[0][column("ts6")], "2038-01-19T03:14:07.999999");
      assert.equal(actual[0][column("dec38")], "9999999999999999999999999999.9999999999");
      assert.equal(actual[1][column("dec38")], "-9999999999999999999999999999.9999999999");
      assert.equal(
        actual[0][column("dec65")],
        "99999999999999999999999999999999999.999999999999999999999999999999",
      );
      assert.equal(actual[0][column("bit64")], "18446744073709551615");
      assert.equal(actual[4][column("bit64")], "9223372036854775807");
      assert.equal(actual[0][column("e")], "😀");
    });
  });
});

Deno.test("mysql source: expressions, an untyped NULL and an empty result", async () => {
  await withMysqlDb("CREATE TABLE t (x INT)", async (db) => {
    await withSource(db, async (source) => {
      const { schema, batches } = await readAll(
        source,
        "SELECT NULL AS n, 1.5e0 AS dbl, 12.50 AS lit, CAST(-1 AS UNSIGNED) AS u, 'é' AS s",
      );
      assert.deepEqual(schema.fields.map((f) => String(f.type)), [
        "Utf8",
        "Float64",
        "Decimal[4e+2]",
        "Uint64",
        "Utf8",
      ]);
      assert.deepEqual(rowsOf(batches), [[null, 1.5, "12.50", "18446744073709551615", "é"]]);
      const empty = await readAll(source, "SELECT x FROM t");
      assert.equal(empty.schema.fields[0].name, "x");
      assert.equal(empty.batches.length, 0);
    });
  });
});

Deno.test("mysql source: batches are cut at batchRows, with throttling", async () => {
  await withMysqlDb(
    `SET SESSION max_recursive_iterations = 1000000;
     CREATE TABLE t (id INT PRIMARY KEY, v VARCHAR(20));
     INSERT INTO t WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < 2500)
     SELECT n, CONCAT('v', n) FROM s;`,
    async (db) => {
      await withSource(db, async (source) => {
        const { batches } = await source.query(
          { text: "SELECT id, v FROM t ORDER BY id", params: [] },
          { batchRows: 1000, throttleMs: 20 },
        );
        const sizes: number[] = [];
        let next = 1;
        for await (const batch of batches) {
          sizes.push(batch.numRows);
          for (const row of rowsOf([batch])) assert.deepEqual(row, [String(next), `v${next++}`]);
        }
        assert.deepEqual(sizes, [1000, 1000, 500]);
      });
    },
  );
});

// ---------------------------------------------------------------------------------------------
// Bound parameters

Deno.test("mysql source: bound parameters compare exactly", async () => {
  await withMysqlDb(
    `CREATE TABLE u (v BIGINT UNSIGNED);
     INSERT INTO u VALUES (9223372036854775807), (9223372036854775808), (9223372036854775809),
       (18446744073709551614), (18446744073709551615);
     CREATE TABLE s (v BIGINT);
     INSERT INTO s VALUES (9007199254740992), (9007199254740993), (-9007199254740993);
     CREATE TABLE x (v VARCHAR(20));
     INSERT INTO x VALUES ('it''s'), ('a\\\\b'), ('plain'), ('what?');
     CREATE TABLE m (v DATETIME(6), z TIMESTAMP(6) NULL, d DATE, n DECIMAL(65,30));
     INSERT INTO m VALUES
       ('2024-01-02 03:04:05.123456', '2024-01-02 03:04:05.123456', '2024-01-02',
        1.000000000000000000000000000001),
       ('2024-01-02 03:04:05.123457', '2024-01-02 03:04:05.123457', '2024-01-03',
        1.000000000000000000000000000002);`,
    async (db) => {
      await withSource(db, async (source) => {
        const values = async (sql: string, param: TypedValue) =>
          rowsOf((await readAll(source, sql, [param])).batches).map((r) => r[0]);
        assert.deepEqual(
          await values("SELECT v FROM u WHERE v > ? ORDER BY v", {
            kind: "int",
            text: "9223372036854775808",
          }),
          ["9223372036854775809", "18446744073709551614", "18446744073709551615"],
        );
        // As doubles both sides would be 1.8446744073709552e19: only an exact compare finds it.
        assert.deepEqual(
          await values("SELECT v FROM u WHERE v > ?", {
            kind: "int",
            text: "18446744073709551614",
          }),
          ["18446744073709551615"],
        );
        assert.deepEqual(
          await values("SELECT v FROM s WHERE v > ?", { kind: "int", text: "9007199254740992" }),
          ["9007199254740993"],
        );
        assert.deepEqual(
          await values("SELECT v FROM s WHERE v < ?", { kind: "int", text: "-9007199254740992" }),
          ["-9007199254740993"],
        );
        assert.deepEqual(
          await values("SELECT v FROM x WHERE v = ?", { kind: "text", text: "it's" }),
          ["it's"],
        );
        assert.deepEqual(
          await values("SELECT v FROM x WHERE v = ?", { kind: "text", text: "a\\b" }),
          ["a\\b"],
        );
        // A `?` inside a user's string literal or comment is not a placeholder.
        assert.deepEqual(
          await values(
            "SELECT v FROM (SELECT v FROM x WHERE v <> 'huh?' -- why?\n) AS _rivet WHERE v > ? ORDER BY v",
            { kind: "text", text: "plain" },
          ),
          ["what?"],
        );
        assert.deepEqual(
          await values("SELECT v FROM m WHERE v > ?", {
            kind: "timestamp",
            text: "2024-01-02T03:04:05.123456",
          }),
          ["2024-01-02T03:04:05.123457"],
        );
        assert.deepEqual(
          await values("SELECT z FROM m WHERE z > ?", {
            kind: "timestamptz",
            text: "2024-01-02T03:04:05.123456Z",
          }),
          ["2024-01-02T03:04:05.123457"],
        );
        assert.deepEqual(
          await values("SELECT d FROM m WHERE d > ?", { kind: "date", text: "2024-01-02" }),
          ["2024-01-03"],
        );
        assert.deepEqual(
          await values("SELECT n FROM m WHERE n > ?", {
            kind: "decimal",
            text: "1.000000000000000000000000000001",
          }),
          ["1.000000000000000000000000000002"],
        );
      });
    },
  );
});

Deno.test("mysql errors: server error numbers and driver codes map to retry classes", () => {
  const cases: [number, string][] = [
    [1045, "auth"],
    [1044, "auth"],
    [1142, "auth"],
    [1227, "auth"],
    [1049, "permanent"],
    [1146, "permanent"],
    [1054, "permanent"],
    [1064, "permanent"],
    [1205, "timeout"],
    [3024, "timeout"],
    [1969, "timeout"],
    [1213, "deadlock"],
    [1040, "capacity"],
    [1053, "capacity"],
    [2006, "disconnect"],
    [2013, "disconnect"],
  ];
  for (const [errno, retryClass] of cases) {
    assert.equal(classifyErrno(errno), retryClass, String(errno));
    const error = toSourceError({ message: "x", errno, code: "ER_X", sqlState: "HY000" });
    assert.ok(error instanceof SourceError);
    assert.equal(error.retryClass, retryClass);
    assert.equal(error.code, String(errno));
  }
  const drivers: [string, number | undefined, string][] = [
    ["PROTOCOL_CONNECTION_LOST", undefined, "disconnect"],
    ["ECONNREFUSED", -111, "network"],
    ["ECONNRESET", -104, "network"],
    ["ETIMEDOUT", undefined, "network"],
    ["ENOTFOUND", -3008, "network"],
    ["EPIPE", -32, "network"],
  ];
  for (const [code, errno, retryClass] of drivers) {
    const error = toSourceError({ message: `boom ${code}`, code, errno });
    assert.ok(error instanceof SourceError);
    assert.equal(error.retryClass, retryClass, code);
    assert.equal(error.code, code);
  }
  const masked = toSourceError(
    { message: "Access denied for user 'u' (using password: hunter2!)", errno: 1045 },
    { context: "cannot connect", password: "hunter2!" },
  );
  assert.equal(
    masked.message,
    "MySQL: cannot connect: Access denied for user 'u' (using password: ***) (error 1045)",
  );
});

Deno.test("mysql dialect: placeholders follow the session's sql_mode", () => {
  const normal = parseSqlMode("STRICT_TRANS_TABLES");
  const noEscapes = parseSqlMode("STRICT_TRANS_TABLES,NO_BACKSLASH_ESCAPES");
  const ansi = parseSqlMode("ANSI");
  const sql = "SELECT 'it\\'s ?', \"x?\", `q?`, 'a''?' # ?\n /* ? */ /*! ? */ -- ?\n ? --x?";
  // Default mode: only the executable comment, the bare `?` and the one after `--x` count.
  assert.equal(findPlaceholders(sql, normal).length, 3);
  // Without backslash escapes 'it\' is a whole string: the quotes pair up differently.
  assert.equal(findPlaceholders(sql, noEscapes).length, 2);
  assert.equal(findPlaceholders(sql, ansi).length, 3);
  assert.equal(ansi.ansiQuotes, true);
  assert.equal(
    bindParams({
      text: "SELECT * FROM t WHERE a > ? AND b = ?",
      params: [
        { kind: "int", text: "18446744073709551615" },
        { kind: "text", text: "é'" },
      ],
    }, normal),
    "SELECT * FROM t WHERE a > 18446744073709551615 AND b = _utf8mb4 X'c3a927'",
  );
  assert.throws(
    () => bindParams({ text: "SELECT ?, ?", params: [{ kind: "int", text: "1" }] }, normal),
    RivetError,
  );
  assert.throws(
    () => bindParams({ text: "SELECT ?", params: [{ kind: "int", text: "1 OR 1=1" }] }, normal),
    RivetError,
  );
  assert.equal(
    bindParams({ text: "SELECT ?", params: [{ kind: "float", text: "0.1" }] }, normal),
    "SELECT 1e-1",
  );
});

// ---------------------------------------------------------------------------------------------
// FLOAT, read exactly

function field(name: string, columnType: number): MysqlField {
  return { name, columnType, flags: 0, decimals: 31 };
}

Deno.test("mysql source: the FLOAT wrapper keeps columns and repeats the top-level ORDER BY", () => {
  const mode = parseSqlMode("");
  const fields = [field("id", 3), field("f", 4), field("Tag", 253)];
  const wrap = (sql: string, m = mode) => wrapFloats(sql, fields, m);
  const plan = wrap("SELECT id, f, tag FROM t");
  assert.equal(
    plan.sql,
    "SELECT `id`, `f` * 1e0 AS `f`, `Tag` FROM (SELECT id, f, tag FROM t\n) AS _rivet_f",
  );
  assert.deepEqual([...plan.widened.keys()], [1]);
  assert.equal(plan.fallback, undefined);
  // Without a FLOAT column the query runs as written.
  const plain = wrapFloats("SELECT id FROM t", [field("id", 3), field("d", 5)], mode);
  assert.deepEqual(plain, { sql: "SELECT id FROM t", widened: new Map() });

  const outer = (sql: string, m = mode) => {
    const p = wrap(sql, m);
    assert.equal(p.fallback, undefined, sql);
    assert.ok(p.sql.startsWith(`SELECT \`id\`, \`f\` * 1e0 AS \`f\`, \`Tag\` FROM (${sql}\n)`));
    return p.sql.slice(p.sql.indexOf("\n) AS _rivet_f") + "\n) AS _rivet_f".length);
  };
  const cases: [string, string][] = [
    ["SELECT * FROM t ORDER BY id DESC, 3", " ORDER BY `id` DESC, `Tag`"],
    ["SELECT * FROM t ORDER BY `f` asc LIMIT 10", " ORDER BY `f` ASC"],
    ["SELECT * FROM t order by TAG, F desc for update", " ORDER BY `Tag`, `f` DESC"],
    ["SELECT * FROM t ORDER BY id LIMIT 5 OFFSET 2", " ORDER BY `id`"],
    // The incremental wrapper (incrementalQuery), a bound cursor inside.
    [
      "SELECT * FROM (SELECT * FROM t ORDER BY f\n) AS _rivet WHERE `id` > 42 ORDER BY `id`",
      " ORDER BY `id`",
    ],
    // Parentheses around the whole query do not hide its ORDER BY.
    ["((SELECT * FROM t ORDER BY id DESC))", " ORDER BY `id` DESC"],
    ["SELECT * FROM t /*!ORDER BY id DESC */", " ORDER BY `id` DESC"],
    // No order at the top level: ORDER BY in parentheses, strings and comments.
    ["(SELECT * FROM t ORDER BY id LIMIT 1) UNION (SELECT * FROM t ORDER BY f LIMIT 1)", ""],
    [
      "SELECT id, ROW_NUMBER() OVER (ORDER BY f) AS f, " +
      "(SELECT MAX(x) FROM u GROUP BY y ORDER BY y LIMIT 1) AS tag FROM t",
      "",
    ],
    ["SELECT 'ORDER BY id', id -- ORDER BY f\nFROM t # ORDER BY f\n/* ORDER BY f */", ""],
    [`SELECT "it\\"s ORDER BY id" FROM t`, ""],
  ];
  for (const [sql, orderBy] of cases) assert.equal(outer(sql), orderBy, sql);
  // Under ANSI_QUOTES "id" is a column; otherwise it is a string.
  assert.equal(outer(`SELECT * FROM t ORDER BY "id"`, parseSqlMode("ANSI")), " ORDER BY `id`");

  // An order that cannot be repeated outside: the query runs as written, with the reason.
  for (
    const sql of [
      `SELECT * FROM t ORDER BY "id"`,
      "SELECT * FROM t ORDER BY t.id",
      "SELECT * FROM t ORDER BY id + 0",
      "SELECT * FROM t ORDER BY nope",
      "SELECT * FROM t ORDER BY 4",
      "SELECT * FROM t ORDER BY RAND()",
      "SELECT * FROM t ORDER BY id COLLATE utf8mb4_bin",
    ]
  ) {
    const p = wrap(sql);
    assert.equal(p.sql, sql);
    assert.equal(p.widened.size, 0);
    assert.match(p.fallback ?? "", /^its ORDER BY .*derived table does not keep the order/, sql);
  }
  assert.match(wrap("SELECT * FROM t ORDER BY nope").fallback!, /uses nope, which is not a result/);
  // A name a derived table might not keep (longer than a column name may be).
  const long = wrapFloats("SELECT ...", [field("x".repeat(65), 3), field("f", 4)], mode);
  assert.deepEqual(long.sql, "SELECT ...");
  assert.match(long.fallback!, /needs an alias of at most 64 characters/);
  assert.equal(wrapFloats("SELECT ...", [field("é".repeat(64), 4)], mode).fallback, undefined);
});

Deno.test("mysql source: a widened FLOAT is resolved as float and decoded to the exact float32", () => {
  const declared = new Map([[0, { ...field("f", 4), flags: 32 }]]);
  const [column] = resolveColumns([field("f", 5)], declared);
  assert.deepEqual(column, {
    name: "f",
    sourceType: "float unsigned",
    kind: "float32",
    precision: 0,
    scale: 0,
    widened: true,
  });
  // Arriving as anything but DOUBLE, the column is what it says it is.
  assert.equal(resolveColumns([field("f", 4)], declared)[0].widened, undefined);
  assert.equal(resolveColumns([field("f", 3)], declared)[0].kind, "int32");

  const { schema, decoders } = createDecoders([column]);
  assert.equal(String(schema.fields[0].type), "Float32");
  const bytes = (text: string) => new TextEncoder().encode(text);
  const values: number[] = [];
  for (const text of ["1.2345677614212036", "1.23456776142120", "-0", "3.4028234663852886e38"]) {
    decoders[0].decode(bytes(text), 0, bytes(text).length);
  }
  const data = decoders[0].builder.finish();
  for (let i = 0; i < 4; i++) values.push(Number((data.values as Float32Array)[i]));
  // 15 significant digits still name the float32 exactly; the sign of zero is kept.
  assert.deepEqual(values, [1.2345677614212036, 1.2345677614212036, -0, 3.4028234663852886e38]);
  // Every float32, printed as the server prints it widened (the double's shortest text, up to 17
  // digits, with an exponent out of the fixed range): random bit patterns, subnormals included.
  const random = createDecoders([column]).decoders[0];
  const bits = new DataView(new ArrayBuffer(4));
  const expected: number[] = [];
  while (expected.length < 20_000) {
    bits.setUint32(0, (Math.random() * 2 ** 32) >>> 0);
    const f = bits.getFloat32(0);
    if (!Number.isFinite(f)) continue;
    expected.push(f);
    const text = bytes(String(f));
    random.decode(text, 0, text.length);
  }
  const decoded = random.builder.finish().values as Float32Array;
  expected.forEach((f, i) => assert.ok(Object.is(decoded[i], f), `${f} read as ${decoded[i]}`));
  // The 6-digit text of a FLOAT, or a double beyond float32, is not silently rounded.
  for (const text of ["1.23457", "3.5e38", "1e-50"]) {
    let error: unknown;
    try {
      decoders[0].decode(bytes(text), 0, bytes(text).length);
    } catch (e) {
      error = valueError(column, bytes(text), e);
    }
    assert.ok(error instanceof TypeMappingError, text);
    assert.match(
      error.message,
      /^column f \(float unsigned\) holds '.*': a value that is not a single-precision float.*CAST\(f AS DOUBLE\)/,
    );
  }
});

const FLOATS = `
CREATE TABLE fl (
  id INT PRIMARY KEY, f FLOAT, fu FLOAT UNSIGNED, f74 FLOAT(7,4), f53 FLOAT(53), v VARCHAR(10)
);
INSERT INTO fl VALUES
  (1, 1.2345678, 16777217, 1.2346, 1.2345678, 'e'),
  (2, 3.4028234663852886e38, 0.1, -0.0001, 0.1, 'f'),
  (3, NULL, NULL, NULL, NULL, NULL),
  (4, -2.5, 123456.789, 123.4567, -2.5, 'a'),
  (5, 16777217, 1.401298464324817e-45, 0, 16777217, 'c'),
  (6, 0.1, 3.4028234663852886e38, 999.9999, 0.1, 'b');
`;

/** Exact values by id: FLOATs as the server widens them to DOUBLE (its FLOAT text is rounded). */
async function exactFloats(db: MysqlTestDb): Promise<Map<string, (number | null)[]>> {
  const rows = await db.textRows(
    "SELECT id, CAST(f AS DOUBLE), CAST(fu AS DOUBLE), CAST(f74 AS DOUBLE), f53 FROM fl",
  );
  return new Map(rows.map(([id, ...v]) => [id!, v.map((x) => (x === null ? null : Number(x)))]));
}

Deno.test("mysql source: FLOAT columns are exact, typed float, in the query's order", async () => {
  await withMysqlDb(FLOATS, async (db) => {
    const exact = await exactFloats(db);
    assert.deepEqual(exact.get("1"), [1.2345677614212036, 16777216, 1.2345999479293823, 1.2345678]);
    // The server's own FLOAT text is rounded.
    assert.deepEqual(await db.textRows("SELECT f, fu FROM fl WHERE id = 1"), [[
      "1.23457",
      "16777200",
    ]]);
    const lines = await captureLog("debug", async () => {
      await withSource(db, async (source) => {
        const { schema, batches } = await readAll(
          source,
          "SELECT id, f, fu, f74, f53, v FROM fl ORDER BY v DESC",
          [],
          4,
        );
        assert.deepEqual(
          schema.fields.map((f) => [f.name, String(f.type), f.metadata.get("rivet.source_type")]),
          [
            ["id", "Int32", "int"],
            ["f", "Float32", "float"],
            ["fu", "Float32", "float unsigned"],
            ["f74", "Float32", "float"],
            ["f53", "Float64", "double"],
            ["v", "Utf8", "varchar"],
          ],
        );
        const rows = rowsOf(batches);
        assert.deepEqual(rows.map((r) => r[0]), ["2", "1", "5", "6", "4", "3"]);
        for (const [id, ...values] of rows) {
          values.slice(0, 4).forEach((got, c) => {
            const want = exact.get(id as string)![c];
            assert.ok(Object.is(got, want), `id ${id} column ${c + 1}: ${got} vs ${want}`);
          });
        }
        // Order, NULLs and exact values hold whatever the shape of the query's ORDER BY.
        const queries = [
          "SELECT id, f FROM fl ORDER BY 2 DESC",
          "((SELECT id, f FROM fl ORDER BY F DESC))",
          "SELECT id AS `the ``id```, f FROM fl ORDER BY `THE ``ID``` DESC",
          "SELECT id, f FROM fl ORDER BY f DESC LIMIT 4",
          "SELECT id, MAX(f) AS f FROM fl GROUP BY id ORDER BY id DESC",
          "SELECT id, f FROM fl WHERE id < 3 UNION ALL SELECT id, f FROM fl WHERE id >= 3 " +
          "ORDER BY f",
          "WITH w AS (SELECT id, f FROM fl) SELECT * FROM w ORDER BY f, id -- the end",
          "SELECT id, f FROM fl ORDER BY id DESC; \n",
        ];
        for (const sql of queries) {
          const order = (await db.textRows(sql)).map((r) => r[0]);
          const got = rowsOf((await readAll(source, sql, [], 2)).batches);
          assert.deepEqual(got.map((r) => r[0]), order, sql);
          for (const [id, f] of got) assert.ok(Object.is(f, exact.get(id as string)![0]), sql);
        }
      });
    });
    assert.deepEqual(lines.filter((l) => l.includes(" WARN ")), []);
    // Binary rows carry each FLOAT as its four bytes: the query runs as written.
    const statements = lines.filter((l) => l.includes("DEBUG MySQL ("));
    assert.match(
      statements[0],
      /binary rows: SELECT id, f, fu, f74, f53, v FROM fl ORDER BY v DESC\n$/,
    );
  });
});

Deno.test("mysql source: a FLOAT query with bound parameters (incremental) is exact", async () => {
  await withMysqlDb(FLOATS, async (db) => {
    const exact = await exactFloats(db);
    const base = "SELECT id, f FROM fl";
    const lines = await captureLog("debug", async () => {
      await withSource(db, async (source) => {
        const first = incrementalQuery(base, "id", undefined, mysqlDialect);
        const all = rowsOf((await readAll(source, first.text, first.params, 2)).batches);
        assert.deepEqual(all.map((r) => r[0]), ["1", "2", "3", "4", "5", "6"]);
        const next = incrementalQuery(base, "id", { kind: "int", text: "3" }, mysqlDialect);
        const rows = rowsOf((await readAll(source, next.text, next.params, 2)).batches);
        assert.deepEqual(rows.map((r) => r[0]), ["4", "5", "6"]);
        for (const [id, f] of [...all, ...rows]) {
          assert.ok(Object.is(f, exact.get(id as string)![0]), `id ${id}`);
        }
        // The FLOAT column itself as the cursor: ordered and compared as the stored value.
        const byF = incrementalQuery(base, "f", { kind: "float", text: "1.2345678" }, mysqlDialect);
        assert.deepEqual(
          rowsOf((await readAll(source, byF.text, byF.params)).batches),
          [["5", 16777216], ["2", 3.4028234663852886e38]],
        );
        // The query runs once.
        await readAll(source, "SELECT @n := 0 AS n");
        await readAll(source, "SELECT id, f, @n := @n + 1 AS k FROM fl ORDER BY id");
        assert.deepEqual(rowsOf((await readAll(source, "SELECT @n AS n")).batches), [["6"]]);
      });
    });
    assert.deepEqual(lines.filter((l) => l.includes(" WARN ")), []);
    const statements = lines.filter((l) => l.includes("DEBUG MySQL ("));
    assert.ok(
      statements[1].endsWith(
        "binary rows: SELECT * FROM (SELECT id, f FROM fl\n) AS _rivet WHERE `id` > 3 ORDER BY `id`\n",
      ),
      statements[1],
    );
  });
});

Deno.test("mysql source: FLOAT columns of a query no derived table takes are exact, unannounced", async () => {
  await withMysqlDb(FLOATS, async (db) => {
    const exact = await exactFloats(db);
    const run = async (sql: string) => {
      let rows: (string | number | null)[][] = [];
      const lines = await captureLog("warn", () =>
        withSource(db, async (source) => {
          rows = rowsOf((await readAll(source, sql)).batches);
        }));
      return { rows, lines };
    };
    // A derived table rejects duplicate column names; the text protocol's FLOAT would need one.
    const dup = await run(
      "SELECT a.id, b.id, a.f, b.fu FROM fl a JOIN fl b ON a.id = b.id ORDER BY a.id",
    );
    assert.deepEqual(dup.lines, []);
    assert.deepEqual(dup.rows.map((r) => r[0]), ["1", "2", "3", "4", "5", "6"]);
    for (const [id, , f, fu] of dup.rows) {
      const [wantF, wantFu] = exact.get(id as string)!;
      assert.ok(Object.is(f, wantF) && Object.is(fu, wantFu), `id ${id}: ${f}, ${fu}`);
    }
    assert.equal(dup.rows[0][2], 1.2345677614212036);

    // An ORDER BY on an expression could not be repeated outside one.
    const expr = await run("SELECT id, f FROM fl ORDER BY -id");
    assert.deepEqual(expr.lines, []);
    assert.deepEqual(expr.rows.map((r) => r[0]), ["6", "5", "4", "3", "2", "1"]);
    for (const [id, f] of expr.rows) assert.ok(Object.is(f, exact.get(id as string)![0]));
  });
});

/**
 * Runs `body` while every mysql2 connection of this process answers `execute` (a prepared
 * statement's read) as a server whose prepared statements are all taken would: error 1461, then
 * the end. The limit itself is server-wide, and setting it would fail other tests' reads.
 */
async function withPreparesRefused<T>(body: () => Promise<T>): Promise<T> {
  const proto = (mysqlCallbacks as unknown as { Connection: { prototype: { execute: unknown } } })
    .Connection.prototype;
  const own = Object.hasOwn(proto, "execute");
  const original = proto.execute;
  proto.execute = () => {
    const command = Object.assign(new EventEmitter(), { buildParserFromFields: () => class {} });
    const refusal = Object.assign(
      new Error("Can't create more than max_prepared_stmt_count statements (current value: 0)"),
      { errno: 1461, sqlState: "42000", code: "ER_MAX_PREPARED_STMT_COUNT_REACHED" },
    );
    queueMicrotask(() => {
      command.emit("error", refusal);
      command.emit("end");
    });
    return command;
  };
  try {
    return await body();
  } finally {
    if (own) proto.execute = original;
    else delete (proto as { execute?: unknown }).execute;
  }
}

Deno.test("mysql source: a query the server will not prepare is read over the text protocol, exactly", async () => {
  await withMysqlDb(FLOATS, async (db) => {
    const exact = await exactFloats(db);
    let rows: (string | number | null)[][] = [];
    const lines = await captureLog(
      "warn",
      () =>
        withPreparesRefused(() =>
          withSource(db, async (source) => {
            rows = rowsOf(
              (await readAll(source, "SELECT id, f, v FROM fl ORDER BY v DESC")).batches,
            );
          })
        ),
    );
    // The text protocol's plan widens the FLOAT (its describe prepares no statement to execute).
    assert.deepEqual(rows.map((r) => r[0]), ["2", "1", "5", "6", "4", "3"]);
    for (const [id, f] of rows) assert.ok(Object.is(f, exact.get(id as string)![0]), `id ${id}`);
    assert.equal(lines.length, 1, lines.join(""));
    assert.match(lines[0], /error 1461.*; reading the query over the text protocol instead/);
  });
});

Deno.test("mysql source: aborting while the query is being described releases the server", async () => {
  await withMysqlDb(FLOATS, async (db) => {
    // An open transaction holds the table, an ALTER queues behind it, and the server cannot even
    // describe a query on the table until both are done ("Waiting for table metadata lock").
    const reader = await mysql.createConnection({ ...MYSQL_SERVER, database: db.name });
    const alterer = await mysql.createConnection({ ...MYSQL_SERVER, database: db.name });
    let alter: Promise<unknown> | undefined;
    try {
      await reader.query("START TRANSACTION");
      await reader.query("SELECT id FROM fl");
      alter = alterer.query("ALTER TABLE fl ADD COLUMN z INT");
      // Until the ALTER waits for its lock, a describe (and even the read) would get through.
      const queued = await waitFor(() =>
        db.textRows(
          "SELECT ID FROM information_schema.PROCESSLIST " +
            `WHERE DB = '${db.name}' AND INFO = 'ALTER TABLE fl ADD COLUMN z INT' ` +
            "AND STATE = 'Waiting for table metadata lock'",
        )
      );
      assert.equal(queued.length, 1, "the ALTER never queued behind the open transaction");
      const marker = `rivet_describe_${crypto.randomUUID().slice(0, 8)}`;
      const controller = new AbortController();
      let abortedAt = 0;
      await withSource(db, async (source) => {
        const query = source.query({ text: `SELECT /* ${marker} */ id, f FROM fl`, params: [] }, {
          batchRows: 10,
          throttleMs: 0,
          signal: controller.signal,
        });
        // Observed below; a rejection before then must not count as unhandled.
        query.catch(() => {});
        const described = await waitFor(() =>
          db.textRows(
            "SELECT COMMAND FROM information_schema.PROCESSLIST " +
              `WHERE INFO LIKE '%${marker}%' AND ID <> CONNECTION_ID()`,
          )
        );
        assert.deepEqual(described, [["Prepare"]], "the describe never showed up waiting");
        // Abort only once the server is known to be stuck describing the query.
        abortedAt = Date.now();
        controller.abort(new Error("stop"));
        let timer: ReturnType<typeof setTimeout> | undefined;
        const stuck = new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error("the abort did not stop the query")), 5_000);
        });
        try {
          await Promise.race([
            expectRejects(query, Error, (error) => assert.equal(error.message, "stop")),
            stuck,
          ]);
        } finally {
          clearTimeout(timer);
        }
      });
      assert.ok(Date.now() - abortedAt < 5_000);
      assert.ok(await queryGone(db, marker), "the described query still waits after the abort");
    } finally {
      await reader.query("ROLLBACK");
      await alter;
      await reader.end();
      await alterer.end();
    }
  });
});

/** Polls `read` until it returns rows (at most 20 s: CI machines can be slow). */
async function waitFor<T>(read: () => Promise<T[]>): Promise<T[]> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const rows = await read();
    if (rows.length > 0 || Date.now() > deadline) return rows;
    await new Promise((r) => setTimeout(r, 20));
  }
}

// ---------------------------------------------------------------------------------------------
// Errors

Deno.test("mysql source: a wrong password is an auth error that does not echo the password", async () => {
  await withMysqlDb("", async (db) => {
    const user = `rivet_u_${crypto.randomUUID().slice(0, 8)}`;
    await db.exec(`CREATE USER '${user}'@'%' IDENTIFIED BY 'Right-Pass-123'`);
    try {
      await db.exec(`GRANT SELECT ON ${db.name}.* TO '${user}'@'%'`);
      const wrong = "Wrong-Pass-456";
      await expectRejects(
        openMysql(db.config({}, { user, password: wrong })),
        SourceError,
        (error) => {
          assert.equal(error.retryClass, "auth");
          assert.equal(error.code, "1045");
          assert.match(error.message, /Access denied/);
          assert.ok(!error.message.includes(wrong), error.message);
          assert.ok(!error.message.includes("\n"));
        },
      );
      const source = await openMysql(db.config({}, { user, password: "Right-Pass-123" }));
      try {
        assert.equal(await drain(source, "SELECT 1"), 1);
        // A table the user may not read.
        await expectRejects(
          source.query({ text: "SELECT * FROM mysql.user", params: [] }, {
            batchRows: 10,
            throttleMs: 0,
          }),
          SourceError,
          (error) => assert.equal(error.retryClass, "auth"),
        );
      } finally {
        await source.close();
      }
    } finally {
      await db.exec(`DROP USER '${user}'@'%'`);
    }
  });
});

Deno.test("mysql source: unknown database, table, column and bad syntax are permanent", async () => {
  await withMysqlDb("CREATE TABLE t (x INT)", async (db) => {
    await expectRejects(
      openMysql(db.config({}, { database: `${db.name}_missing` })),
      SourceError,
      (error) => {
        assert.equal(error.retryClass, "permanent");
        assert.equal(error.code, "1049");
      },
    );
    await withSource(db, async (source) => {
      const cases: [string, string][] = [
        ["SELECT * FROM no_such_table", "1146"],
        ["SELECT no_such_column FROM t", "1054"],
        ["SELEC 1", "1064"],
      ];
      for (const [sql, code] of cases) {
        await expectRejects(
          source.query({ text: sql, params: [] }, { batchRows: 10, throttleMs: 0 }),
          SourceError,
          (error) => {
            assert.equal(error.retryClass, "permanent", sql);
            assert.equal(error.code, code, sql);
            assert.match(error.message, /^MySQL: .*\(error \d+, SQLSTATE \w{5}\)$/);
          },
        );
      }
      // The connection stays usable after a failed statement.
      assert.equal(await drain(source, "SELECT 1"), 1);
    });
  });
});

Deno.test("mysql source: an unreachable server is a network error", async () => {
  await expectRejects(
    openMysql({
      type: "mysql",
      connection: { ...MYSQL_SERVER, port: 1, database: "test", options: {} },
      tuning: (await import("../src/config/profiles.ts")).resolveTuning({ profile: "fast" }),
    }),
    SourceError,
    (error) => assert.equal(error.retryClass, "network", error.message),
  );
});

Deno.test("mysql source: geometry is WKB; unmappable columns fail before streaming, naming a fix", async () => {
  await withMysqlDb(
    `CREATE TABLE g (id INT, shape GEOMETRY);
     INSERT INTO g VALUES (1, ST_GeomFromText('POINT(1 2)'));`,
    async (db) => {
      await withSource(db, async (source) => {
        const { schema, batches } = await readAll(source, "SELECT id, shape FROM g");
        assert.equal(String(schema.fields[1].type), "Binary");
        assert.equal(schema.fields[1].metadata.get("rivet.logical_type"), "wkb");
        assert.deepEqual(
          rowsOf(batches),
          await db.textRows("SELECT id, HEX(ST_AsBinary(shape)) FROM g"),
        );
      });
      // No server here sends VECTOR (MySQL 9, MariaDB 11.7): its column definition stands in.
      assert.throws(
        () => resolveColumns([{ name: "v", columnType: 242, flags: 0, decimals: 0 }]),
        (error: Error) =>
          error instanceof TypeMappingError &&
          /column v has MySQL type vector, .*VECTOR_TO_STRING\(v\)/.test(error.message),
      );
      await withSource(db, async (source) => {
        await expectRejects(
          source.query({ text: "DO 1", params: [] }, { batchRows: 10, throttleMs: 0 }),
          SourceError,
          (error) => assert.match(error.message, /not a SELECT/),
        );
      });
    },
  );
});

Deno.test("mysql source: zero dates and non-boolean TINYINT(1) fail loudly; any TIME is read", async () => {
  await withMysqlDb(
    `SET SESSION sql_mode = '';
     CREATE TABLE z (id INT, d DATE, dt DATETIME, tm TIME, b TINYINT(1));
     INSERT INTO z VALUES (1, '2024-01-01', '2024-01-01 00:00:00', '01:00:00', 1),
       (2, '0000-00-00', '0000-00-00 00:00:00', '-838:59:59', 5),
       (3, '2024-00-10', '2024-02-00 10:00:00', '25:00:00', 0);`,
    async (db) => {
      const cases: [string, RegExp][] = [
        [
          "SELECT d FROM z ORDER BY id",
          /column d \(date\) holds '0000-00-00': .*NULLIF\(d, '0000-00-00'\)/,
        ],
        ["SELECT dt FROM z ORDER BY id", /column dt \(datetime\) holds '0000-00-00 00:00:00'/],
        ["SELECT d FROM z WHERE id = 3", /holds '2024-00-10': a zero or partial date/],
        ["SELECT dt FROM z WHERE id = 3", /holds '2024-02-00 10:00:00': a zero or partial date/],
        [
          "SELECT b FROM z ORDER BY id",
          /column b \(tinyint\(1\)\) holds '5': .*CAST\(b AS SIGNED\)/,
        ],
      ];
      for (const [sql, pattern] of cases) {
        await withSource(
          db,
          (source) =>
            expectRejects(drain(source, sql), TypeMappingError, (error) => {
              assert.match(error.message, pattern, sql);
            }),
        );
      }
      // TIME is a duration: beyond a day and negative values are read whole.
      await withSource(db, async (source) => {
        const { batches } = await readAll(source, "SELECT tm FROM z ORDER BY id");
        assert.deepEqual(Array.from(batches[0].getChildAt(0)!.data[0].values as BigInt64Array), [
          3_600_000_000n,
          -3_020_399_000_000n,
          90_000_000_000n,
        ]);
      });
      // The suggested conversions work.
      await withSource(db, async (source) => {
        const { batches } = await readAll(
          source,
          "SELECT NULLIF(d, '0000-00-00') AS d, CAST(tm AS CHAR) AS tm, CAST(b AS SIGNED) AS b " +
            "FROM z WHERE id <= 2 ORDER BY id",
        );
        assert.deepEqual(rowsOf(batches), [["2024-01-01", "01:00:00", "1"], [
          null,
          "-838:59:59",
          "5",
        ]]);
      });
    },
  );
});

// ---------------------------------------------------------------------------------------------
// Session and release

Deno.test("mysql source: session settings are applied and the session is read-only", async () => {
  await withMysqlDb("CREATE TABLE t (x INT)", async (db) => {
    const source = await openMysql(db.config({ statement_timeout_s: 30, lock_timeout_s: 7 }));
    try {
      const { batches } = await readAll(
        source,
        "SELECT @@time_zone, @@net_write_timeout, @@net_read_timeout, @@innodb_lock_wait_timeout, " +
          "@@max_statement_time, @@tx_read_only, @@character_set_results",
      );
      // A streamed read runs without the server's statement limit: the client bounds its start
      // (see tests/mysql_timeout_test.ts).
      assert.deepEqual(rowsOf(batches), [["+00:00", "3600", "3600", "7", 0, "1", "utf8mb4"]]);
      await expectRejects(
        drain(source, "INSERT INTO t VALUES (1)"),
        SourceError,
        (error) => assert.equal(error.retryClass, "permanent"),
      );
      assert.deepEqual(await db.textRows("SELECT COUNT(*) FROM t"), [["0"]]);
    } finally {
      await source.close();
    }
  });
});

Deno.test("mysql source: the statement timeout is a timeout error", async () => {
  await withMysqlDb("", async (db) => {
    const source = await openMysql(db.config({ statement_timeout_s: 1 }));
    try {
      await expectRejects(drain(source, "SELECT SLEEP(5) AS s"), SourceError, (error) => {
        assert.equal(error.retryClass, "timeout", error.message);
      });
    } finally {
      await source.close();
    }
  });
});

Deno.test("mysql source: a lock wait beyond lock_timeout_s is a timeout error", async () => {
  await withMysqlDb(
    "CREATE TABLE t (id INT PRIMARY KEY) ENGINE=InnoDB; INSERT INTO t VALUES (1);",
    async (db) => {
      const holder = await mysql.createConnection({ ...MYSQL_SERVER, database: db.name });
      try {
        await holder.query("START TRANSACTION");
        await holder.query("SELECT id FROM t WHERE id = 1 FOR UPDATE");
        const source = await openMysql(db.config({ lock_timeout_s: 1 }));
        try {
          await expectRejects(
            drain(source, "SELECT id FROM t WHERE id = 1 LOCK IN SHARE MODE"),
            SourceError,
            (error) => {
              assert.equal(error.retryClass, "timeout", error.message);
              assert.equal(error.code, "1205");
            },
          );
        } finally {
          await source.close();
        }
      } finally {
        await holder.query("ROLLBACK");
        await holder.end();
      }
    },
  );
});

/**
 * 100k rows; `slow(n)` selects them with a 60 s SLEEP at row n. The server flushes result bytes in
 * 16 KiB packets, so the column definitions (and the first rows) only arrive once enough rows are
 * ready: the rows before `n` let the stream start, the SLEEP keeps the query executing after that.
 */
const BIG = `SET SESSION max_recursive_iterations = 1000000;
  CREATE TABLE big (id INT PRIMARY KEY, pad VARCHAR(200));
  INSERT INTO big WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < 100000)
  SELECT n, REPEAT('x', 200) FROM s;`;

function slow(marker: string, n: number): string {
  return `SELECT /* ${marker} */ id, pad, IF(id = ${n}, SLEEP(60), 0) AS s FROM big ORDER BY id`;
}

Deno.test("mysql source: breaking early releases the server", async () => {
  await withMysqlDb(
    BIG,
    async (db) => {
      const marker = `rivet_break_${crypto.randomUUID().slice(0, 8)}`;
      const source = await openMysql(db.config());
      try {
        const { batches } = await source.query(
          { text: `SELECT /* ${marker} */ id, pad FROM big`, params: [] },
          { batchRows: 500, throttleMs: 0 },
        );
        let seen = 0;
        for await (const batch of batches) {
          seen += batch.numRows;
          // The server is still sending (blocked on the paused socket): asked once, right now.
          assert.equal(
            await queryGone(db, marker, 0),
            false,
            "the query already ended before the break, so the break would release nothing",
          );
          break;
        }
        assert.equal(seen, 500);
        assert.ok(await queryGone(db, marker), "the query still runs after the break");
      } finally {
        await source.close();
      }
    },
  );
});

Deno.test("mysql source: a connection killed mid-stream is a retryable disconnect", async () => {
  await withMysqlDb(BIG, async (db) => {
    const marker = `rivet_kill_${crypto.randomUUID().slice(0, 8)}`;
    await withSource(db, async (source) => {
      const { batches } = await source.query(
        { text: `SELECT /* ${marker} */ id, pad FROM big`, params: [] },
        { batchRows: 500, throttleMs: 0 },
      );
      await expectRejects(
        (async () => {
          let first = true;
          for await (const _ of batches) {
            if (!first) continue;
            first = false;
            const [[id]] = await db.textRows(
              `SELECT ID FROM information_schema.PROCESSLIST WHERE INFO LIKE '%${marker}%' ` +
                "AND ID <> CONNECTION_ID()",
            );
            await db.exec(`KILL ${id}`);
          }
        })(),
        SourceError,
        (error) => assert.ok(["disconnect", "network"].includes(error.retryClass), error.message),
      );
    });
  });
});

Deno.test("mysql source: aborting stops a query that is still executing", async () => {
  await withMysqlDb(BIG, async (db) => {
    const marker = `rivet_abort_${crypto.randomUUID().slice(0, 8)}`;
    const controller = new AbortController();
    await withSource(db, async (source) => {
      const { batches } = await source.query(
        { text: slow(marker, 2000), params: [] },
        { batchRows: 500, throttleMs: 0, signal: controller.signal },
      );
      setTimeout(() => controller.abort(new Error("stop")), 500);
      const started = Date.now();
      let seen = 0;
      await expectRejects(
        (async () => {
          for await (const batch of batches) seen += batch.numRows;
        })(),
        Error,
        (error) => assert.equal(error.message, "stop"),
      );
      assert.ok(seen < 2000, `${seen} rows`);
      assert.ok(Date.now() - started < 5_000);
      assert.ok(await queryGone(db, marker), "SLEEP(60) still runs after the abort");
    });
    // Without a table the server evaluates SLEEP before it sends the column definitions, so the
    // abort lands while query() itself is waiting.
    const early = `rivet_abort_${crypto.randomUUID().slice(0, 8)}`;
    const second = new AbortController();
    setTimeout(() => second.abort(new Error("stop early")), 300);
    await withSource(db, (source) =>
      expectRejects(
        source.query({ text: `SELECT /* ${early} */ SLEEP(60) AS s`, params: [] }, {
          batchRows: 10,
          throttleMs: 0,
          signal: second.signal,
        }),
        Error,
        (error) => assert.equal(error.message, "stop early"),
      ));
    assert.ok(await queryGone(db, early), "SLEEP(60) still runs after the abort");
  });
});

Deno.test("mysql source: closing without reading releases the server", async () => {
  await withMysqlDb(BIG, async (db) => {
    const marker = `rivet_close_${crypto.randomUUID().slice(0, 8)}`;
    const source = await openMysql(db.config());
    await source.query({ text: slow(marker, 2000), params: [] }, { batchRows: 10, throttleMs: 0 });
    await source.close();
    await source.close();
    assert.ok(await queryGone(db, marker), "SLEEP(60) still runs after close()");
  });
});

Deno.test("mysql source: throttle_ms spaces the batches", async () => {
  const throttleMs = 250;
  // 22 rows in batches of 5: the result is in the socket at once, so only the throttle spaces them.
  await withMysqlDb(
    `CREATE TABLE paced (id INT PRIMARY KEY);
     INSERT INTO paced WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < 22)
     SELECT n FROM s;`,
    async (db) => {
      const config = db.config({ throttle_ms: throttleMs });
      const source = await openSource(config);
      try {
        const started = performance.now();
        const { batches } = await source.query(
          { text: "SELECT id FROM paced ORDER BY id", params: [] },
          { batchRows: 5, throttleMs: config.tuning.throttleMs },
        );
        const arrivals = await timeBatches(batches);
        assert.deepEqual(arrivals.rows, [5, 5, 5, 5, 2]);
        assertThrottled(arrivals, started, throttleMs);
      } finally {
        await source.close();
      }
    },
  );
});

Deno.test("mysql source: primaryKey reads information_schema: key order, quoting, schemas", async () => {
  await withMysqlDb(
    `CREATE TABLE one (id INT PRIMARY KEY, v TEXT);
     CREATE TABLE two (a INT, b INT, c INT, PRIMARY KEY (b, a));
     CREATE TABLE nokey (id INT, UNIQUE KEY (id));
     CREATE VIEW v AS SELECT * FROM one;
     CREATE TABLE \`odd name\` (\`key col\` INT PRIMARY KEY);`,
    async (db) => {
      await withSource(db, async (source) => {
        const cases: [string, string[] | undefined][] = [
          ["one", ["id"]],
          ["two", ["b", "a"]],
          ["nokey", undefined],
          ["v", undefined],
          ["`odd name`", ["key col"]],
          [`${db.name}.two`, ["b", "a"]],
          [`\`${db.name}\`.\`one\``, ["id"]],
          // Another database than the connection's.
          ["mysql.db", ["Host", "Db", "User"]],
          ["nosuch", undefined],
          ["nosuch.one", undefined],
          ["odd name", undefined],
          // Double quotes make a string, not a name, without ANSI_QUOTES.
          [`"one"`, undefined],
          ["one' OR '1'='1", undefined],
        ];
        for (const [table, key] of cases) {
          assert.deepEqual(await source.primaryKey(table), key, table);
        }
      });
    },
  );
});

Deno.test("mysql source: table names are read as the server reads them under sql_mode", () => {
  const plain = parseSqlMode("");
  const ansi = parseSqlMode("ANSI");
  assert.deepEqual(parseTableName("t", plain), { table: "t" });
  assert.deepEqual(parseTableName(" shop . `a``b` ", plain), { schema: "shop", table: "a`b" });
  assert.deepEqual(parseTableName(`"shop"."t"`, ansi), { schema: "shop", table: "t" });
  assert.equal(parseTableName(`"t"`, plain), undefined);
  for (const name of ["", "a.b.c", "a b", "t /* x */ WHERE 1", "(t)"]) {
    assert.equal(parseTableName(name, plain), undefined, name);
  }
});
