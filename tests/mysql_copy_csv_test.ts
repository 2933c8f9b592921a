/**
 * MySQL/MariaDB -> CSV through the passthrough (`fast` profile, src/source/mysql/csv_stream.ts,
 * src/pipeline/extract_csv_copy.ts): each cell's CSV field written from the row packets.
 *
 * On a table of every MySQL type with edge values (NULLs, empty strings, quotes, commas, line
 * breaks, unicode, extreme integers and decimals, ZEROFILL, YEAR 0, dates 1000-01-01 to
 * 9999-12-31, DATETIME and TIME of every precision, negative and 838-hour TIMEs, FLOAT and DOUBLE
 * extremes, subnormals and -0, TINYINT(1), binary strings, JSON, ENUM, SET) the passthrough's file
 * must be byte for byte the file the Arrow path writes (forced with a test hook on the batches),
 * and csv-parse must read back the fields stated here for each value (docs/types.md). Also: `\.`
 * alone in a one-column file, results of many chunks with rows larger than a chunk, random
 * doubles and floats, values Arrow cannot hold failing with the Arrow path's very error, text
 * that is not UTF-8 (which MariaDB never sends, so the cells are fed directly), the incremental
 * cursor, the queries the passthrough declines (BIT, spatial, throttle; described once for both
 * the decline and the read), and the read's lifecycle (breaking early, aborting, the start
 * deadline).
 *
 * Run: deno test --allow-all tests/mysql_copy_csv_test.ts
 */
import assert from "node:assert/strict";
import { SourceError, TypeMappingError } from "../src/errors.ts";
import { CsvChunkBuffer } from "../src/source/mysql/csv_chunk.ts";
import { cellTargets } from "../src/source/mysql/csv_cells.ts";
import { createDecoders } from "../src/source/mysql/decode.ts";
import { openMysql } from "../src/source/mysql/mod.ts";
import { BinaryRowDecoder } from "../src/source/mysql/binary_row.ts";
import type { BinaryWire, MysqlColumn } from "../src/source/mysql/types.ts";
import { withTempDir } from "./support/files.ts";
import { MYSQL_SERVER, type MysqlTestDb, withMysqlDb } from "./support/mysql.ts";
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

// ---------------------------------------------------------------------------------------------
// Running exports.

/** Runs one CSV export of `spec.query` on `db` (see `support/passthrough_runs.ts`). */
function runCsv(db: MysqlTestDb, base: string, spec: RunSpec, dir?: string): Promise<Run> {
  const url = `mysql://${MYSQL_SERVER.user}@${MYSQL_SERVER.host}:${MYSQL_SERVER.port}/${db.name}`;
  return runPassthroughCsv({ type: "mysql", url }, base, spec, dir);
}

/** The Arrow path's run and the passthrough's of `spec`; asserts both files are the same bytes. */
async function sameAsArrow(db: MysqlTestDb, base: string, spec: RunSpec): Promise<Run> {
  const passthrough = await runCsv(db, base, spec);
  assert.ok(tookPassthrough(passthrough), `the passthrough was taken: ${passthrough.log}`);
  const arrow = await runCsv(db, base, { ...spec, hooks: ARROW });
  assert.ok(!tookPassthrough(arrow), "Arrow path");
  assertSameBytes(await bytesOf(passthrough), await bytesOf(arrow), spec.query);
  return passthrough;
}

function assertSameBytes(actual: Uint8Array, expected: Uint8Array, label: string): void {
  if (actual.length === expected.length && actual.every((b, i) => b === expected[i])) return;
  const a = new TextDecoder().decode(actual).split("\n");
  const e = new TextDecoder().decode(expected).split("\n");
  const line = a.findIndex((l, i) => l !== e[i]);
  assert.fail(
    `${label}: the files differ from line ${line + 1}:\n  passthrough: ${
      JSON.stringify(a[line]?.slice(0, 400))
    }\n  Arrow path:  ${JSON.stringify(e[line]?.slice(0, 400))}`,
  );
}

// ---------------------------------------------------------------------------------------------
// The type-torture table.

interface Column {
  name: string;
  type: string;
  /** Each sample: the SQL literal stored, and the field csv-parse must read (null: NULL). */
  samples: [sql: string, field: string | null][];
}

const SAMPLES = 6;

const TORTURE: Column[] = [
  {
    name: "b",
    type: "TINYINT(1)",
    samples: [["1", "true"], ["0", "false"], ["NULL", null]],
  },
  {
    name: "ti",
    type: "TINYINT",
    samples: [["-128", "-128"], ["127", "127"], ["0", "0"], ["-1", "-1"]],
  },
  { name: "tu", type: "TINYINT UNSIGNED", samples: [["255", "255"], ["0", "0"]] },
  { name: "si", type: "SMALLINT", samples: [["-32768", "-32768"], ["32767", "32767"]] },
  { name: "su", type: "SMALLINT UNSIGNED", samples: [["65535", "65535"], ["7", "7"]] },
  { name: "mi", type: "MEDIUMINT", samples: [["-8388608", "-8388608"], ["8388607", "8388607"]] },
  { name: "mu", type: "MEDIUMINT UNSIGNED", samples: [["16777215", "16777215"]] },
  {
    name: "i",
    type: "INT",
    samples: [["-2147483648", "-2147483648"], ["2147483647", "2147483647"], ["NULL", null]],
  },
  { name: "iu", type: "INT UNSIGNED", samples: [["4294967295", "4294967295"], ["10", "10"]] },
  {
    name: "bi",
    type: "BIGINT",
    samples: [
      ["-9223372036854775808", "-9223372036854775808"],
      ["9223372036854775807", "9223372036854775807"],
      ["0", "0"],
      ["-123456789012345678", "-123456789012345678"],
    ],
  },
  {
    name: "bu",
    type: "BIGINT UNSIGNED",
    samples: [
      ["18446744073709551615", "18446744073709551615"],
      ["0", "0"],
      ["9999999999999999999", "9999999999999999999"],
      ["10000000000000000000", "10000000000000000000"],
    ],
  },
  {
    name: "zf",
    type: "INT(6) ZEROFILL",
    samples: [["42", "42"], ["0", "0"], ["123456", "123456"]],
  },
  {
    name: "y",
    type: "YEAR",
    samples: [["2024", "2024"], ["1901", "1901"], ["2155", "2155"], ["0", "0"]],
  },
  {
    name: "d2",
    type: "DECIMAL(10,2)",
    samples: [
      ["-1.5", "-1.50"],
      ["0", "0.00"],
      ["12345678.99", "12345678.99"],
      ["-0.01", "-0.01"],
      ["0.5", "0.50"],
    ],
  },
  { name: "d0", type: "DECIMAL(5,0)", samples: [["-99999", "-99999"], ["0", "0"], ["7", "7"]] },
  {
    name: "d38",
    type: "DECIMAL(38,10)",
    samples: [
      ["9999999999999999999999999999.9999999999", "9999999999999999999999999999.9999999999"],
      ["-0.0000000001", "-0.0000000001"],
      ["1", "1.0000000000"],
    ],
  },
  {
    name: "dz",
    type: "DECIMAL(6,2) ZEROFILL",
    samples: [["1.5", "1.50"], ["0", "0.00"], ["9999.99", "9999.99"]],
  },
  {
    name: "d65",
    type: "DECIMAL(65,30)",
    samples: [
      [
        "-12345678901234567890123456789012345.123456789012345678901234567890",
        "-12345678901234567890123456789012345.123456789012345678901234567890",
      ],
      ["0", "0.000000000000000000000000000000"],
    ],
  },
  {
    name: "f",
    type: "FLOAT",
    samples: [
      ["0.1", "0.1"],
      // MariaDB stores a negative zero as 0.
      ["-0e0", "0"],
      ["3.40282e38", "3.40282e+38"],
      ["1.4e-45", "1e-45"],
      ["16777217", "1.6777216e+07"],
      ["-1.17549435e-38", "-1.1754944e-38"],
    ],
  },
  {
    name: "dbl",
    type: "DOUBLE",
    samples: [
      ["0.1", "0.1"],
      // MariaDB stores a negative zero as 0.
      ["-0e0", "0"],
      ["1e300", "1e+300"],
      ["5e-324", "5e-324"],
      ["2.2250738585072014e-308", "2.2250738585072014e-308"],
      ["1.7976931348623157e308", "1.7976931348623157e+308"],
      ["123456789012345", "123456789012345"],
      ["1234567890123456", "1.234567890123456e+15"],
      ["1e15", "1e+15"],
      ["0.0001", "0.0001"],
      ["0.00001", "1e-05"],
      ["100", "100"],
      ["-1.5", "-1.5"],
      ["0.30000000000000004", "0.30000000000000004"],
      ["0.000123456789012345", "0.000123456789012345"],
      ["-99999999999999.9", "-99999999999999.9"],
    ],
  },
  {
    name: "c",
    type: "CHAR(5)",
    samples: [["'ab'", "ab"], ["''", ""], ["'x,y'", "x,y"], ["NULL", null]],
  },
  {
    name: "vc",
    type: "VARCHAR(100)",
    samples: [
      [`'a "quoted", name'`, 'a "quoted", name'],
      ["'line1\\nline2'", "line1\nline2"],
      ["'cr\\r'", "cr\r"],
      ["'😀 é ü'", "😀 é ü"],
      ["''", ""],
      ["NULL", null],
      ["'NULL'", "NULL"],
      ["' spaced '", " spaced "],
      ["'\\\\.'", "\\."],
      ["'\"'", '"'],
    ],
  },
  {
    name: "tx",
    type: "TEXT",
    samples: [["REPEAT('ab,', 100)", "ab,".repeat(100)], ["'plain'", "plain"], ["''", ""]],
  },
  {
    name: "e",
    type: "ENUM('a','b c','')",
    samples: [["'b c'", "b c"], ["''", ""], ["'a'", "a"]],
  },
  {
    name: "st",
    type: "SET('x','y','z')",
    samples: [["'x,z'", "x,z"], ["''", ""], ["'y'", "y"]],
  },
  {
    name: "j",
    type: "JSON",
    samples: [[`'{"a": [1, "x,y"]}'`, '{"a": [1, "x,y"]}'], [`'""'`, '""'], ["'1'", "1"]],
  },
  {
    name: "bn",
    type: "BINARY(3)",
    samples: [["x'00ff10'", "00ff10"], ["x'2c0a22'", "2c0a22"]],
  },
  {
    name: "vb",
    type: "VARBINARY(10)",
    samples: [["x''", ""], ["x'deadbeef'", "deadbeef"], ["NULL", null]],
  },
  { name: "bl", type: "BLOB", samples: [["x'0a2c22'", "0a2c22"], ["''", ""]] },
  {
    name: "dt",
    type: "DATE",
    samples: [
      ["'1000-01-01'", "1000-01-01"],
      ["'9999-12-31'", "9999-12-31"],
      ["'2024-02-29'", "2024-02-29"],
      ["'0001-01-01'", "0001-01-01"],
    ],
  },
  {
    name: "dtm",
    type: "DATETIME",
    samples: [
      ["'1000-01-01 00:00:00'", "1000-01-01T00:00:00.000000"],
      ["'9999-12-31 23:59:59'", "9999-12-31T23:59:59.000000"],
    ],
  },
  {
    name: "dtm3",
    type: "DATETIME(3)",
    samples: [["'2024-01-02 03:04:05.678'", "2024-01-02T03:04:05.678000"]],
  },
  {
    name: "dtm6",
    type: "DATETIME(6)",
    samples: [
      ["'2024-01-02 03:04:05.000001'", "2024-01-02T03:04:05.000001"],
      ["'9999-12-31 23:59:59.999999'", "9999-12-31T23:59:59.999999"],
    ],
  },
  {
    name: "ts",
    type: "TIMESTAMP(6) NULL",
    samples: [
      ["'1970-01-01 00:00:01'", "1970-01-01T00:00:01.000000Z"],
      ["'2038-01-19 03:14:07.999999'", "2038-01-19T03:14:07.999999Z"],
      ["NULL", null],
    ],
  },
  {
    name: "ts0",
    type: "TIMESTAMP NULL",
    samples: [["'2024-06-01 12:00:00'", "2024-06-01T12:00:00.000000Z"]],
  },
  {
    name: "tm",
    type: "TIME",
    samples: [
      ["'-838:59:59'", "-838:59:59"],
      ["'838:59:59'", "838:59:59"],
      ["'00:00:00'", "00:00:00"],
      ["'-00:00:01'", "-00:00:01"],
      ["'100:00:00'", "100:00:00"],
    ],
  },
  {
    name: "tm3",
    type: "TIME(3)",
    samples: [["'12:00:00.5'", "12:00:00.500"], ["'-00:00:00.001'", "-00:00:00.001"]],
  },
  {
    name: "tm6",
    type: "TIME(6)",
    samples: [["'-00:00:01.5'", "-00:00:01.500000"], ["'838:59:59.999999'", "838:59:59.999999"]],
  },
];

/**
 * Expressions (a TIME of declared fraction digits, a DOUBLE in exponent form, a rounded negative
 * zero, a computed scale), with the field each must read as.
 */
const EXPRESSIONS: [sql: string, name: string, field: string][] = [
  ["TIMEDIFF('00:00:00', '00:00:00.5')", "td", "-00:00:00.5"],
  ["SEC_TO_TIME(-0.4)", "stt", "-00:00:00.4"],
  ["1e20 + 0e0", "big", "1e+20"],
  ["ROUND(-0.001, 2)", "rnd", "0.00"],
  ["CAST(12 AS DECIMAL(10, 4)) / 7", "q", "1.71428571"],
];

/** The sample of `column` in row `r` (1-based), cycled. */
function sample(column: Column, r: number): [string, string | null] {
  return column.samples[(r - 1) % column.samples.length];
}

/** Rows: as many as the longest sample list, at least {@link SAMPLES}. */
const TORTURE_ROWS = Math.max(SAMPLES, ...TORTURE.map((c) => c.samples.length));

function tortureSql(): string {
  const rows = Array.from({ length: TORTURE_ROWS }, (_, k) => {
    const r = k + 1;
    return `(${r}, ${TORTURE.map((c) => sample(c, r)[0]).join(", ")})`;
  });
  return [
    `CREATE TABLE t (id INT PRIMARY KEY, ${TORTURE.map((c) => `${c.name} ${c.type}`).join(", ")})`,
    `INSERT INTO t VALUES ${rows.join(",\n")}`,
  ].join(";\n");
}

Deno.test("mysql copy csv: every type, byte for byte the Arrow path's file, read back as stated", async () => {
  await withMysqlDb(tortureSql(), async (db) => {
    await withTempDir(async (base) => {
      const run = await sameAsArrow(db, base, {
        query: `SELECT t.*, NULL AS nothing, ${
          EXPRESSIONS.map(([e, name]) => `${e} AS ${name}`)
        } ` +
          "FROM t ORDER BY id",
      });
      assert.equal(run.summary.rows, TORTURE_ROWS);
      const records = await readCsv(run.files[0]);
      const names = EXPRESSIONS.map(([, name]) => name);
      assert.deepEqual(records[0], ["id", ...TORTURE.map((c) => c.name), "nothing", ...names]);
      const problems: string[] = [];
      records.slice(1).forEach((record, k) => {
        const r = k + 1;
        assert.equal(record[0], String(r));
        TORTURE.forEach((c, i) => {
          const [literal, want] = sample(c, r);
          if (record[i + 1] !== want) {
            problems.push(
              `row ${r} ${c.name} ${literal}: got ${JSON.stringify(record[i + 1])}, want ${
                JSON.stringify(want)
              }`,
            );
          }
        });
        assert.deepEqual(record.slice(-1 - EXPRESSIONS.length), [
          null,
          ...EXPRESSIONS.map(([, , field]) => field),
        ]);
      });
      assert.deepEqual(problems, []);
    });
  });
});

Deno.test("mysql copy csv: \\. alone in a one-column file is quoted, as the CSV writer quotes it", async () => {
  await withMysqlDb(
    `CREATE TABLE one (id INT, s TEXT);
     INSERT INTO one VALUES (1, '\\\\.'), (2, NULL), (3, ''), (4, '\\\\.x'), (5, '.'),
       (6, 'a\\n\\\\.\\nb')`,
    async (db) => {
      await withTempDir(async (base) => {
        const run = await sameAsArrow(db, base, {
          query: "SELECT s AS `\\.` FROM one ORDER BY id",
        });
        const text = await Deno.readTextFile(run.files[0]);
        assert.equal(text, '"\\."\n"\\."\n\n""\n\\.x\n.\n"a\n\\.\nb"\n');
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
    },
  );
});

Deno.test("mysql copy csv: many chunks, rows larger than a chunk and than a socket read", async () => {
  await withMysqlDb(
    `SET SESSION max_recursive_iterations = 100000;
     CREATE TABLE big (id INT PRIMARY KEY, s LONGTEXT, b TINYINT(1), at DATETIME(6),
       bin MEDIUMBLOB);
     INSERT INTO big
       WITH RECURSIVE g (n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM g WHERE n < 50000)
       SELECT n,
         CASE WHEN n IN (2500, 9000) THEN REPEAT('ab"c,\\n', 500000)
              ELSE CONCAT('r', n, REPEAT('x', n % 300)) END,
         n % 2, '2024-01-01' + INTERVAL n * 1500 MICROSECOND,
         CASE WHEN n = 7000 THEN REPEAT(x'ff00', 1000000) ELSE x'0102' END
       FROM g`,
    async (db) => {
      await withTempDir(async (base) => {
        const run = await sameAsArrow(db, base, { query: "SELECT * FROM big ORDER BY id" });
        assert.equal(run.summary.rows, 50000);
        const records = await readCsv(run.files[0]);
        assert.equal(records[2500][1], 'ab"c,\n'.repeat(500000));
        assert.equal(records[7000][4], "ff00".repeat(1000000));
        assert.deepEqual(records[50000], [
          "50000",
          "r50000" + "x".repeat(50000 % 300),
          "false",
          "2024-01-01T00:01:15.000000",
          "0102",
        ]);
        const batches = run.log.match(/batch \d+: \d+ rows/g) ?? [];
        assert.ok(batches.length > 10, `many chunks: ${batches.length}`);
      });
    },
  );
});

Deno.test("mysql copy csv: random doubles and floats print as the Arrow path prints them", async () => {
  const bits = new DataView(new ArrayBuffer(8));
  const doubles: string[] = [];
  const floats: string[] = [];
  for (let k = 0; k < 3000; k++) {
    // Random bit patterns cover every exponent, subnormals included; decimal ones the fixed range.
    bits.setUint32(0, (Math.random() * 2 ** 32) >>> 0);
    bits.setUint32(4, (Math.random() * 2 ** 32) >>> 0);
    const d = bits.getFloat64(0);
    const f = bits.getFloat32(0);
    if (Number.isFinite(d)) doubles.push(String(d));
    if (Number.isFinite(f)) floats.push(String(f));
    const scale = 10 ** Math.floor(Math.random() * 24 - 8);
    doubles.push(String(Math.round(Math.random() * 1e6) / 1e3 * scale));
    floats.push(String(Math.fround(Math.random() * scale)));
  }
  const rows = doubles.map((d, k) => `(${k}, ${d}, ${floats[k % floats.length]})`);
  await withMysqlDb(
    `CREATE TABLE fl (id INT PRIMARY KEY, d DOUBLE, f FLOAT);
     INSERT INTO fl VALUES ${rows.join(", ")}`,
    async (db) => {
      await withTempDir(async (base) => {
        await sameAsArrow(db, base, { query: "SELECT * FROM fl ORDER BY id" });
        // An order no derived table could repeat changes nothing: the FLOAT is its own bytes.
        await sameAsArrow(db, base, { query: "SELECT id, f FROM fl ORDER BY id + 0" });
      });
    },
  );
});

// ---------------------------------------------------------------------------------------------
// Values Arrow cannot hold: the Arrow path's very error.

Deno.test("mysql copy csv: values Arrow cannot hold fail with the Arrow path's error", async () => {
  await withMysqlDb(
    `SET SESSION sql_mode = 'ALLOW_INVALID_DATES';
     CREATE TABLE z (id INT, d DATE, dt DATETIME, ts TIMESTAMP NULL, b TINYINT(1), s VARCHAR(10));
     INSERT INTO z VALUES (1, '2024-01-01', '2024-01-01 00:00:00', NULL, 1, 'a'),
       (2, '0000-00-00', '0000-00-00 00:00:00', '0000-00-00 00:00:00', 5, 'b'),
       (3, '2024-02-30', '2024-00-10 10:00:00', NULL, 0, 'c')`,
    async (db) => {
      const cases: [query: string, pattern: RegExp][] = [
        ["SELECT id, d FROM z ORDER BY id", /column d \(date\) holds '0000-00-00'/],
        ["SELECT id, d FROM z WHERE id = 3", /holds '2024-02-30': a day that does not exist/],
        ["SELECT dt, id FROM z ORDER BY id", /column dt \(datetime\) holds '0000-00-00 00:00:00'/],
        ["SELECT dt FROM z WHERE id = 3", /holds '2024-00-10 10:00:00': a zero or partial date/],
        ["SELECT ts FROM z ORDER BY id", /column ts \(timestamp\) holds '0000-00-00 00:00:00'/],
        ["SELECT b, s FROM z ORDER BY id", /column b \(tinyint\(1\)\) holds '5'/],
      ];
      await withTempDir(async (base) => {
        for (const [query, pattern] of cases) {
          const passthrough = await runCsv(db, base, { query });
          const arrow = await runCsv(db, base, { query, hooks: ARROW });
          assert.ok(tookPassthrough(passthrough), query);
          assert.equal(passthrough.summary.status, "failed", query);
          assert.equal(arrow.summary.status, "failed", query);
          assert.match(passthrough.summary.error!, pattern, query);
          assert.equal(passthrough.summary.error, arrow.summary.error, query);
          assert.deepEqual(passthrough.files, [], `${query}: nothing delivered`);
        }
      });
    },
  );
});

// ---------------------------------------------------------------------------------------------
// Declined queries and the incremental cursor.

Deno.test("mysql copy csv: BIT, spatial columns and a throttle read batches, with the same file", async () => {
  await withMysqlDb(
    `CREATE TABLE t (id INT PRIMARY KEY, flag BIT(1), bits BIT(12), g POINT, note VARCHAR(20));
     INSERT INTO t VALUES (1, b'1', b'101010101010', ST_GeomFromText('POINT(3 4)'), 'a,b'),
       (2, b'0', NULL, ST_GeomFromText('POINT(-1 0.5)', 4326), NULL),
       (3, NULL, b'0', NULL, '')`,
    async (db) => {
      await withTempDir(async (base) => {
        const declined: [label: string, spec: RunSpec][] = [
          ["BIT(1)", { query: "SELECT id, flag FROM t ORDER BY id" }],
          ["BIT(12)", { query: "SELECT id, bits FROM t ORDER BY id" }],
          ["POINT", { query: "SELECT id, g FROM t ORDER BY id" }],
          ["throttle", { query: "SELECT id, note FROM t ORDER BY id", tuning: "throttle_ms: 1" }],
        ];
        for (const [label, spec] of declined) {
          const run = await runCsv(db, base, spec);
          assert.ok(!tookPassthrough(run), `${label}: no passthrough`);
          assert.match(run.log, new RegExp(`${DECLINED}: the source reads this query so`), label);
          const arrow = await runCsv(db, base, { ...spec, hooks: ARROW });
          assertSameBytes(await bytesOf(run), await bytesOf(arrow), label);
        }
        const bits = await readCsv((await runCsv(db, base, declined[1][1])).files[0]);
        assert.deepEqual(bits.slice(1), [["1", "2730"], ["2", null], ["3", "0"]]);
        // The same columns without them: the passthrough, and the same records.
        await sameAsArrow(db, base, { query: "SELECT id, note FROM t ORDER BY id" });
      });
    },
  );
});

Deno.test("mysql copy csv: a declined query is described once, by the decline alone", async () => {
  await withMysqlDb(
    `CREATE TABLE t (id INT PRIMARY KEY, flag BIT(1));
     INSERT INTO t VALUES (1, b'1'), (2, NULL)`,
    async (db) => {
      const source = await openMysql(db.config());
      const query = { text: "SELECT id, flag FROM t ORDER BY id", params: [] };
      const options = { batchRows: 10, throttleMs: 0 };
      /** Rows of `text` as read by `source`, the whole result consumed. */
      const read = async (text: string): Promise<unknown[][]> => {
        const rows: unknown[][] = [];
        for await (const batch of (await source.query({ text, params: [] }, options)).batches) {
          for (const row of batch.toArray()) rows.push(Object.values(row.toJSON()));
        }
        return rows;
      };
      // This session's prepared statements so far: describing a query prepares it once, and so
      // does every read (its rows are a prepared statement's binary rows).
      const prepares = async () =>
        Number((await read("SHOW SESSION STATUS LIKE 'Com_stmt_prepare'"))[0][1]);
      try {
        let before = await prepares();
        assert.equal((await read(query.text)).length, 2);
        const alone = await prepares() - before;
        before = await prepares();
        assert.equal(await source.copyCsv!(query, { throttleMs: 0 }), undefined, "declined");
        assert.deepEqual(await read(query.text), [[1, true], [2, null]]);
        assert.equal(await prepares() - before, alone + 1, "the decline's describe, then the read");
      } finally {
        await source.close();
      }
    },
  );
});

Deno.test("mysql copy csv: the incremental cursor is the one the Arrow path stores", async () => {
  const cursors: [type: string, values: string[]][] = [
    ["INT", ["1", "-5", "NULL"]],
    ["BIGINT UNSIGNED", ["1", "18446744073709551615"]],
    ["DECIMAL(12,3)", ["-1.5", "123456789.125"]],
    ["DECIMAL(50,5)", ["1.5", "99999999999999999999999.1"]],
    ["FLOAT", ["0.1", "16777217", "3.4e38"]],
    ["DOUBLE", ["0.1", "1e300", "5e-324"]],
    ["DATE", ["'1000-01-01'", "'9999-12-31'"]],
    ["DATETIME(6)", ["'2024-01-01 00:00:00'", "'2024-01-01 00:00:00.5'", "NULL"]],
    ["TIMESTAMP NULL", ["'2024-01-01 00:00:00'", "'2030-06-01 12:00:01'"]],
    ["VARCHAR(20)", [`'a'`, `'z, "quoted"\\n'`]],
  ];
  await withMysqlDb("", async (db) => {
    await withTempDir(async (base) => {
      for (const [i, [type, values]] of cursors.entries()) {
        const table = `c${i}`;
        await db.exec(
          `CREATE TABLE ${table} (id INT AUTO_INCREMENT PRIMARY KEY, k ${type}, pad TINYINT(1) DEFAULT 1)`,
        );
        await db.exec(`INSERT INTO ${table} (k) VALUES ${values.map((v) => `(${v})`).join(", ")}`);
        const spec: RunSpec = {
          query: `SELECT id % 2 AS parity, k, pad FROM ${table}`,
          exportLines: ["mode: incremental", "cursor_column: k"],
        };
        const fast = await runCsv(db, base, spec);
        const arrow = await runCsv(db, base, { ...spec, hooks: ARROW });
        assert.ok(tookPassthrough(fast), type);
        assertSameBytes(await bytesOf(fast), await bytesOf(arrow), type);
        const cursor = cursorOf(fast);
        assert.ok(cursor !== undefined, `${type}: a cursor`);
        assert.deepEqual(cursor, cursorOf(arrow), type);
        // The next run reads after the cursor (bound into the query's text: the passthrough too).
        await db.exec(`INSERT INTO ${table} (k) SELECT MAX(k) FROM ${table}`);
        const again = await runCsv(db, base, spec, fast.dir);
        assert.equal(again.summary.error, undefined, `${type}: ${again.summary.error}`);
        assert.equal(again.summary.rows, 0, `${type}: nothing after the cursor`);
      }
    });
  });
});

// ---------------------------------------------------------------------------------------------
// Cells without a server.

/** A binary row packet of `cells` (null: NULL), each given as its bytes on the wire. */
function rowPacket(cells: (number[] | null)[]): Uint8Array {
  const bitmap = new Array<number>((cells.length + 9) >> 3).fill(0);
  cells.forEach((c, i) => {
    if (c === null) bitmap[(i + 2) >> 3] |= 1 << ((i + 2) & 7);
  });
  return Uint8Array.from([0, ...bitmap, ...cells.flatMap((c) => c ?? [])]);
}

Deno.test("mysql copy csv: text that is not UTF-8 fails, as the CSV writer refuses it", () => {
  const columns: MysqlColumn[] = [
    { name: "id", sourceType: "int", kind: "int32", precision: 0, scale: 0 },
    { name: "s", sourceType: "varchar", kind: "text", precision: 0, scale: 0 },
  ];
  const buffer = new CsvChunkBuffer();
  const { schema } = createDecoders(columns);
  const wires: BinaryWire[] = ["i32", "bytes"];
  const row = new BinaryRowDecoder(columns, wires, cellTargets(columns, wires, schema, buffer));
  const write = (cells: (number[] | null)[]) => {
    const packet = rowPacket(cells);
    buffer.reserve(2 * packet.length + 64);
    row.decode(packet, 0, packet.length);
    buffer.endRecord();
  };
  const int = (n: number) => [n, 0, 0, 0];
  const text = (bytes: number[]) => [bytes.length, ...bytes];
  write([int(1), text([...new TextEncoder().encode("é, 😀")])]);
  write([int(2), null]);
  for (
    const bad of [[0x61, 0xff], [0xc3], [0xed, 0xa0, 0x80], [0xc0, 0xaf], [0xf4, 0x90, 0x80, 0x80]]
  ) {
    assert.throws(
      () => write([int(3), text(bad)]),
      (error: unknown) =>
        error instanceof TypeMappingError && /column s \(varchar\).*utf-8/.test(error.message),
      String(bad),
    );
  }
  assert.equal(
    new TextDecoder().decode(buffer.bytes.subarray(0, buffer.ends[1])),
    '1,"é, 😀"\n2,\n',
  );
});

Deno.test("mysql copy csv: a chunk buffer grown for one outsized record shrinks back once it is spent", () => {
  const buffer = new CsvChunkBuffer();
  const usual = buffer.bytes.length;
  const huge = 9 * 1024 * 1024;
  buffer.reserve(huge + 1);
  buffer.bytes.fill(0x61, 0, huge);
  buffer.at = huge;
  buffer.endRecord();
  assert.equal(buffer.ends[0], huge + 1);
  buffer.clear();
  assert.equal(buffer.bytes.length, usual, "the outsized buffer is let go");
  buffer.reserve(3);
  buffer.bytes.set([0x62, 0x2c, 0x63], buffer.at);
  buffer.at += 3;
  buffer.endRecord();
  assert.equal(new TextDecoder().decode(buffer.bytes.subarray(0, buffer.ends[0])), "b,c\n");

  // A record of the usual sizes keeps its buffer from one chunk to the next.
  const kept = buffer.bytes;
  buffer.clear();
  assert.equal(buffer.bytes, kept);
});

// ---------------------------------------------------------------------------------------------
// The read's lifecycle, shared with the batches (read.ts): breaking, aborting, the start deadline.

/** 100k rows of 200 bytes: about 20 chunks of records. */
const BIG = `SET SESSION max_recursive_iterations = 1000000;
  CREATE TABLE big (id INT PRIMARY KEY, pad VARCHAR(200));
  INSERT INTO big WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < 100000)
  SELECT n, REPEAT('x', 200) FROM s;`;

/** Waits until no server thread runs a statement containing `marker`; false after `ms`. */
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

Deno.test("mysql copy csv: breaking early, aborting and the start deadline stop the server", async () => {
  await withMysqlDb(BIG, async (db) => {
    // Breaking after the first chunk: the server, blocked on the paused socket, is released.
    const marker = `rivet_break_${crypto.randomUUID().slice(0, 8)}`;
    let source = await openMysql(db.config());
    try {
      const stream = await source.copyCsv!(
        { text: `SELECT /* ${marker} */ id, pad FROM big ORDER BY id`, params: [] },
        { throttleMs: 0 },
      );
      assert.ok(stream !== undefined);
      for await (const chunk of stream.chunks) {
        assert.ok(chunk.rows > 1000 && chunk.rows < 100000, `${chunk.rows} rows in a chunk`);
        assert.equal(chunk.ends[chunk.rows - 1], chunk.bytes.length);
        assert.equal(await queryGone(db, marker, 0), false, "still sending before the break");
        break;
      }
      assert.ok(await queryGone(db, marker), "the query still runs after the break");
    } finally {
      await source.close();
    }
    // An abort while the query still executes (a SLEEP at row 2000) rejects with its reason.
    const slow = `rivet_abort_${crypto.randomUUID().slice(0, 8)}`;
    const controller = new AbortController();
    source = await openMysql(db.config());
    try {
      const stream = await source.copyCsv!(
        {
          text:
            `SELECT /* ${slow} */ id, pad, IF(id = 2000, SLEEP(60), 0) AS s FROM big ORDER BY id`,
          params: [],
        },
        { throttleMs: 0, signal: controller.signal },
      );
      setTimeout(() => controller.abort(new Error("stop")), 500);
      const started = Date.now();
      await assert.rejects(
        (async () => {
          for await (const _ of stream!.chunks) { /* read on */ }
        })(),
        (error: unknown) => error instanceof Error && error.message === "stop",
      );
      assert.ok(Date.now() - started < 5_000);
      assert.ok(await queryGone(db, slow), "SLEEP(60) still runs after the abort");
    } finally {
      await source.close();
    }
    // No row within statement_timeout_s: the read is stopped and fails as a timeout.
    source = await openMysql(db.config({ statement_timeout_s: 1 }));
    try {
      const started = Date.now();
      await assert.rejects(
        async () => {
          const stream = await source.copyCsv!(
            { text: "SELECT SLEEP(3) AS s FROM big LIMIT 1", params: [] },
            { throttleMs: 0 },
          );
          for await (const _ of stream!.chunks) { /* read on */ }
        },
        (error: unknown) => error instanceof SourceError && error.retryClass === "timeout",
      );
      assert.ok(Date.now() - started < 2_900, "stopped before the SLEEP ended");
    } finally {
      await source.close();
    }
  });
});

Deno.test("mysql copy csv: chunked windows on parallel pinned snapshots, each file the Arrow path's", async () => {
  await withMysqlDb(
    `SET SESSION max_recursive_iterations = 10000;
     CREATE TABLE w (id INT PRIMARY KEY, at DATETIME(3), note VARCHAR(20));
     INSERT INTO w WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < 1000)
       SELECT n, '2024-01-01' + INTERVAL n SECOND, IF(n % 5 = 0, NULL, CONCAT('n,', n)) FROM s`,
    async (db) => {
      await withTempDir(async (base) => {
        const spec: RunSpec = {
          query: "SELECT * FROM w",
          exportLines: ["mode: chunked", "chunk_column: id", "chunk_size: 150", "parallel: 3"],
        };
        const contents = async (run: Run) => {
          assert.equal(run.summary.error, undefined, run.summary.error);
          return (await Promise.all(run.files.map((f) => Deno.readTextFile(f)))).sort();
        };
        const fast = await runCsv(db, base, spec);
        assert.ok(tookPassthrough(fast));
        assert.equal(fast.summary.rows, 1000);
        assert.equal(fast.files.length, 7);
        const arrow = await runCsv(db, base, { ...spec, hooks: ARROW });
        assert.ok(!tookPassthrough(arrow));
        assert.deepEqual(await contents(fast), await contents(arrow));
      });
    },
  );
});
