/**
 * MySQL rows read straight from their packets: the text-protocol row layout (length prefixes of
 * every width, NULL beside the empty string), values kept within their own bytes and exact at the
 * edges of their types, the interception of mysql2's row state, every type family delivered in
 * pieces that cut packets at arbitrary points, and rows that span mysql2's 16 MiB packet boundary,
 * checked against the server's own hashes of the values.
 *
 * @module
 */
import { Buffer } from "node:buffer";
import assert from "node:assert/strict";
import { EventEmitter } from "node:events";
import net from "node:net";
import { Duplex } from "node:stream";
import mysql from "mysql2";
import { type Data, type Decimal, type RecordBatch, Type } from "apache-arrow";
import type { ColumnBuilder } from "../src/arrow/mod.ts";
import { SourceError, TypeMappingError } from "../src/errors.ts";
import { createDecoders } from "../src/source/mysql/decode.ts";
import { MysqlSession } from "../src/source/mysql/connect.ts";
import { openMysql } from "../src/source/mysql/mod.ts";
import { interceptRows } from "../src/source/mysql/raw_rows.ts";
import { TextRowDecoder } from "../src/source/mysql/text_row.ts";
import {
  type MysqlColumn,
  type MysqlField,
  type MysqlKind,
  resolveColumns,
} from "../src/source/mysql/types.ts";
import { MYSQL_SERVER, withMysqlDb } from "./support/mysql.ts";
import { startTcpProxy } from "./support/tcp_proxy.ts";

const utf8 = new TextEncoder();

function column(name: string, kind: MysqlKind, sourceType: string): MysqlColumn {
  return { name, sourceType, kind, precision: kind === "decimal" ? 10 : 0, scale: 0 };
}

/** The length prefix of a text-protocol cell of `n` bytes, in its shortest form. */
function lengthPrefix(n: number): number[] {
  if (n < 251) return [n];
  if (n < 65_536) return [0xfc, n & 0xff, n >> 8];
  if (n < 16_777_216) return [0xfd, n & 0xff, (n >> 8) & 0xff, n >> 16];
  const high = Math.floor(n / 4_294_967_296);
  const low = n - high * 4_294_967_296;
  return [
    0xfe,
    ...[0, 8, 16, 24].map((s) => (low >>> s) & 0xff),
    ...[0, 8, 16, 24].map((s) => (high >>> s) & 0xff),
  ];
}

/**
 * A row packet's payload for `cells` (null: NULL), after `before` bytes of digits and signs and
 * followed by the bytes `after`: what a decoder reading outside its value would see.
 */
function packet(
  cells: (Uint8Array | null)[],
  before = 0,
  after: Uint8Array = new Uint8Array(),
): { bytes: Uint8Array; start: number; end: number } {
  const parts: number[][] = cells.map((c) => (c === null ? [0xfb] : lengthPrefix(c.length)));
  const size = cells.reduce((n, c, i) => n + parts[i].length + (c?.length ?? 0), 0);
  const bytes = new Uint8Array(before + size + after.length).fill(0x35);
  for (let i = 0; i < before; i += 3) bytes[i] = 0x2d;
  bytes.set(after, before + size);
  let at = before;
  cells.forEach((c, i) => {
    bytes.set(parts[i], at);
    at += parts[i].length;
    if (c !== null) {
      bytes.set(c, at);
      at += c.length;
    }
  });
  return { bytes, start: before, end: at };
}

function texts(data: Data): (string | null)[] {
  const offsets = data.valueOffsets as Int32Array;
  const values = data.values as Uint8Array;
  const out: (string | null)[] = [];
  for (let i = 0; i < data.length; i++) {
    const valid = data.nullCount === 0 || ((data.nullBitmap![i >> 3] >> (i & 7)) & 1) === 1;
    out.push(valid ? new TextDecoder().decode(values.subarray(offsets[i], offsets[i + 1])) : null);
  }
  return out;
}

function decoderFor(columns: MysqlColumn[]) {
  const { decoders } = createDecoders(columns);
  return { row: new TextRowDecoder(columns, decoders), builders: decoders.map((d) => d.builder) };
}

Deno.test("mysql row packets: every length prefix width, NULL beside the empty string", () => {
  const columns = ["a", "b", "c", "d"].map((n) => column(n, "text", "varchar"));
  const { row, builders } = decoderFor(columns);
  const multibyte = "é😀中\u0000x";
  const expected: (string | null)[][] = [];
  for (
    const n of [0, 1, 250, 251, 252, 65_535, 65_536, 65_537, 16_777_215, 16_777_216]
  ) {
    const long = "ab".repeat(Math.ceil(n / 2)).slice(0, n);
    const cells = [null, "", long, multibyte];
    expected.push(cells);
    const { bytes, start, end } = packet(
      cells.map((c) => (c === null ? null : utf8.encode(c))),
      7,
      utf8.encode("12:34"),
    );
    row.decode(bytes, start, end);
  }
  const columnsOut = builders.map((b) => texts(b.finish()));
  const rows = expected.map((_, r) => columnsOut.map((c) => c[r]));
  assert.equal(rows.length, expected.length);
  for (const [r, cells] of expected.entries()) {
    assert.equal(rows[r][0], null);
    assert.equal(rows[r][1], "");
    assert.equal(rows[r][2]!.length, cells[2]!.length, `row ${r}`);
    assert.ok(rows[r][2] === cells[2], `row ${r}: value of ${cells[2]!.length} bytes`);
    assert.equal(rows[r][3], multibyte);
  }
});

Deno.test("mysql row packets: each value is decoded from its own bytes only", () => {
  const columns = [
    column("i", "int32", "int"),
    column("big", "int64", "bigint"),
    column("d", "date", "date"),
    column("ts", "datetime", "datetime(6)"),
    column("t", "time", "time(6)"),
    column("f", "float64", "double"),
    column("n", "decimal", "decimal(10,0)"),
    column("b", "bool", "tinyint(1)"),
    column("bits", "bit", "bit(16)"),
  ];
  const { row, builders } = decoderFor(columns);
  const cells = [
    "-12",
    "-9223372036854775808",
    "2024-02-29",
    "2024-02-29 23:59:59.5",
    "-1:02:03.25",
    "1.5",
    "-42",
    "1",
  ]
    .map((t) => utf8.encode(t));
  const { bytes, start, end } = packet(
    [...cells, new Uint8Array([0x01, 0x02])],
    4,
    utf8.encode("5:5"),
  );
  row.decode(bytes, start, end);
  const values = builders.map((b) => b.finish().values as ArrayLike<number | bigint>);
  assert.equal(values[0][0], -12);
  assert.equal(values[1][0], -9223372036854775808n);
  assert.equal(values[2][0], 19782);
  assert.equal(values[3][0], 1709251199500000n);
  assert.equal(values[4][0], -3723250000n);
  assert.equal(values[5][0], 1.5);
  assert.equal((values[6] as Uint32Array)[0], 0xffffffd6);
  assert.equal((values[7] as Uint8Array)[0] & 1, 1);
  assert.equal(values[8][0], 0x0102n);

  // A value cut short is malformed even when the bytes after it would complete it.
  const cut: [MysqlColumn, string, string][] = [
    [column("d", "date", "date"), "2024-02-2", "9"],
    [column("t", "time", "time"), "1:02", ":03"],
    [column("ts", "datetime", "datetime"), "2024-02-29 23:59:5", "9"],
    [column("i", "int32", "int"), "", "-7"],
    [column("n", "decimal", "decimal(10,0)"), "", "7"],
    [column("f", "float64", "double"), "", "7"],
  ];
  for (const [col, value, next] of cut) {
    const { row } = decoderFor([col]);
    const p = packet([utf8.encode(value)], 0, utf8.encode(next));
    assert.throws(
      () => row.decode(p.bytes, p.start, p.end),
      (e: unknown) =>
        e instanceof TypeMappingError && e.message.startsWith(`column ${col.name} (`) &&
        e.message.includes(`holds '${value}'`),
      `${col.sourceType} '${value}' before '${next}'`,
    );
  }
});

/** `column` with a declared precision and scale (DECIMAL) or fractional seconds. */
function sized(name: string, kind: MysqlKind, sourceType: string, precision: number, scale = 0) {
  return { ...column(name, kind, sourceType), precision, scale };
}

/** The value `text` decodes to when it sits in a packet between digits, signs and colons. */
function decodeAlone(col: MysqlColumn, text: string): number | bigint {
  const { row, builders } = decoderFor([col]);
  const p = packet([utf8.encode(text)], 5, utf8.encode("9:9-9.9"));
  row.decode(p.bytes, p.start, p.end);
  const data = builders[0].finish();
  assert.equal(data.length, 1);
  if (col.kind !== "decimal") return (data.values as ArrayLike<number | bigint>)[0];
  const words = data.values as Uint32Array;
  let v = 0n;
  for (let k = 3; k >= 0; k--) v = (v << 32n) | BigInt(words[k]);
  return BigInt.asIntN(128, v);
}

/** Microseconds since 1970 of a UTC date and time, computed by the JS Date implementation. */
function utcMicros(year: number, month: number, day: number, seconds = 0, micros = 0): bigint {
  const date = new Date(0);
  date.setUTCFullYear(year, month - 1, day);
  return BigInt(date.getTime() / 1000 + seconds) * 1_000_000n + BigInt(micros);
}

Deno.test("mysql row packets: numbers, dates and durations are exact at the edges of their types", () => {
  const double = column("d", "float64", "double");
  for (
    const text of [
      "0.30000000000000004",
      "5e-324",
      "-2.2250738585072014e-308",
      "1.7976931348623157e308",
      "-0",
      "123456789012345.6",
      "9007199254740993",
      "0.1",
      "1e22",
      "-1.5e-7",
    ]
  ) {
    // JS's own parser rounds correctly, and is not the code under test.
    assert.ok(Object.is(decodeAlone(double, text), Number(text)), text);
  }
  const float = column("f", "float32", "float");
  for (const text of ["3.40282e38", "-1.17549e-38", "1.23457", "1e-45"]) {
    assert.ok(Object.is(decodeAlone(float, text), Math.fround(Number(text))), text);
  }
  const exact: [MysqlColumn, string, number | bigint][] = [
    [
      sized("n", "decimal", "decimal(38,10)", 38, 10),
      "-9999999999999999999999999999.9999999999",
      -(10n ** 38n - 1n),
    ],
    [sized("n", "decimal", "decimal(38,10)", 38, 10), "0.0000000001", 1n],
    [sized("n", "decimal", "decimal(38,10)", 38, 10), "-0.5", -5_000_000_000n],
    [sized("n", "decimal", "decimal(38,10)", 38, 10), "12345", 123_450_000_000_000n],
    [sized("n", "decimal", "decimal(5,2)", 5, 2), "-999.99", -99_999n],
    [sized("n", "decimal", "decimal(5,2)", 5, 2), "0.00", 0n],
    [
      sized("n", "decimal", "decimal(20,0) unsigned", 20, 0),
      "99999999999999999999",
      10n ** 20n - 1n,
    ],
    [column("u", "uint64", "bigint unsigned"), "18446744073709551615", 2n ** 64n - 1n],
    [column("u", "uint64", "bigint unsigned"), "9223372036854775808", 2n ** 63n],
    [column("u", "uint64", "bigint unsigned"), "0", 0n],
    [column("i", "int64", "bigint"), "-9223372036854775808", -(2n ** 63n)],
    [column("i", "int64", "bigint"), "9223372036854775807", 2n ** 63n - 1n],
    [column("i", "int64", "bigint"), "-9007199254740993", -9_007_199_254_740_993n],
    [column("i", "int64", "bigint"), "1234567890123456", 1_234_567_890_123_456n],
    [column("i", "int32", "int"), "-2147483648", -2_147_483_648],
    [column("i", "int16", "smallint"), "-32768", -32_768],
    [column("t", "time", "time(6)"), "-838:59:59.999999", -3_020_399_999_999n],
    [column("t", "time", "time(6)"), "838:59:59.000001", 3_020_399_000_001n],
    [column("t", "time", "time(6)"), "-00:00:00.000001", -1n],
    [column("t", "time", "time"), "100:00:00", 360_000_000_000n],
    [column("t", "time", "time"), "0:00:00", 0n],
    [column("t", "time", "time(1)"), "23:59:59.5", 86_399_500_000n],
    [column("dt", "date", "date"), "1000-01-01", Number(utcMicros(1000, 1, 1) / 86_400_000_000n)],
    [column("dt", "date", "date"), "9999-12-31", Number(utcMicros(9999, 12, 31) / 86_400_000_000n)],
    [column("dt", "date", "date"), "1969-12-31", -1],
    [column("dt", "date", "date"), "2024-02-29", Number(utcMicros(2024, 2, 29) / 86_400_000_000n)],
    // Either side of the years whose month starts are looked up rather than computed.
    ...["1899-12-31", "1900-01-01", "2155-12-31", "2156-01-01"].map((
      text,
    ): [MysqlColumn, string, number] => {
      const [y, m, d] = text.split("-").map(Number);
      return [column("dt", "date", "date"), text, Number(utcMicros(y, m, d) / 86_400_000_000n)];
    }),
    [column("ts", "datetime", "datetime(6)"), "1000-01-01 00:00:00.000000", utcMicros(1000, 1, 1)],
    [
      column("ts", "datetime", "datetime(6)"),
      "9999-12-31 23:59:59.999999",
      utcMicros(9999, 12, 31, 86_399, 999_999),
    ],
    [column("ts", "datetime", "datetime(6)"), "1969-12-31 23:59:59.999999", -1n],
    [column("ts", "timestamp", "timestamp(3)"), "2038-01-19 03:14:07.123", 2_147_483_647_123_000n],
  ];
  for (const [col, text, want] of exact) {
    assert.equal(decodeAlone(col, text), want, `${col.sourceType} '${text}'`);
  }

  // Zero and impossible dates, and values past their type, fail with the column and the value.
  const refused: [MysqlColumn, string, RegExp][] = [
    [
      column("d", "date", "date"),
      "0000-00-00",
      /a zero or partial date.*NULLIF\(d, '0000-00-00'\)/,
    ],
    [column("d", "date", "date"), "2024-00-10", /a zero or partial date/],
    [column("d", "date", "date"), "2024-02-00", /a zero or partial date/],
    [column("d", "datetime", "datetime"), "0000-00-00 00:00:00", /a zero or partial date/],
    [column("d", "date", "date"), "2023-02-29", /does not exist in its month/],
    [column("u", "uint64", "bigint unsigned"), "18446744073709551616", /unexpected unsigned/],
    [column("i", "int64", "bigint"), "9223372036854775808", /unexpected integer/],
    [sized("n", "decimal", "decimal(5,2)", 5, 2), "1000.00", /does not fit decimal\(5,2\)/],
    [sized("n", "decimal", "decimal(5,2)", 5, 2), "0.001", /does not fit decimal\(5,2\)/],
    [sized("n", "decimal", "decimal(5,2)", 5, 2), "-", /unexpected decimal/],
    [column("t", "time", "time"), "12:00", /unexpected time/],
  ];
  for (const [col, text, pattern] of refused) {
    assert.throws(
      () => decodeAlone(col, text),
      (e: unknown) =>
        e instanceof TypeMappingError && pattern.test(e.message) &&
        e.message.startsWith(`column ${col.name} (${col.sourceType}) holds '${text}'`),
      `${col.sourceType} '${text}'`,
    );
  }
});

Deno.test("mysql row packets: a malformed packet fails as a dropped connection", () => {
  const columns = [column("a", "text", "varchar"), column("b", "text", "varchar")];
  const ab = packet([utf8.encode("a"), utf8.encode("b")]);
  const cases: [string, Uint8Array, RegExp][] = [
    ["one value short", ab.bytes.subarray(0, 2), /1 of 2 values/],
    ["a value past the end", ab.bytes.subarray(0, 3), /value 2 of 2 runs past the packet/],
    ["a cut length prefix", new Uint8Array([1, 0x61, 0xfd, 0x01]), /value 2 of 2 runs past/],
    ["bytes after the last value", new Uint8Array([...ab.bytes, 0]), /1 bytes after the last/],
    ["an invalid length prefix", new Uint8Array([0xff, 1, 0x61]), /length prefix 0xff/],
  ];
  for (const [what, bytes, message] of cases) {
    const { row } = decoderFor(columns);
    assert.throws(
      () => row.decode(bytes, 0, bytes.length),
      (e: unknown) =>
        e instanceof SourceError && e.retryClass === "disconnect" && message.test(e.message),
      what,
    );
  }
});

/** A stand-in for mysql2's Query command: an emitter whose row state is a method. */
class FakeQuery extends EventEmitter {
  ended = 0;
  row(packet: { isEOF(): boolean }): unknown {
    if (!packet.isEOF()) throw new Error("mysql2's own row parser ran");
    this.ended++;
    return null;
  }
}

function fakePacket(payload: number[], eof = false) {
  const buffer = new Uint8Array([9, 9, 9, 9, ...payload, 9]);
  return { buffer, offset: 4, end: 4 + payload.length, isEOF: () => eof };
}

Deno.test("mysql raw rows: row packets go to the reader, the end to mysql2, a bypass is reported", () => {
  const query = new FakeQuery();
  const seen: number[][] = [];
  const bypassed: SourceError[] = [];
  interceptRows(
    query,
    (bytes, start, end) => seen.push(Array.from(bytes.subarray(start, end))),
    (e) => bypassed.push(e),
  );
  const state = (query as unknown as { row: (p: unknown, c: unknown) => unknown }).row;
  // The state stays in place for the next row, and sees only the row's own bytes.
  assert.equal(state.call(query, fakePacket([1, 0x31, 0xfb]), {}), state);
  assert.equal(state.call(query, fakePacket([0]), {}), state);
  assert.deepEqual(seen, [[1, 0x31, 0xfb], [0]]);
  assert.equal(state.call(query, fakePacket([0xfe, 0, 0, 2, 0], true), {}), null);
  assert.equal(query.ended, 1);
  // The OK packet ending a CALL is reported as a non-array result: not a bypass.
  query.emit("result", { affectedRows: 0 });
  assert.equal(bypassed.length, 0);
  query.emit("result", [Uint8Array.of(0x31)]);
  assert.equal(bypassed.length, 1);
  assert.equal(bypassed[0].retryClass, "permanent");
  assert.match(bypassed[0].message, /mysql2 parsed a row itself.*mysql2 3\.24\.6/);
  assert.throws(() => interceptRows(new EventEmitter(), () => {}, () => {}), TypeError);
});

Deno.test("mysql raw rows: a spent socket chunk is released, never the first, a pool, or a shared one", () => {
  const query = new FakeQuery();
  interceptRows(query, () => {}, () => {});
  const state = (query as unknown as { row: (p: unknown, c: unknown) => unknown }).row;
  /** A row packet `[0]` at the start of `bytes`, a view of a socket chunk. */
  const packet = (bytes: Uint8Array) => {
    bytes.set([9, 9, 9, 9, 0]);
    return { buffer: bytes, offset: 4, end: 5, isEOF: () => false };
  };
  const big = () => new Uint8Array(Buffer.poolSize * 2);
  const firstChunk = big();
  const spent = big();
  const sharedBuffer = new ArrayBuffer(Buffer.poolSize * 4);
  const sharedHead = new Uint8Array(sharedBuffer, 0, Buffer.poolSize * 2);
  const pool = new Uint8Array(Buffer.poolSize);
  const last = big();
  for (const chunk of [firstChunk, spent, pool, sharedHead, last]) {
    state.call(query, packet(chunk), {});
  }
  // Rows went on to another buffer: the spent chunk is released...
  assert.ok(spent.buffer.detached);
  // ...but not the first row's chunk (mysql2's column definitions may lie in it), a buffer the size
  // of Node's pool, a chunk that does not reach its buffer's end, or the chunk still being read.
  for (const kept of [firstChunk, pool, sharedHead, last]) assert.ok(!kept.buffer.detached);
});

Deno.test("mysql raw rows: the installed mysql2 hands every row packet to the reader", async () => {
  await withMysqlDb("", async (db) => {
    const session = await MysqlSession.open(db.config());
    try {
      const seen: number[][] = [];
      const bypassed: SourceError[] = [];
      await new Promise<void>((resolve, reject) => {
        const query = session.stream(
          "SELECT 1, NULL, '' UNION ALL SELECT 22, 'é', 'x'",
          (bytes, start, end) => seen.push(Array.from(bytes.subarray(start, end))),
          (e) => bypassed.push(e),
        );
        query.on("error", reject);
        query.on("end", resolve);
      });
      assert.deepEqual(bypassed, []);
      assert.deepEqual(seen, [
        [1, 0x31, 0xfb, 0],
        [2, 0x32, 0x32, 2, 0xc3, 0xa9, 1, 0x78],
      ]);
    } finally {
      await session.close();
    }
  });
});

Deno.test("mysql raw rows: a second result set fails the read; a CALL with one is read", async () => {
  await withMysqlDb(
    `CREATE PROCEDURE one() SELECT 1 AS a, 'x' AS b;
     CREATE PROCEDURE two() BEGIN SELECT 1 AS a; SELECT 'x' AS b, 2 AS c; END`,
    async (db) => {
      const source = await openMysql(db.config());
      try {
        const one = await source.query({ text: "CALL one()", params: [] }, {
          batchRows: 10,
          throttleMs: 0,
        });
        const batches: RecordBatch[] = [];
        for await (const batch of one.batches) batches.push(batch);
        assert.deepEqual(batches.map((b) => b.toArray().map((r) => r.toJSON())), [[{
          a: 1,
          b: "x",
        }]]);
        const two = await source.query({ text: "CALL two()", params: [] }, {
          batchRows: 10,
          throttleMs: 0,
        }).then(async ({ batches }) => {
          for await (const _ of batches) { /* drained */ }
        }).then(() => undefined, (e: unknown) => e);
        assert.ok(two instanceof SourceError, String(two));
        assert.equal(two.retryClass, "permanent");
        assert.match(two.message, /more than one result set/);
      } finally {
        await source.close();
      }
    },
  );
});

/** `CASE n % <count> WHEN 0 THEN <first> ...`: the values in turn, row by row. */
function cycle(...values: string[]): string {
  const arms = values.map((v, i) => `WHEN ${i} THEN ${v}`).join(" ");
  return `CASE n % ${values.length} ${arms} END`;
}

/**
 * One column of every type family: its declaration, its value in row `n` (edge values in turn
 * with NULL, the empty value and ordinary ones), the Arrow type it reads as, and the server
 * expression for its reference text (the column itself when absent).
 */
const MIX: [name: string, type: string, value: string, arrow: string, reference?: string][] = [
  ["id", "INT PRIMARY KEY", "n", "Int32"],
  ["b", "TINYINT(1)", cycle("NULL", "0", "1"), "Bool"],
  ["si", "SMALLINT", cycle("-32768", "32767", "NULL", "n"), "Int16"],
  [
    "bi",
    "BIGINT",
    cycle("-9223372036854775808", "9223372036854775807", "n * 7919 - 9007199254740993", "NULL"),
    "Int64",
  ],
  [
    "bu",
    "BIGINT UNSIGNED",
    cycle("18446744073709551615", "9223372036854775808", "n", "NULL"),
    "Uint64",
  ],
  [
    "f",
    "FLOAT",
    cycle("3.40282e38", "-1.17549e-38", "n / 7", "0", "1e-45", "NULL"),
    "Float32",
    "CAST(f AS DOUBLE)",
  ],
  [
    "d",
    "DOUBLE",
    cycle(
      "1.7976931348623157e308",
      "-2.2250738585072014e-308",
      "0.30000000000000004",
      "5e-324",
      "n / 3e0",
      "NULL",
      "-n * 1e-300",
    ),
    "Float64",
  ],
  [
    "n2",
    "DECIMAL(15,2)",
    cycle("-9999999999999.99", "NULL", "n * 12345.67 - 1000000", "0"),
    "Decimal[15e+2]",
  ],
  [
    "n38",
    "DECIMAL(38,10)",
    cycle(
      "'-9999999999999999999999999999.9999999999'",
      "'0.0000000001'",
      "NULL",
      "n * 1234567890123.4567891",
    ),
    "Decimal[38e+10]",
  ],
  [
    "vc",
    "VARCHAR(300)",
    cycle("NULL", "''", "'é😀中'", "CONCAT('a', CHAR(0), 'b')", "REPEAT('x', n % 300)"),
    "Utf8",
  ],
  ["tx", "TEXT", "IF(n % 11 = 0, NULL, REPEAT('ü😀', n % 90))", "Utf8"],
  ["e", "ENUM('a','é😀')", cycle("NULL", "'a'", "'é😀'"), "Utf8"],
  ["j", "JSON", "IF(n % 5 = 0, NULL, JSON_OBJECT('n', n, 's', 'é😀'))", "Utf8"],
  [
    "bl",
    "BLOB",
    cycle("NULL", "X''", "X'00FBFCFDFEFF'", "UNHEX(REPEAT('FE', n % 300))"),
    "Binary",
    "HEX(bl)",
  ],
  [
    "dt",
    "DATE",
    cycle(
      "NULL",
      "'9999-12-31'",
      "'1969-12-31'",
      "DATE_ADD('1000-01-01', INTERVAL n * 1777 % 3287000 DAY)",
    ),
    "Date32<DAY>",
    "DATEDIFF(dt, '1970-01-01')",
  ],
  [
    "dm",
    "DATETIME(6)",
    cycle(
      "NULL",
      "'9999-12-31 23:59:59.999999'",
      "'1969-12-31 23:59:59.999999'",
      "TIMESTAMPADD(MICROSECOND, n * 98765432198765, '1000-01-01')",
    ),
    "Timestamp<MICROSECOND>",
    "TIMESTAMPDIFF(MICROSECOND, '1970-01-01', dm)",
  ],
  [
    "d0",
    "DATETIME",
    "IF(n % 3 = 0, NULL, TIMESTAMPADD(SECOND, n * 86399, '1900-01-01'))",
    "Timestamp<MICROSECOND>",
    "TIMESTAMPDIFF(MICROSECOND, '1970-01-01', d0)",
  ],
  [
    "ts",
    "TIMESTAMP(3) NULL",
    "IF(n % 4 = 0, NULL, TIMESTAMPADD(MICROSECOND, n * 1000123000, '1970-01-02'))",
    "Timestamp<MICROSECOND, UTC>",
    "TIMESTAMPDIFF(MICROSECOND, '1970-01-01', ts)",
  ],
  [
    "tm",
    "TIME(6)",
    cycle(
      "NULL",
      "'-838:59:59.999999'",
      "'838:59:59.999999'",
      "'-00:00:00.000001'",
      "SEC_TO_TIME(n * 1777.000123 - 1500000)",
    ),
    "Duration<MICROSECOND>",
    "CAST(TIME_TO_SEC(tm) * 1000000 AS SIGNED)",
  ],
  ["y", "YEAR", "IF(n % 3 = 0, NULL, 1901 + n % 255)", "Int16"],
  ["b1", "BIT(1)", "IF(n % 3 = 0, NULL, n % 2)", "Bool", "CAST(b1 AS UNSIGNED)"],
  ["b12", "BIT(12)", "IF(n % 5 = 0, NULL, n % 4096)", "Int64", "CAST(b12 AS UNSIGNED)"],
  [
    "b64",
    "BIT(64)",
    cycle("NULL", "18446744073709551615", "n * 1000003"),
    "Uint64",
    "CAST(b64 AS UNSIGNED)",
  ],
  [
    "g",
    "GEOMETRY",
    cycle(
      "NULL",
      "ST_GeomFromText(CONCAT('POINT(', n, ' ', -n / 4, ')'))",
      "ST_GeomFromText(CONCAT('LINESTRING(0 0, ', n, ' 1, 2 ', n, ')'))",
    ),
    "Binary",
    "HEX(ST_AsBinary(g))",
  ],
];

const MIX_ROWS = 2000;

const MIX_TABLE = `
SET SESSION max_recursive_iterations = ${MIX_ROWS * 10};
CREATE TABLE mix (${MIX.map(([name, type]) => `${name} ${type}`).join(", ")});
INSERT INTO mix WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < ${MIX_ROWS})
  SELECT ${MIX.map(([, , value]) => value).join(", ")} FROM s;
`;

/** A cell as its reference expression renders it: integers (days, microseconds) as text. */
function rendered(data: Data, i: number): string | number | null {
  if (data.nullCount > 0 && ((data.nullBitmap![i >> 3] >> (i & 7)) & 1) === 0) return null;
  const values = data.values as ArrayLike<number | bigint>;
  switch (data.type.typeId) {
    case Type.Bool:
      return String(((data.values as Uint8Array)[i >> 3] >> (i & 7)) & 1);
    case Type.Float:
      return Number(values[i]);
    case Type.Decimal: {
      const words = data.values as Uint32Array;
      let v = 0n;
      for (let k = 3; k >= 0; k--) v = (v << 32n) | BigInt(words[i * 4 + k]);
      v = BigInt.asIntN(128, v);
      const scale = (data.type as Decimal).scale;
      const digits = (v < 0n ? -v : v).toString().padStart(scale + 1, "0");
      const point = digits.length - scale;
      return `${v < 0n ? "-" : ""}${digits.slice(0, point)}.${digits.slice(point)}`;
    }
    case Type.Utf8:
    case Type.Binary: {
      const offsets = data.valueOffsets as Int32Array;
      const bytes = (data.values as Uint8Array).subarray(offsets[i], offsets[i + 1]);
      if (data.type.typeId === Type.Utf8) return new TextDecoder().decode(bytes);
      return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("").toUpperCase();
    }
    default:
      // Integers, and dates and times as the day or microsecond counts Arrow stores.
      return String(values[i]);
  }
}

/** Asserts that `columns` (one Data per column) hold the `expected` rows. */
function assertRows(columns: Data[][], names: string[], expected: (string | null)[][]): void {
  let r = 0;
  const rows = columns[0].reduce((n, d) => n + d.length, 0);
  assert.equal(rows, expected.length);
  for (let chunk = 0; chunk < columns[0].length; chunk++) {
    for (let i = 0; i < columns[0][chunk].length; i++, r++) {
      for (let c = 0; c < names.length; c++) {
        const got = rendered(columns[c][chunk], i);
        const want = expected[r][c];
        const where = `row ${r + 1} column ${names[c]}: ${got} vs ${want}`;
        if (typeof got === "number") {
          assert.ok(want !== null && Object.is(got, Number(want)), where);
        } else assert.equal(got, want, where);
      }
    }
  }
}

/**
 * A connection to the test server whose incoming bytes reach mysql2 in pieces of 1 to `max` bytes
 * (the sizes cycle), each its own `data` event: every read ends at a chosen point, not where TCP
 * happens to cut.
 */
function piecewiseStream(max: number): Duplex {
  const socket = net.connect(MYSQL_SERVER.port, MYSQL_SERVER.host);
  let pieces = 0;
  const stream = new Duplex({
    // Object mode keeps each pushed piece apart instead of joining what is buffered.
    readableObjectMode: true,
    read: () => socket.resume(),
    write: (chunk, _encoding, done) => socket.write(chunk, done),
    final: (done) => socket.end(done),
    destroy: (error, done) => {
      socket.destroy();
      done(error);
    },
  });
  socket.on("data", (chunk: Uint8Array) => {
    for (let at = 0; at < chunk.length;) {
      const size = 1 + (pieces++ % max);
      if (!stream.push(chunk.subarray(at, at + size))) socket.pause();
      at += size;
    }
  });
  socket.on("end", () => stream.push(null));
  socket.on("error", (error) => stream.destroy(error));
  return stream;
}

/** Runs `sql` on `connection` with its rows intercepted; the builders of its columns. */
function readRaw(
  connection: mysql.Connection,
  sql: string,
  onPacket: (bytes: Uint8Array, start: number, end: number) => void,
): Promise<ColumnBuilder[]> {
  return new Promise((resolve, reject) => {
    let row: TextRowDecoder | undefined;
    let builders: ColumnBuilder[] = [];
    const query = connection.query({ sql, rowsAsArray: true, typeCast: false });
    interceptRows(query, (bytes, start, end) => {
      onPacket(bytes, start, end);
      try {
        row!.decode(bytes, start, end);
      } catch (error) {
        reject(error);
      }
    }, reject);
    query.on("fields", (fields: MysqlField[]) => {
      const columns = resolveColumns(fields);
      const { decoders } = createDecoders(columns);
      row = new TextRowDecoder(columns, decoders);
      builders = decoders.map((d) => d.builder);
    });
    query.on("error", reject);
    query.on("end", () => resolve(builders));
  });
}

Deno.test("mysql raw rows: every type family, delivered in pieces that cut packets anywhere", async () => {
  await withMysqlDb(MIX_TABLE, async (db) => {
    const names = [...MIX.map(([name]) => name), "nothing"];
    const select = (columns: string[]) =>
      `SELECT ${columns.map((n) => (n === "nothing" ? "NULL AS nothing" : n)).join(", ")} ` +
      "FROM mix ORDER BY id";
    const without = names.indexOf("f");
    const direct = names.filter((_, c) => c !== without);
    // The server's text through mysql2's own row parser, on a direct connection.
    const expected = await db.textRows(
      `SELECT ${MIX.map(([name, , , , ref]) => ref ?? name).join(", ")}, NULL FROM mix ORDER BY id`,
    );
    assert.equal(expected.length, MIX_ROWS);

    // Straight from the text protocol's packets, each read ending at a chosen point. FLOAT is
    // left out: its text is rounded; the source's binary rows (below) carry it exactly.
    const connection = mysql.createConnection({
      ...MYSQL_SERVER,
      database: db.name,
      charset: "UTF8MB4_GENERAL_CI",
      stream: piecewiseStream(701),
    });
    let rows = 0;
    let split = 0;
    let builders: ColumnBuilder[];
    try {
      await connection.promise().query("SET time_zone = '+00:00'");
      builders = await readRaw(
        connection,
        select(direct),
        (bytes, start, end) => {
          rows++;
          // mysql2 copies a packet that spans two reads into a buffer of its own.
          if (start === 4 && end === bytes.length) split++;
        },
      );
    } finally {
      connection.destroy();
    }
    assert.equal(rows, MIX_ROWS);
    // Most packets span reads; the others arrive whole within one.
    assert.ok(split > MIX_ROWS / 2 && split < MIX_ROWS, `${split} of ${rows} rows arrived split`);
    assertRows(
      builders.map((b) => [b.finish()]),
      direct,
      expected.map((r) => r.filter((_, c) => c !== without)),
    );

    // Through the source (binary rows) and a proxy that forwards in small pieces, in batches of
    // 7: the connection pauses mid-read again and again, and mysql2 replays the packets it had
    // queued.
    const proxy = startTcpProxy(MYSQL_SERVER.port);
    proxy.splitDownloads(97);
    const source = await openMysql(db.config({}, { port: proxy.port }));
    try {
      const { schema, batches } = await source.query({ text: select(names), params: [] }, {
        batchRows: 7,
        throttleMs: 0,
      });
      assert.deepEqual(
        schema.fields.map((f) => String(f.type)),
        [...MIX.map(([, , , arrow]) => arrow), "Utf8"],
      );
      const columns: Data[][] = names.map(() => []);
      for await (const batch of batches) {
        assert.ok(batch.numRows <= 7);
        names.forEach((_, c) => columns[c].push(batch.getChildAt(c)!.data[0]));
      }
      assertRows(columns, names, expected);
    } finally {
      await source.close();
      proxy.close();
    }
  });
});

Deno.test("mysql raw rows: an error the server raises mid-result fails the read, rows before it delivered", async () => {
  await withMysqlDb(
    `SET SESSION max_recursive_iterations = 100000;
     CREATE TABLE t (n INT PRIMARY KEY, pad VARCHAR(100));
     INSERT INTO t WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < 20000)
       SELECT n, REPEAT('p', 100) FROM s;`,
    async (db) => {
      const source = await openMysql(db.config());
      try {
        // The subquery returns two rows from n = 19000 on: the server has streamed the rows before
        // it, then sends an error packet where a row would be.
        const { batches } = await source.query({
          text: "SELECT n, pad, (SELECT 1 UNION ALL SELECT 2 FROM DUAL WHERE t.n >= 19000) AS x " +
            "FROM t",
          params: [],
        }, { batchRows: 1000, throttleMs: 0 });
        let rows = 0;
        const failure = await (async () => {
          for await (const batch of batches) rows += batch.numRows;
        })().then(() => undefined, (e: unknown) => e);
        assert.ok(failure instanceof SourceError, String(failure));
        assert.equal(failure.retryClass, "permanent");
        assert.match(failure.message, /more than 1 row/);
        assert.ok(rows > 0 && rows < 19000, `${rows} rows before the error`);
        // The connection is in step with the server again: the next read is whole.
        const next = await source.query({ text: "SELECT n FROM t", params: [] }, {
          batchRows: 5000,
          throttleMs: 0,
        });
        let count = 0;
        for await (const batch of next.batches) count += batch.numRows;
        assert.equal(count, 20000);
      } finally {
        await source.close();
      }
    },
  );
});

/** Rows whose values sit at the text protocol's and mysql2's size boundaries. */
const BIG_ROWS = `
CREATE TABLE big (id INT PRIMARY KEY, a LONGTEXT, b LONGTEXT, c LONGTEXT, d LONGBLOB);
-- Each value alone at a length-prefix boundary, beside NULL, '' and multibyte text.
INSERT INTO big VALUES (1, '', NULL, '', 'é😀'), (2, REPEAT('a', 250), NULL, '', 'é😀'),
  (3, REPEAT('a', 251), NULL, '', 'é😀'), (4, REPEAT('a', 65535), NULL, '', 'é😀'),
  (5, REPEAT('a', 65536), NULL, '', 'é😀'), (6, REPEAT('a', 16777215), NULL, '', 'é😀'),
  (7, REPEAT('a', 16777216), NULL, '', 'é😀');
-- The payload's first 16 MiB packet (16777215 bytes) ends inside b's 4-byte length prefix:
-- id '8' takes 2 bytes, a 4 + 16777207.
INSERT INTO big VALUES (8, REPEAT('x', 16777207), REPEAT('é😀', 20000), NULL, x'00FF');
-- ... inside b's 4-byte emoji: b's bytes start at 2 + 4 + 16777206 + 1.
INSERT INTO big VALUES (9, REPEAT('y', 16777206), 'x😀y', '', NULL);
-- A payload of exactly 16777215 bytes, which mysql2 only ends at the empty packet that follows.
INSERT INTO big VALUES (10, REPEAT('z', 16777207), NULL, '', NULL);
-- Two values of 10 MB: the boundary falls inside a value, and the row needs two packets.
INSERT INTO big VALUES (11, REPEAT('p', 10000000), REPEAT('q😀', 2500000), NULL, '');
INSERT INTO big VALUES (12, 'after', 'the', 'big', x'0102');
`;

async function sha256(bytes: Uint8Array): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes.slice()));
  return Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
}

Deno.test("mysql raw rows: values at every size boundary and rows past 16 MiB are exact", async () => {
  await withMysqlDb(BIG_ROWS, async (db) => {
    const columns = ["a", "b", "c", "d"];
    // The server's own account of every value: its length and SHA-256, or NULL.
    const reference = await db.textRows(
      `SELECT id, ${columns.map((c) => `OCTET_LENGTH(${c}), SHA2(${c}, 256)`).join(", ")} ` +
        "FROM big ORDER BY id",
    );
    assert.equal(reference.length, 12);
    assert.ok(reference.some((r) => r[1] === "16777216"), "a value needing the 8-byte prefix");
    const source = await openMysql(db.config());
    try {
      const { batches } = await source.query(
        { text: "SELECT * FROM big ORDER BY id", params: [] },
        {
          batchRows: 2,
          throttleMs: 0,
        },
      );
      const rows: (string | null)[][] = [];
      for await (const batch of batches) {
        const ids = batch.getChildAt(0)!.data[0].values as Int32Array;
        for (let r = 0; r < batch.numRows; r++) {
          const row: (string | null)[] = [String(ids[r])];
          for (let c = 1; c <= columns.length; c++) {
            const data = batch.getChildAt(c)!.data[0];
            const valid = data.nullCount === 0 ||
              ((data.nullBitmap![r >> 3] >> (r & 7)) & 1) === 1;
            const offsets = data.valueOffsets as Int32Array;
            const value = (data.values as Uint8Array).subarray(offsets[r], offsets[r + 1]);
            row.push(valid ? String(value.length) : null, valid ? await sha256(value) : null);
          }
          rows.push(row);
        }
      }
      assert.deepEqual(rows, reference);
    } finally {
      await source.close();
    }
  });
});
