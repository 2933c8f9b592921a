/**
 * Type round trip: every type each source maps goes through the real CLI into Parquet and CSV, is
 * read back by readers independent of rivet's writers (DuckDB, csv-parse), and every value is
 * compared with what the server itself says about it, as text.
 *
 * The server-side references avoid rivet's conventions wherever the server can state a value
 * exactly in another form: timestamps as `extract(epoch ...)` / `TIMESTAMPDIFF(MICROSECOND ...)`,
 * dates as day differences, float4/FLOAT widened to double, bytes as `encode(..., 'hex')` / `HEX()`.
 * The test then converts representation only (BigInt microseconds, astronomical years, padded
 * fractions), never precision.
 *
 * @module
 */
import assert from "node:assert/strict";
import { isDeepStrictEqual } from "node:util";
import { parseSummaries, rivet } from "./support/cli.ts";
import { mysqlDb, postgresDb, type TestDb, withDb } from "./support/engines.ts";
import { withTempDir, writeFile } from "./support/files.ts";
import { type ParquetValue, readParquet } from "./support/read_parquet.ts";
import { readCsv } from "./support/read_csv.ts";

const sql = String.raw;

/** How a CSV field is compared with the reference text. */
type CsvCompare = "exact" | "float32" | "float64" | "json";

/** One column of the round-trip table. */
interface Column {
  name: string;
  /** Type in CREATE TABLE. */
  type: string;
  /** The type DuckDB reports for the Parquet column. */
  duckdb: string;
  /** SQL literals, one per sample row ({@link SAMPLES} of them). */
  values: string[];
  /** Server-side expression whose text is the Parquet reference (default: the engine's). */
  pqRef?: (c: string) => string;
  /** Server-side expression whose text is the CSV reference (default: the engine's). */
  csvRef?: (c: string) => string;
  /** The Parquet value (as read_parquet.ts normalises it) the reference text stands for. */
  pq: (ref: string) => ParquetValue;
  /** The CSV field the reference text stands for (default: the text itself). */
  csv?: (ref: string) => string;
  csvCompare?: CsvCompare;
}

/** Sample rows per table; an all-NULL row is added to them. */
const SAMPLES = 8;
/** Rows per batch: the 9 rows of a load span three batches (and a final empty FETCH). */
const BATCH = 3;

// ---------------------------------------------------------------------------------------------
// Representation conversions (exact; they never round).

const num = (s: string): number => Number(s);
const big = (s: string): bigint => BigInt(s);
const text = (s: string): string => s;
const json = (s: string): ParquetValue => JSON.parse(s);

/** Lowercase or uppercase hex as bytes. */
function hexBytes(hex: string): Uint8Array {
  return Uint8Array.from(hex.match(/../g) ?? [], (h) => parseInt(h, 16));
}

/** A decimal number of seconds (`-12.5`, `86400.000000`) as exact BigInt microseconds. */
function secondsToMicros(s: string): bigint {
  const m = /^(-?)(\d+)(?:\.(\d+))?$/.exec(s);
  assert.ok(m, `unexpected seconds text ${s}`);
  const fraction = (m[3] ?? "").padEnd(6, "0");
  assert.match(fraction.slice(6), /^0*$/, `${s} has sub-microsecond digits`);
  const micros = BigInt(m[2]) * 1_000_000n + BigInt(fraction.slice(0, 6));
  return m[1] === "-" ? -micros : micros;
}

/** An astronomical year as rivet's CSV writes it (4+ digits, `-` before year 0). */
function yearText(year: number): string {
  return year < 0 ? `-${String(-year).padStart(4, "0")}` : String(year).padStart(4, "0");
}

/**
 * PostgreSQL's ISO date/timestamp text (`YYYY-MM-DD[ HH:MM:SS[.f]][+00][ BC]`, TimeZone UTC) as
 * rivet's CSV text (`[-]YYYY-MM-DD[THH:MM:SS.ffffff[Z]]`, astronomical years: 1 BC is year 0).
 */
function pgTemporalCsv(s: string): string {
  const m = /^(\d{4,})-(\d\d)-(\d\d)(?: (\d\d:\d\d:\d\d)(?:\.(\d{1,6}))?(\+00)?)?( BC)?$/.exec(s);
  assert.ok(m, `unexpected PostgreSQL date/time text ${s}`);
  const [, y, month, day, clock, fraction, utc, bc] = m;
  const date = `${yearText(bc ? 1 - Number(y) : Number(y))}-${month}-${day}`;
  if (clock === undefined) return date;
  return `${date}T${clock}.${(fraction ?? "").padEnd(6, "0")}${utc ? "Z" : ""}`;
}

/** MySQL's `YYYY-MM-DD HH:MM:SS[.f]` as rivet's CSV timestamp text. */
function mysqlDateTimeCsv(zone: "" | "Z"): (s: string) => string {
  return (s) => {
    const m = /^(\d{4}-\d\d-\d\d) (\d\d:\d\d:\d\d)(?:\.(\d{1,6}))?$/.exec(s);
    assert.ok(m, `unexpected MySQL datetime text ${s}`);
    return `${m[1]}T${m[2]}.${(m[3] ?? "").padEnd(6, "0")}${zone}`;
  };
}

/** `HH:MM:SS[.f]` as rivet's CSV time text (`HH:MM:SS.ffffff`). */
function clockCsv(s: string): string {
  const m = /^(\d\d:\d\d:\d\d)(?:\.(\d{1,6}))?$/.exec(s);
  assert.ok(m, `unexpected time text ${s}`);
  return `${m[1]}.${(m[2] ?? "").padEnd(6, "0")}`;
}

// ---------------------------------------------------------------------------------------------
// The tables.

function pgColumns(ns: string): Column[] {
  const epochMicros = (c: string) => `extract(epoch FROM ${c})`;
  return [
    {
      name: "b",
      type: "bool",
      duckdb: "BOOLEAN",
      values: ["true", "false", "true", "false", "true", "false", "false", "true"],
      pqRef: (c) => `${c}::text`,
      csvRef: (c) => `${c}::text`,
      pq: (s) => s === "true",
    },
    {
      name: "i2",
      type: "int2",
      duckdb: "SMALLINT",
      values: ["-32768", "32767", "0", "-1", "1", "12345", "-12345", "255"],
      pq: num,
    },
    {
      name: "i4",
      type: "int4",
      duckdb: "INTEGER",
      values: ["-2147483648", "2147483647", "0", "-1", "1", "123456789", "-65536", "65535"],
      pq: num,
    },
    {
      name: "i8",
      type: "int8",
      duckdb: "BIGINT",
      values: [
        "-9223372036854775808",
        "9223372036854775807",
        "0",
        "-1",
        "9007199254740993", // 2^53 + 1: not a double
        "-9007199254740993",
        "4294967296",
        "-4294967297",
      ],
      pq: big,
    },
    {
      // The reference is the float4 widened to float8: its exact value, not a rounded rendering.
      name: "f4",
      type: "float4",
      duckdb: "FLOAT",
      values: [
        "'NaN'",
        "'Infinity'",
        "'-Infinity'",
        "'-0'",
        "'3.4028235e38'",
        "'1.4e-45'",
        "'0.1'",
        "'16777217'",
      ],
      pqRef: (c) => `${c}::float8::text`,
      csvRef: (c) => `${c}::float8::text`,
      pq: num,
      csvCompare: "float32",
    },
    {
      name: "f8",
      type: "float8",
      duckdb: "DOUBLE",
      values: [
        "'NaN'",
        "'Infinity'",
        "'-Infinity'",
        "'-0'",
        "'1.7976931348623157e308'",
        "'5e-324'",
        "'0.1'",
        "'-2.2250738585072014e-308'",
      ],
      pq: num,
      csvCompare: "float64",
    },
    {
      name: "n38",
      type: "numeric(38,10)",
      duckdb: "DECIMAL(38,10)",
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
      pq: text,
    },
    {
      name: "n10",
      type: "numeric(10,2)",
      duckdb: "DECIMAL(10,2)",
      values: ["-99999999.99", "99999999.99", "0.01", "-0.01", "0", "0.10", "1234.5", "-100"],
      pq: text,
    },
    {
      // Unconstrained: exact text (rivet.logical_type=decimal), so NaN and ±Infinity fit too.
      name: "nu",
      type: "numeric",
      duckdb: "VARCHAR",
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
      pq: text,
    },
    {
      name: "tx",
      type: "text",
      duckdb: "VARCHAR",
      values: [
        sql`E'héllo, "wörld"\r\nnext line 😀'`,
        "''",
        sql`E'\n'`,
        sql`E'tab\there\r'`,
        "' padded '",
        "'NULL'",
        sql`E'back\\slash \\N'`,
        `'"'`,
      ],
      pq: text,
    },
    {
      name: "vc",
      type: "varchar(40)",
      duckdb: "VARCHAR",
      values: ["''", "'a,b'", sql`E'x\ry'`, "'😀😀'", "'ümlaut, ß'", "NULL", "'plain'", "','"],
      pq: text,
    },
    {
      // bpchar's output keeps the padding (a ::text cast would drop it): compare the output.
      name: "ch",
      type: "char(5)",
      duckdb: "VARCHAR",
      values: ["'ab'", "''", "'ñ😀'", "'abcde'", "' a'", "'x'", `'q"'`, "','"],
      pq: text,
    },
    {
      name: "nm",
      type: "name",
      duckdb: "VARCHAR",
      values: ["'ñame'", "''", "'a,b'", sql`E'new\nline'`, "'😀'", "'x'", "'NULL'", `'quote"d'`],
      pq: text,
    },
    {
      name: "by",
      type: "bytea",
      duckdb: "BLOB",
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
      pqRef: (c) => `encode(${c}, 'hex')`,
      csvRef: (c) => `encode(${c}, 'hex')`,
      pq: hexBytes,
    },
    {
      name: "d",
      type: "date",
      duckdb: "DATE",
      values: [
        "'0001-01-01'",
        "'1900-02-28'",
        "'9999-12-31'",
        "'0044-03-15 BC'",
        "'1969-12-31'",
        "'2000-02-29'",
        "'4714-11-24 BC'", // the earliest date PostgreSQL has
        "'5874897-12-31'", // and the latest
      ],
      pqRef: (c) => `(${c} - date '1970-01-01')::text`,
      pq: num,
      csv: pgTemporalCsv,
    },
    {
      name: "ts",
      type: "timestamp(6)",
      duckdb: "TIMESTAMP",
      values: [
        "'0001-01-01 00:00:00'",
        "'1900-02-28 23:59:59.999999'",
        "'2262-04-11 23:47:16.854776'", // one microsecond past the nanosecond Int64 limit
        "'9999-12-31 23:59:59.999999'",
        "'1969-12-31 23:59:59.999999'",
        "'0044-03-15 12:00:00.000001 BC'",
        "'4713-11-24 00:00:00 BC'", // the earliest timestamp PostgreSQL has
        "'294247-01-10 04:00:54.775806'", // a microsecond below the largest Int64 microsecond
      ],
      pqRef: epochMicros,
      pq: secondsToMicros,
      csv: pgTemporalCsv,
    },
    {
      name: "tstz",
      type: "timestamptz",
      duckdb: "TIMESTAMP WITH TIME ZONE",
      values: [
        "'1969-12-31 23:59:59.999999+00'",
        "'1900-02-28 12:00:00.5-03:30'",
        "'2300-01-01 00:00:00.000001+14'",
        "'9999-12-31 23:59:59.999999+00'",
        "'0001-01-01 00:00:00+00'",
        "'2024-03-31 02:30:00+02'",
        "'0044-03-15 12:00:00+00 BC'",
        "'1970-01-01 00:00:00+00'",
      ],
      pqRef: epochMicros,
      pq: secondsToMicros,
      csv: pgTemporalCsv,
    },
    {
      name: "tm",
      type: "time",
      duckdb: "TIME",
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
      pqRef: epochMicros,
      pq: secondsToMicros,
      csv: clockCsv,
    },
    {
      // Text in ISO 8601 form: rivet pins IntervalStyle=iso_8601, as does this test's session.
      name: "iv",
      type: "interval",
      duckdb: "VARCHAR",
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
      pq: text,
    },
    {
      name: "u",
      type: "uuid",
      duckdb: "VARCHAR",
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
      pq: text,
    },
    {
      name: "j",
      type: "json",
      duckdb: "VARCHAR",
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
      pq: text,
    },
    {
      name: "jb",
      type: "jsonb",
      duckdb: "VARCHAR",
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
      pq: text,
    },
    {
      name: "ai",
      type: "int4[]",
      duckdb: "INTEGER[]",
      values: [
        "'{1,NULL,3}'",
        "'{}'",
        "'{NULL}'",
        "'{-2147483648,2147483647}'",
        "'{0}'",
        "'{1,2,3,4,5,6,7,8,9,10}'",
        "'{42}'",
        "'{NULL,NULL}'",
      ],
      pqRef: (c) => `array_to_json(${c})::text`,
      csvRef: (c) => `array_to_json(${c})::text`,
      pq: json,
      csvCompare: "json",
    },
    {
      name: "at",
      type: "text[]",
      duckdb: "VARCHAR[]",
      values: [
        sql`ARRAY['a,b', 'q"', NULL, '']`,
        "'{}'",
        "'{NULL}'",
        sql`'{"NULL"}'`,
        "ARRAY['😀', 'ü']",
        sql`ARRAY[E'line\nbreak', E'cr\r', E'back\\slash']`,
        sql`ARRAY['{braces}', ' sp ', '"']`,
        "ARRAY[NULL, 'x']",
      ],
      pqRef: (c) => `array_to_json(${c})::text`,
      csvRef: (c) => `array_to_json(${c})::text`,
      pq: json,
      csvCompare: "json",
    },
    {
      name: "e",
      type: `${ns}.mood`,
      duckdb: "VARCHAR",
      values: [
        `'happy, "very"'`,
        "'sad'",
        "'ok'",
        "'😀'",
        "'sad'",
        `'happy, "very"'`,
        "'😀'",
        "'ok'",
      ],
      pq: text,
    },
  ];
}

function mysqlColumns(): Column[] {
  const int = (name: string, type: string, duckdb: string, values: string[]): Column => ({
    name,
    type,
    duckdb,
    values,
    pq: duckdb === "BIGINT" || duckdb === "UBIGINT" ? big : num,
  });
  const sinceEpoch = (c: string) =>
    `CAST(TIMESTAMPDIFF(MICROSECOND, '1970-01-01 00:00:00', ${c}) AS CHAR)`;
  // TIME is a duration (Arrow Duration(us)); DuckDB reads it as its microseconds.
  const timeMicros = (c: string) => `CAST(TIME_TO_SEC(${c}) * 1000000 AS SIGNED)`;
  return [
    {
      name: "b",
      type: "TINYINT(1)",
      duckdb: "BOOLEAN",
      values: ["1", "0", "1", "0", "1", "0", "0", "1"],
      pq: (s) => s === "1",
      csv: (s) => (s === "1" ? "true" : "false"),
    },
    int("ti", "TINYINT", "SMALLINT", ["-128", "127", "0", "-1", "1", "100", "-100", "42"]),
    int("tiu", "TINYINT UNSIGNED", "SMALLINT", ["0", "255", "1", "128", "127", "2", "254", "7"]),
    int("si", "SMALLINT", "SMALLINT", ["-32768", "32767", "0", "-1", "1", "255", "-256", "9"]),
    int("siu", "SMALLINT UNSIGNED", "INTEGER", [
      "0",
      "65535",
      "1",
      "32768",
      "32767",
      "3",
      "4",
      "5",
    ]),
    int("mi", "MEDIUMINT", "INTEGER", ["-8388608", "8388607", "0", "-1", "1", "65536", "-7", "8"]),
    int("miu", "MEDIUMINT UNSIGNED", "INTEGER", [
      "0",
      "16777215",
      "1",
      "8388608",
      "8388607",
      "65535",
      "6",
      "7",
    ]),
    int("i", "INT", "INTEGER", ["-2147483648", "2147483647", "0", "-1", "1", "65536", "-9", "8"]),
    int("iu", "INT UNSIGNED", "BIGINT", [
      "0",
      "4294967295",
      "1",
      "2147483648",
      "2147483647",
      "65536",
      "6",
      "7",
    ]),
    int("bi", "BIGINT", "BIGINT", [
      "-9223372036854775808",
      "9223372036854775807",
      "0",
      "-1",
      "9007199254740993",
      "-9007199254740993",
      "4294967296",
      "-4294967297",
    ]),
    int("biu", "BIGINT UNSIGNED", "UBIGINT", [
      "0",
      "18446744073709551615",
      "1",
      "9223372036854775808",
      "9223372036854775807",
      "9007199254740993",
      "4294967296",
      "18446744073709551614",
    ]),
    {
      // The reference is the FLOAT widened to DOUBLE: its exact value. Most samples need more than
      // the 6 significant digits of the server's FLOAT text; see the FLOAT test below.
      name: "f",
      type: "FLOAT",
      duckdb: "FLOAT",
      values: [
        "0",
        "1.2345678",
        "-2.5",
        "1e-10",
        "3.4028234663852886e38",
        "-1.1754943508222875e-38",
        "16777217",
        "0.333333343267440796",
      ],
      pqRef: (c) => `CAST(CAST(${c} AS DOUBLE) AS CHAR)`,
      csvRef: (c) => `CAST(CAST(${c} AS DOUBLE) AS CHAR)`,
      pq: num,
      csvCompare: "float32",
    },
    {
      name: "dbl",
      type: "DOUBLE",
      duckdb: "DOUBLE",
      values: [
        "1.7976931348623157e308",
        "-1.7976931348623157e308",
        "4.9406564584124654e-324",
        "2.2250738585072014e-308",
        "0.1",
        "0.30000000000000004",
        "123456789012345678",
        "0",
      ],
      pq: num,
      csvCompare: "float64",
    },
    {
      name: "d38",
      type: "DECIMAL(38,10)",
      duckdb: "DECIMAL(38,10)",
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
      pq: text,
    },
    {
      name: "d10",
      type: "DECIMAL(10,2)",
      duckdb: "DECIMAL(10,2)",
      values: ["-99999999.99", "99999999.99", "0.01", "-0.01", "0", "0.10", "1234.5", "-100"],
      pq: text,
    },
    {
      // Wider than Decimal128: exact digits as text (rivet.logical_type=decimal).
      name: "d65",
      type: "DECIMAL(65,30)",
      duckdb: "VARCHAR",
      values: [
        "-99999999999999999999999999999999999.999999999999999999999999999999",
        "99999999999999999999999999999999999.999999999999999999999999999999",
        "0.000000000000000000000000000001",
        "0",
        "1.5",
        "-1",
        "12345678901234567890123456789012345.123456789012345678901234567890",
        "0.1",
      ],
      pq: text,
    },
    {
      name: "ch",
      type: "CHAR(10)",
      duckdb: "VARCHAR",
      values: ["'héllo'", "''", "'a,b'", "'😀'", `'x"y'`, "' lead'", "'NULL'", sql`'\\N'`],
      pq: text,
    },
    {
      name: "vc",
      type: "VARCHAR(100)",
      duckdb: "VARCHAR",
      values: [
        sql`'a,b "c"\r\nd 😀'`,
        "''",
        sql`'\n'`,
        sql`'tab\there\r'`,
        "' padded '",
        "NULL",
        sql`'back\\slash'`,
        `'"'`,
      ],
      pq: text,
    },
    {
      name: "tx",
      type: "TEXT",
      duckdb: "VARCHAR",
      values: [
        sql`'😀 emoji\n'`,
        "''",
        "'ümlaut, ß'",
        `'say "hi"'`,
        "','",
        sql`'\r'`,
        "'NULL'",
        "'plain'",
      ],
      pq: text,
    },
    {
      name: "bn",
      type: "BINARY(4)",
      duckdb: "BLOB",
      values: [
        "X'00010203'",
        "X'00000000'",
        "X'41'",
        "X'FFFFFFFF'",
        "X'0D0A'",
        "X'22'",
        "X'2C'",
        "X'5C00'",
      ],
      pqRef: (c) => `HEX(${c})`,
      csvRef: (c) => `LOWER(HEX(${c}))`,
      pq: hexBytes,
    },
    {
      name: "vb",
      type: "VARBINARY(10)",
      duckdb: "BLOB",
      values: ["X'00'", "X''", "X'0D0A'", "X'DEADBEEF'", "X'22'", "X'2C'", "X'5C'", "X'000000'"],
      pqRef: (c) => `HEX(${c})`,
      csvRef: (c) => `LOWER(HEX(${c}))`,
      pq: hexBytes,
    },
    {
      name: "bl",
      type: "BLOB",
      duckdb: "BLOB",
      values: ["X'00FF00'", "X''", "X'00'", "X'0A'", "X'FF'", "X'2C22'", "X'C3A9'", "X'F09F9880'"],
      pqRef: (c) => `HEX(${c})`,
      csvRef: (c) => `LOWER(HEX(${c}))`,
      pq: hexBytes,
    },
    {
      name: "dt",
      type: "DATE",
      duckdb: "DATE",
      values: [
        "'1000-01-01'",
        "'9999-12-31'",
        "'1969-12-31'",
        "'1970-01-01'",
        "'2000-02-29'",
        "'0001-01-01'",
        "'1900-02-28'",
        "'2262-04-12'",
      ],
      pqRef: (c) => `CAST(DATEDIFF(${c}, '1970-01-01') AS CHAR)`,
      pq: num,
    },
    {
      name: "dt0",
      type: "DATETIME(0)",
      duckdb: "TIMESTAMP",
      values: [
        "'1000-01-01 00:00:00'",
        "'9999-12-31 23:59:59'",
        "'1969-12-31 23:59:59'",
        "'0001-01-01 00:00:00'",
        "'2262-04-12 00:00:00'",
        "'1970-01-01 00:00:00'",
        "'2024-02-29 12:34:56'",
        "'1900-02-28 00:00:01'",
      ],
      pqRef: sinceEpoch,
      pq: big,
      csv: mysqlDateTimeCsv(""),
    },
    {
      name: "dt6",
      type: "DATETIME(6)",
      duckdb: "TIMESTAMP",
      values: [
        "'1000-01-01 00:00:00.000000'",
        "'9999-12-31 23:59:59.999999'",
        "'1900-02-28 12:00:00.5'",
        "'1969-12-31 23:59:59.999999'",
        "'0001-01-01 00:00:00.000001'",
        "'2262-04-11 23:47:16.854776'",
        "'1970-01-01 00:00:00'",
        "'2024-02-29 12:34:56.123456'",
      ],
      pqRef: sinceEpoch,
      pq: big,
      csv: mysqlDateTimeCsv(""),
    },
    {
      // The session time zone is UTC on both sides (rivet pins it; engines.ts sets it).
      name: "ts6",
      type: "TIMESTAMP(6) NULL",
      duckdb: "TIMESTAMP WITH TIME ZONE",
      values: [
        "'1970-01-01 00:00:01.000000'",
        "'2038-01-19 03:14:07.999999'",
        "'2000-01-01 00:00:00.000001'",
        "'1999-12-31 23:59:59.5'",
        "'2024-02-29 12:34:56'",
        "'1970-01-01 00:00:01.000001'",
        "'2001-09-09 01:46:40'",
        "'2038-01-19 03:14:07'",
      ],
      pqRef: sinceEpoch,
      pq: big,
      csv: mysqlDateTimeCsv("Z"),
    },
    {
      name: "tm",
      type: "TIME",
      duckdb: "BIGINT",
      values: [
        "'00:00:00'",
        "'23:59:59'",
        "'12:00:00'",
        "'-00:00:00'",
        "'01:02:03'",
        "'10:00:00'",
        "'23:00:00'",
        "'00:00:01'",
      ],
      pqRef: timeMicros,
      pq: big,
    },
    {
      name: "tm6",
      type: "TIME(6)",
      duckdb: "BIGINT",
      values: [
        "'23:59:59.999999'",
        "'00:00:00.000001'",
        "'12:34:56.5'",
        "'00:00:00'",
        "'01:02:03.123456'",
        "'10:00:00.1'",
        "'23:00:00.000010'",
        "'00:00:01'",
      ],
      pqRef: timeMicros,
      pq: big,
    },
    {
      // YEAR maps to Int16: 0 (`0000`) is the number 0.
      name: "yr",
      type: "YEAR",
      duckdb: "SMALLINT",
      values: ["1901", "2155", "0", "2000", "1970", "2024", "1999", "2100"],
      pq: num,
      csv: (s) => String(Number(s)),
    },
    {
      name: "b1",
      type: "BIT(1)",
      duckdb: "BOOLEAN",
      values: ["b'1'", "b'0'", "b'1'", "b'0'", "b'0'", "b'1'", "b'1'", "b'0'"],
      pqRef: (c) => `CAST(${c} + 0 AS CHAR)`,
      csvRef: (c) => `CAST(${c} + 0 AS CHAR)`,
      pq: (s) => s === "1",
      csv: (s) => (s === "1" ? "true" : "false"),
    },
    {
      name: "b8",
      type: "BIT(8)",
      duckdb: "BIGINT",
      values: ["b'11111111'", "b'0'", "X'7F'", "X'80'", "b'1'", "X'0A'", "X'2C'", "X'FE'"],
      pqRef: (c) => `CAST(${c} + 0 AS CHAR)`,
      csvRef: (c) => `CAST(${c} + 0 AS CHAR)`,
      pq: big,
    },
    {
      name: "b64",
      type: "BIT(64)",
      duckdb: "UBIGINT",
      values: [
        "X'FFFFFFFFFFFFFFFF'",
        "b'0'",
        "X'8000000000000000'",
        "X'7FFFFFFFFFFFFFFF'",
        "b'1'",
        "X'0020000000000001'",
        "X'00000000FFFFFFFF'",
        "X'0000000100000000'",
      ],
      pqRef: (c) => `CAST(${c} + 0 AS CHAR)`,
      csvRef: (c) => `CAST(${c} + 0 AS CHAR)`,
      pq: big,
    },
    {
      name: "en",
      type: `ENUM('a', 'b, "c"', '😀', '')`,
      duckdb: "VARCHAR",
      values: [`'b, "c"'`, "'a'", "'😀'", "''", "NULL", "'a'", `'b, "c"'`, "'😀'"],
      pq: text,
    },
    {
      name: "st",
      type: "SET('x', 'y', 'z')",
      duckdb: "VARCHAR",
      values: ["'x,z'", "''", "'x,y,z'", "'y'", "'z,x'", "'x'", "NULL", "'y,z'"],
      pq: text,
    },
    {
      name: "js",
      type: "JSON",
      duckdb: "VARCHAR",
      values: [
        `'{"a": [1, 2.50, "😀"]}'`,
        "'[]'",
        `'"s"'`,
        "'null'",
        sql`'{"k": "😀,\\"q\\"\\n"}'`,
        `'  {"spaced" :  1 }  '`,
        "'1e400'",
        `'{"dup": 1, "dup": 2}'`,
      ],
      pq: text,
    },
  ];
}

// ---------------------------------------------------------------------------------------------
// Loading, exporting, comparing.

/** Sample order of the first load and of the rows added for the incremental run. */
const FORWARD = [0, 1, 2, 3, 4, 5, 6, 7];
const BACKWARD = [7, 6, 5, 4, 3, 2, 1, 0];
/** Rows per load: the samples plus the all-NULL row. */
const LOAD_ROWS = SAMPLES + 1;

/** Inserts the samples in `order` with ids from `firstId`, the all-NULL row fourth. */
async function load(db: TestDb, columns: Column[], firstId: number, order: number[]) {
  const rows = order.map((k) => columns.map((c) => c.values[k]));
  rows.splice(3, 0, columns.map(() => "NULL"));
  const tuples = rows.map((r, i) => `(${firstId + i}, ${r.join(", ")})`);
  await db.exec(`INSERT INTO ${db.ns}.t (id, ${names(columns)}) VALUES ${tuples.join(",\n")}`);
}

function names(columns: Column[]): string {
  return columns.map((c) => c.name).join(", ");
}

async function createTable(db: TestDb, columns: Column[]): Promise<void> {
  const defs = columns.map((c) => `${c.name} ${c.type}`).join(", ");
  await db.exec(`CREATE TABLE ${db.ns}.t (id int PRIMARY KEY, ${defs})`);
}

/** The engine's reference rows for ids in [from, to]: id, then per column the Parquet and CSV refs. */
async function references(
  db: TestDb,
  columns: Column[],
  from: number,
  to: number,
): Promise<Map<number, (string | null)[]>> {
  const plain = db.engine === "postgres" ? (c: string) => c : (c: string) => `CAST(${c} AS CHAR)`;
  const exprs = columns.flatMap((c) => [(c.pqRef ?? plain)(c.name), (c.csvRef ?? plain)(c.name)]);
  const rows = await db.textRows(
    `SELECT id, ${exprs.join(", ")} FROM ${db.ns}.t WHERE id BETWEEN ${from} AND ${to} ORDER BY id`,
  );
  assert.equal(rows.length, to - from + 1);
  return new Map(rows.map((r) => [Number(r[0]), r.slice(1)]));
}

const FLOAT_TEXT = /^(NaN|-?Infinity|-?\d+(\.\d+)?(e[+-]?\d+)?)$/;

function csvMatches(column: Column, actual: string | null, ref: string): boolean {
  if (actual === null) return false;
  switch (column.csvCompare ?? "exact") {
    case "exact":
      return actual === (column.csv ?? text)(ref);
    case "float32":
      return FLOAT_TEXT.test(actual) &&
        Object.is(Math.fround(Number(actual)), Math.fround(Number(ref)));
    case "float64":
      return FLOAT_TEXT.test(actual) && Object.is(Number(actual), Number(ref));
    case "json":
      return isDeepStrictEqual(JSON.parse(actual), JSON.parse(ref));
  }
}

function show(v: unknown): string {
  return Deno.inspect(v, { colors: false, depth: 4 });
}

/** Compares a Parquet file with the references: schema, ids and every value. */
async function checkParquet(
  path: string,
  columns: Column[],
  refs: Map<number, (string | null)[]>,
): Promise<void> {
  const pq = await readParquet(path);
  assert.deepEqual(
    pq.columns,
    [{ name: "id", type: "INTEGER" }, ...columns.map((c) => ({ name: c.name, type: c.duckdb }))],
  );
  assert.deepEqual(pq.rows.map((r) => Number(r.id)), [...refs.keys()]);
  const problems: string[] = [];
  for (const row of pq.rows) {
    const ref = refs.get(Number(row.id))!;
    columns.forEach((c, k) => {
      const r = ref[2 * k];
      const expected = r === null ? null : c.pq(r);
      if (!isDeepStrictEqual(row[c.name], expected)) {
        problems.push(
          `id ${row.id} ${c.name}: got ${show(row[c.name])}, want ${show(expected)} (server: ${
            show(r)
          })`,
        );
      }
    });
  }
  assert.deepEqual(problems, [], `Parquet ${path} differs from the server`);
}

/** Compares a CSV file with the references: header, ids, NULL vs empty, and every value. */
async function checkCsv(
  path: string,
  columns: Column[],
  refs: Map<number, (string | null)[]>,
): Promise<void> {
  const [header, ...records] = await readCsv(path);
  assert.deepEqual(header, ["id", ...columns.map((c) => c.name)]);
  assert.deepEqual(records.map((r) => Number(r[0])), [...refs.keys()]);
  const problems: string[] = [];
  for (const record of records) {
    const ref = refs.get(Number(record[0]))!;
    columns.forEach((c, k) => {
      const actual = record[k + 1];
      const r = ref[2 * k + 1];
      const ok = r === null ? actual === null : csvMatches(c, actual, r);
      if (!ok) {
        const want = r === null || c.csvCompare ? r : (c.csv ?? text)(r);
        problems.push(`id ${record[0]} ${c.name}: got ${show(actual)}, want ${show(want)}`);
      }
    });
  }
  assert.deepEqual(problems, [], `CSV ${path} differs from the server`);
}

interface Exported {
  file: string;
  rows: number;
}

/**
 * Runs `rivet run --validate --reconcile` with a Parquet and a CSV export of the table (same mode)
 * and returns each export's file. Checks that several batches were read and both gates passed.
 */
async function exportBoth(
  db: TestDb,
  dir: string,
  tuning: string,
  mode: "full" | "incremental",
  minBatches: number,
): Promise<{ parquet: Exported; csv: Exported }> {
  const lines = [
    "source:",
    `  type: ${db.engine}`,
    `  url: "${db.url}"`,
    `  tuning: { ${tuning}, batch_size: ${BATCH} }`,
    "exports:",
  ];
  for (const format of ["parquet", "csv"]) {
    lines.push(
      `  - name: t_${format}`,
      `    query: "SELECT * FROM ${db.ns}.t ORDER BY id"`,
      `    mode: ${mode}`,
      `    format: ${format}`,
      "    destination: { type: local, path: ./out }",
    );
    if (mode === "incremental") lines.push("    cursor_column: id");
  }
  const config = await writeFile(dir, "rivet.yaml", lines.join("\n") + "\n");
  // --reconcile too: the database's per-column aggregates must match every type's written values.
  const r = await rivet(["run", "--config", config, "--validate", "--reconcile"], {
    RIVET_LOG: "debug",
  });
  assert.equal(r.code, 0, r.stderr);
  const summaries = parseSummaries(r.stdout);
  const result = (name: string): Exported => {
    const s = summaries[name];
    assert.equal(s?.status, "success", r.stdout);
    assert.equal(s.validated, "pass");
    assert.equal(s.reconciled, "pass", r.stderr);
    const batches = [...r.stderr.matchAll(new RegExp(`export '${name}': batch (\\d+):`, "g"))];
    assert.ok(batches.length >= minBatches, `${name}: ${batches.length} batches\n${r.stderr}`);
    return { file: s.file, rows: Number(s.rows) };
  };
  return { parquet: result("t_parquet"), csv: result("t_csv") };
}

async function checkExport(
  db: TestDb,
  columns: Column[],
  files: { parquet: Exported; csv: Exported },
  from: number,
  to: number,
): Promise<void> {
  const refs = await references(db, columns, from, to);
  assert.equal(files.parquet.rows, refs.size);
  assert.equal(files.csv.rows, refs.size);
  await checkParquet(files.parquet.file, columns, refs);
  await checkCsv(files.csv.file, columns, refs);
}

/** PostgreSQL scratch table; this session renders values as rivet's session does. */
async function pgTable(db: TestDb): Promise<Column[]> {
  await db.exec("SET TimeZone = 'UTC'; SET IntervalStyle = 'iso_8601'");
  await db.exec(`CREATE TYPE ${db.ns}.mood AS ENUM ('sad', 'ok', 'happy, "very"', '😀')`);
  const columns = pgColumns(db.ns);
  await createTable(db, columns);
  return columns;
}

async function mysqlTable(db: TestDb): Promise<Column[]> {
  const columns = mysqlColumns();
  await createTable(db, columns);
  return columns;
}

// ---------------------------------------------------------------------------------------------
// The tests.

for (const profile of ["fast", "balanced"]) {
  const path = profile === "fast" ? "COPY binary" : "cursor FETCH";
  Deno.test(`types roundtrip postgres (${profile}: ${path}): every type, Parquet and CSV, exact`, async () => {
    await withDb({ create: postgresDb }, async (db) => {
      const columns = await pgTable(db);
      await load(db, columns, 1, FORWARD);
      await withTempDir(async (dir) => {
        const files = await exportBoth(db, dir, `profile: ${profile}`, "full", 3);
        await checkExport(db, columns, files, 1, LOAD_ROWS);
      });
    });
  });
}

Deno.test("types roundtrip mysql: every type, Parquet and CSV, exact", async () => {
  await withDb({ create: mysqlDb }, async (db) => {
    const columns = await mysqlTable(db);
    await load(db, columns, 1, FORWARD);
    await withTempDir(async (dir) => {
      const files = await exportBoth(db, dir, "profile: balanced", "full", 3);
      await checkExport(db, columns, files, 1, LOAD_ROWS);
    });
  });
});

// fast: on PostgreSQL the first run (no bound cursor) uses COPY, the second (cursor bound) FETCH.
for (
  const engine of [
    { name: "postgres", create: postgresDb, table: pgTable },
    { name: "mysql", create: mysqlDb, table: mysqlTable },
  ]
) {
  Deno.test(`types roundtrip ${engine.name}: incremental run picks up exactly the added rows`, async () => {
    await withDb(engine, async (db) => {
      const columns = await engine.table(db);
      await load(db, columns, 1, FORWARD);
      await withTempDir(async (dir) => {
        const first = await exportBoth(db, dir, "profile: fast", "incremental", 3);
        await checkExport(db, columns, first, 1, LOAD_ROWS);
        await load(db, columns, LOAD_ROWS + 1, BACKWARD);
        const second = await exportBoth(db, dir, "profile: fast", "incremental", 3);
        assert.notEqual(second.parquet.file, first.parquet.file);
        await checkExport(db, columns, second, LOAD_ROWS + 1, 2 * LOAD_ROWS);
      });
    });
  });
}

// ---------------------------------------------------------------------------------------------
// Values a mapping cannot carry exactly: they fail loudly, or behave as docs/types.md documents.

for (const profile of ["fast", "balanced"]) {
  Deno.test(`types postgres (${profile}): a timestamp past the Int64 microsecond range fails, never wraps`, async () => {
    await withDb({ create: postgresDb }, async (db) => {
      await withTempDir(async (dir) => {
        // 294247-01-10 04:00:54.775807 UTC is 2^63 - 1 microseconds after 1970; PostgreSQL goes on
        // to 294276-12-31. No Timestamp(us) holds these: like `infinity`, they must fail the run.
        const query = "SELECT timestamp '294247-01-10 04:00:54.775808' AS ts, " +
          "timestamptz '294276-12-31 23:59:59.999999+00' AS tstz";
        const config = await writeFile(
          dir,
          "rivet.yaml",
          `
          source:
            type: postgres
            url: "${db.url}"
            tuning: { profile: ${profile} }
          exports:
            - name: late
              query: "${query}"
              format: csv
              destination: { type: stdout }
          `,
        );
        const r = await rivet(["run", "-c", config]);
        assert.equal(r.code, 2, `exported instead of failing:\n${r.stdout}`);
        assert.match(
          parseSummaries(r.stderr).late.error,
          /column ts \(timestamp\).*no exact Arrow representation/,
        );
      });
    });
  });
}

Deno.test("types mysql: FLOAT is exact in Parquet and CSV, though the server prints 6 digits", async () => {
  // The server's FLOAT text has 6 significant digits (16777216 prints as 16777200); rivet reads the
  // column widened to DOUBLE, whose text is the stored float32 exactly, and writes it as Float32.
  // Each sample: the literal stored, the float32 it becomes (as DuckDB reads the Parquet file back)
  // and the CSV field: the shortest text that reads back as that float32, laid out as PostgreSQL's
  // float4 text is (exponent from 1e6 on).
  const samples: [literal: string, float32: number, csv: string][] = [
    ["1.2345678", 1.2345677614212036, "1.2345678"],
    ["16777217", 16777216, "1.6777216e+07"], // 2^24 + 1 is stored as 2^24
    ["123456.789", 123456.7890625, "123456.79"],
    ["3.4028234663852886e38", 3.4028234663852886e38, "3.4028235e+38"], // the largest float32
    ["1.1754943508222875e-38", 1.1754943508222875e-38, "1.1754944e-38"], // the smallest normal
    ["-0.333333343267440796", -0.3333333432674408, "-0.33333334"],
    ["1.401298464324817e-45", 1.401298464324817e-45, "1e-45"], // the smallest subnormal
    ["0.30000001192092896", 0.30000001192092896, "0.3"],
    ["-0e0", -0, "-0"], // MariaDB stores 0; the sign is checked against the server below
  ];
  await withDb({ create: mysqlDb }, async (db) => {
    await db.exec(`CREATE TABLE ${db.ns}.floats (id int PRIMARY KEY, f FLOAT)`);
    await db.exec(
      `INSERT INTO ${db.ns}.floats VALUES ${
        [...samples.map(([literal]) => literal), "NULL"].map((v, i) => `(${i + 1}, ${v})`).join(
          ", ",
        )
      }`,
    );
    await db.exec(
      `CREATE VIEW ${db.ns}.t AS SELECT id, f, CAST(f AS DOUBLE) AS f_double FROM ${db.ns}.floats`,
    );
    // The server's FLOAT text is rounded; its DOUBLE is the stored float32 itself.
    assert.deepEqual(
      await db.textRows(
        `SELECT CAST(f AS CHAR), CAST(f_double AS CHAR) FROM ${db.ns}.t WHERE id <= 2 ORDER BY id`,
      ),
      [["1.23457", "1.2345677614212036"], ["16777200", "16777216"]],
    );
    const [[negative]] = await db.textRows(
      `SELECT ATAN2(f, -1) < 0 FROM ${db.ns}.floats WHERE id = ${samples.length}`,
    );
    if (negative === "0") samples[samples.length - 1] = ["-0e0", 0, "0"];
    const columns: Column[] = [
      {
        name: "f",
        type: "FLOAT",
        duckdb: "FLOAT",
        values: [],
        pqRef: (c) => `CAST(CAST(${c} AS DOUBLE) AS CHAR)`,
        csvRef: (c) => `CAST(CAST(${c} AS DOUBLE) AS CHAR)`,
        pq: num,
        csvCompare: "float32",
      },
      {
        name: "f_double",
        type: "DOUBLE",
        duckdb: "DOUBLE",
        values: [],
        pq: num,
        csvCompare: "float64",
      },
    ];
    await withTempDir(async (dir) => {
      const files = await exportBoth(db, dir, "profile: balanced", "full", 3);
      await checkExport(db, columns, files, 1, samples.length + 1);
      // Independently of the server's rendering: the exact float32 values and their CSV text.
      const pq = await readParquet(files.parquet.file);
      assert.deepEqual(pq.rows.map((r) => r.f), [...samples.map(([, value]) => value), null]);
      const [header, ...records] = await readCsv(files.csv.file);
      const f = header.indexOf("f");
      assert.deepEqual(records.map((r) => r[f]), [...samples.map(([, , text]) => text), null]);
    });
  });
});
