/**
 * MySQL binary-protocol rows (a prepared statement's, which the Arrow batches read): the row
 * layout (header, NULL bitmap across bytes, fixed-width, packed and length-encoded values), every
 * integer width signed and unsigned at its edges, floats as their bits, dates, datetimes and times
 * of every packed length, the values that must fail and how their errors show them, malformed
 * packets, and the interception of mysql2's Execute command on the installed mysql2. The same
 * values read over the text protocol are compared with these in `mysql_copy_csv_test.ts` (the
 * passthrough's file against the Arrow path's, on the type-torture table).
 *
 * @module
 */
import assert from "node:assert/strict";
import { type Data, Type } from "apache-arrow";
import { SourceError, TypeMappingError } from "../src/errors.ts";
import { BinaryRowDecoder } from "../src/source/mysql/binary_row.ts";
import { binaryDecoder } from "../src/source/mysql/binary_values.ts";
import { MysqlSession } from "../src/source/mysql/connect.ts";
import { type ColumnDecoder, createDecoders } from "../src/source/mysql/decode.ts";
import type { BinaryWire, MysqlColumn, MysqlKind } from "../src/source/mysql/types.ts";
import { withMysqlDb } from "./support/mysql.ts";

function column(name: string, kind: MysqlKind, sourceType: string): MysqlColumn {
  return { name, sourceType, kind, precision: kind === "decimal" ? 10 : 0, scale: 0 };
}

/** A binary row packet: header, NULL bitmap (offset 2), then the non-NULL values' bytes. */
function binaryRow(values: (number[] | null)[]): Uint8Array {
  const bitmap = new Array<number>((values.length + 9) >> 3).fill(0);
  values.forEach((v, i) => {
    if (v === null) bitmap[(i + 2) >> 3] |= 1 << ((i + 2) & 7);
  });
  return Uint8Array.from([0, ...bitmap, ...values.flatMap((v) => v ?? [])]);
}

function le(value: bigint, bytes: number): number[] {
  const out: number[] = [];
  let v = BigInt.asUintN(bytes * 8, value);
  for (let k = 0; k < bytes; k++) {
    out.push(Number(v & 0xffn));
    v >>= 8n;
  }
  return out;
}

function float32Bytes(x: number): number[] {
  return Array.from(new Uint8Array(Float32Array.of(x).buffer));
}

function float64Bytes(x: number): number[] {
  return Array.from(new Uint8Array(Float64Array.of(x).buffer));
}

/** A packed DATE/DATETIME: its length byte, then as many fields as the length covers. */
function packedDate(length: number, y = 0, mo = 0, d = 0, h = 0, mi = 0, s = 0, us = 0): number[] {
  const fields = [...le(BigInt(y), 2), mo, d, h, mi, s, ...le(BigInt(us), 4)];
  return [length, ...fields.slice(0, length)];
}

/** A packed TIME: its length byte, sign, days, hour, minute, second, microseconds. */
function packedTime(length: number, negative = false, days = 0, h = 0, mi = 0, s = 0, us = 0) {
  const fields = [negative ? 1 : 0, ...le(BigInt(days), 4), h, mi, s, ...le(BigInt(us), 4)];
  return [length, ...fields.slice(0, length)];
}

/** The binary-row decoder of `columns` into the builders of `decoders`, as the batches make it. */
function rowDecoder(
  columns: MysqlColumn[],
  wires: BinaryWire[],
  decoders: ColumnDecoder[],
): BinaryRowDecoder {
  const targets = decoders.map((d, i) => ({
    builder: d.builder,
    decode: binaryDecoder(columns[i], wires[i], d),
  }));
  return new BinaryRowDecoder(columns, wires, targets);
}

/** Decodes `rows` of one column and returns the values as Arrow reads them back. */
function decodeColumn(col: MysqlColumn, wire: BinaryWire, rows: (number[] | null)[]): unknown[] {
  const { decoders } = createDecoders([col]);
  const decoder = rowDecoder([col], [wire], decoders);
  for (const value of rows) {
    const packet = binaryRow([value]);
    decoder.decode(packet, 0, packet.length);
  }
  const data: Data = decoders[0].builder.finish();
  return valuesOf(data);
}

function valuesOf(data: Data): unknown[] {
  const out: unknown[] = [];
  const valid = (i: number) =>
    data.nullCount === 0 || ((data.nullBitmap![i >> 3] >> (i & 7)) & 1) === 1;
  for (let i = 0; i < data.length; i++) {
    if (!valid(i)) {
      out.push(null);
      continue;
    }
    const values = data.values as ArrayLike<number | bigint>;
    const stride = data.values.length / data.length;
    if (data.valueOffsets) {
      const bytes = (data.values as Uint8Array).slice(
        Number(data.valueOffsets[i]),
        Number(data.valueOffsets[i + 1]),
      );
      out.push(data.typeId === Type.Utf8 ? new TextDecoder().decode(bytes) : bytes);
    } else if (data.values instanceof Uint8Array && data.typeId === Type.Bool) {
      out.push(((data.values[i >> 3] >> (i & 7)) & 1) === 1);
    } else if (stride === 2 && data.values instanceof Int32Array) {
      const low = BigInt(data.values[2 * i] >>> 0);
      out.push(low + (BigInt(data.values[2 * i + 1]) << 32n));
    } else if (stride === 2 && data.values instanceof Uint32Array) {
      out.push(BigInt(data.values[2 * i]) + (BigInt(data.values[2 * i + 1]) << 32n));
    } else {
      out.push(values[i]);
    }
  }
  return out;
}

function micros(y: number, mo: number, d: number, seconds = 0, us = 0): bigint {
  return BigInt(Date.UTC(y, mo - 1, d)) * 1000n + BigInt(seconds) * 1_000_000n + BigInt(us);
}

Deno.test("mysql binary rows: integers of every width and sign are exact at their edges", () => {
  const cases: [MysqlColumn, BinaryWire, number, bigint[]][] = [
    [column("a", "int16", "tinyint"), "i8", 1, [-128n, -1n, 0n, 127n]],
    [column("a", "int16", "tinyint unsigned"), "u8", 1, [0n, 128n, 255n]],
    [column("a", "int16", "smallint"), "i16", 2, [-32768n, -1n, 32767n]],
    [column("a", "int32", "smallint unsigned"), "u16", 2, [0n, 32768n, 65535n]],
    [column("a", "int16", "year"), "u16", 2, [0n, 1901n, 2155n]],
    [column("a", "int32", "mediumint"), "i32", 4, [-8388608n, 8388607n]],
    [column("a", "int32", "int"), "i32", 4, [-2147483648n, -1n, 2147483647n]],
    [column("a", "int64", "int unsigned"), "u32", 4, [0n, 2147483648n, 4294967295n]],
    [
      column("a", "int64", "bigint"),
      "i64",
      8,
      [-(2n ** 63n), -(2n ** 32n), -1n, 0n, 2n ** 32n - 1n, 2n ** 53n + 1n, 2n ** 63n - 1n],
    ],
    [column("a", "uint64", "bigint unsigned"), "u64", 8, [0n, 2n ** 63n, 2n ** 64n - 1n]],
  ];
  for (const [col, wire, bytes, values] of cases) {
    const got = decodeColumn(col, wire, [...values.map((v) => le(v, bytes)), null]);
    const want = [...values.map((v) => (bytes === 8 || wire === "u32" ? v : Number(v))), null];
    assert.deepEqual(got, want, `${col.sourceType} (${wire})`);
  }
  assert.deepEqual(
    decodeColumn(column("b", "bool", "tinyint(1)"), "i8", [[1], [0], null]),
    [true, false, null],
  );
});

Deno.test("mysql binary rows: floats are their own bits", () => {
  const singles = [0, -0, 1.2345677614212036, 3.4028234663852886e38, 1.401298464324817e-45, -2.5];
  const got32 = decodeColumn(column("f", "float32", "float"), "f32", singles.map(float32Bytes));
  got32.forEach((v, i) => assert.ok(Object.is(v, Math.fround(singles[i])), `${singles[i]}`));
  const doubles = [0, -0, 0.1, 5e-324, Number.MAX_VALUE, -1e300];
  const got64 = decodeColumn(column("d", "float64", "double"), "f64", doubles.map(float64Bytes));
  got64.forEach((v, i) => assert.ok(Object.is(v, doubles[i]), `${doubles[i]}`));
});

Deno.test("mysql binary rows: dates, datetimes and times of every packed length", () => {
  const date = column("d", "date", "date");
  assert.deepEqual(
    decodeColumn(date, "datetime", [
      packedDate(4, 1970, 1, 1),
      packedDate(4, 1969, 12, 31),
      packedDate(4, 2024, 2, 29),
      packedDate(4, 1000, 1, 1),
      packedDate(4, 9999, 12, 31),
      packedDate(4, 1899, 12, 31),
      packedDate(4, 2156, 1, 1),
    ]),
    [
      0,
      -1,
      Number(micros(2024, 2, 29) / 86_400_000_000n),
      Number(micros(1000, 1, 1) / 86_400_000_000n),
      Number(micros(9999, 12, 31) / 86_400_000_000n),
      Number(micros(1899, 12, 31) / 86_400_000_000n),
      Number(micros(2156, 1, 1) / 86_400_000_000n),
    ],
  );
  for (const kind of ["datetime", "timestamp"] as const) {
    const col = column("t", kind, `${kind}(6)`);
    assert.deepEqual(
      decodeColumn(col, "datetime", [
        packedDate(4, 2024, 3, 1),
        packedDate(7, 2024, 3, 1, 23, 59, 59),
        packedDate(11, 2024, 3, 1, 0, 0, 1, 5),
        packedDate(11, 1969, 12, 31, 23, 59, 59, 999_999),
        packedDate(11, 9999, 12, 31, 23, 59, 59, 999_999),
      ]),
      [
        micros(2024, 3, 1),
        micros(2024, 3, 1, 86_399),
        micros(2024, 3, 1, 1, 5),
        -1n,
        micros(9999, 12, 31, 86_399, 999_999),
      ],
      kind,
    );
  }
  assert.deepEqual(
    decodeColumn(column("t", "time", "time(6)"), "time", [
      packedTime(0),
      packedTime(8, false, 0, 12, 30, 15),
      packedTime(8, true, 34, 22, 59, 59),
      packedTime(12, true, 0, 0, 0, 0, 1),
      packedTime(12, false, 34, 22, 59, 59, 999_999),
    ]),
    [0n, 45_015_000_000n, -3_020_399_000_000n, -1n, 3_020_399_999_999n],
  );
});

Deno.test("mysql binary rows: values with no exact form fail, shown as the text protocol shows them", () => {
  const refused: [MysqlColumn, BinaryWire, number[], string, RegExp][] = [
    [column("d", "date", "date"), "datetime", packedDate(0), "0000-00-00", /zero or partial/],
    [
      column("d", "date", "date"),
      "datetime",
      packedDate(4, 2024, 0, 10),
      "2024-00-10",
      /a zero or partial date.*NULLIF\(d, '0000-00-00'\)/,
    ],
    [
      column("d", "date", "date"),
      "datetime",
      packedDate(4, 2023, 2, 29),
      "2023-02-29",
      /does not exist in its month/,
    ],
    [
      column("dt", "datetime", "datetime"),
      "datetime",
      packedDate(0),
      "0000-00-00 00:00:00",
      /zero or partial/,
    ],
    [
      column("ts", "timestamp", "timestamp(6)"),
      "datetime",
      packedDate(0),
      "0000-00-00 00:00:00.000000",
      /zero or partial/,
    ],
    [
      column("dt", "datetime", "datetime(3)"),
      "datetime",
      packedDate(11, 2024, 2, 30, 1, 2, 3, 456_000),
      "2024-02-30 01:02:03.456",
      /does not exist in its month/,
    ],
    [column("b", "bool", "tinyint(1)"), "i8", [5], "5", /other than 0 or 1.*CAST\(b AS SIGNED\)/],
    [column("b", "bool", "tinyint(1)"), "i8", [0xff], "-1", /other than 0 or 1/],
    [column("t", "time", "time"), "time", [5, 0, 0, 0, 0, 0], "00:00:00", /unexpected time/],
  ];
  for (const [col, wire, bytes, shown, pattern] of refused) {
    assert.throws(
      () => decodeColumn(col, wire, [bytes]),
      (e: unknown) =>
        e instanceof TypeMappingError && pattern.test(e.message) &&
        e.message.startsWith(`column ${col.name} (${col.sourceType}) holds '${shown}'`),
      `${col.sourceType} '${shown}'`,
    );
  }
});

Deno.test("mysql binary rows: the NULL bitmap spans bytes; text and binary values sit between", () => {
  // Nine columns: the bitmap takes two bytes, and column 6 (bit 8) is the first of the second.
  const kinds: [MysqlColumn, BinaryWire, number[]][] = [
    [column("c0", "int32", "int"), "i32", le(7n, 4)],
    [column("c1", "text", "varchar"), "bytes", [2, 0x68, 0x69]],
    [column("c2", "int16", "smallint"), "i16", le(-2n, 2)],
    [column("c3", "date", "date"), "datetime", packedDate(4, 2024, 1, 2)],
    [column("c4", "binary", "blob"), "bytes", [0]],
    [column("c5", "float64", "double"), "f64", float64Bytes(0.5)],
    [column("c6", "int64", "bigint"), "i64", le(-5n, 8)],
    [column("c7", "time", "time"), "time", packedTime(0)],
    [column("c8", "text", "varchar"), "bytes", [0xfc, 3, 0, 0x61, 0x62, 0x63]],
  ];
  const columns = kinds.map(([c]) => c);
  const { decoders } = createDecoders(columns);
  const decoder = rowDecoder(columns, kinds.map(([, w]) => w), decoders);
  for (let nulls = 0; nulls < 1 << kinds.length; nulls += 37) {
    const packet = binaryRow(kinds.map(([, , bytes], i) => (nulls >> i) & 1 ? null : bytes));
    decoder.decode(packet, 0, packet.length);
  }
  const rows = [...Array(Math.ceil((1 << kinds.length) / 37)).keys()].map((r) => r * 37);
  const expected = [7, "hi", -2, 19724, new Uint8Array(0), 0.5, -5n, 0n, "abc"];
  decoders.forEach((d, c) => {
    const got = valuesOf(d.builder.finish());
    rows.forEach((nulls, r) => {
      assert.deepEqual(got[r], (nulls >> c) & 1 ? null : expected[c], `row ${r} column ${c}`);
    });
  });
});

Deno.test("mysql binary rows: a malformed packet fails as a dropped connection", () => {
  const columns = [column("a", "int32", "int"), column("b", "text", "varchar")];
  const wires: BinaryWire[] = ["i32", "bytes"];
  const good = binaryRow([le(1n, 4), [1, 0x61]]);
  const cases: [string, Uint8Array, RegExp][] = [
    ["no header", Uint8Array.of(1, 0, ...le(1n, 4), 1, 0x61), /no binary row header/],
    ["a cut integer", good.subarray(0, 4), /value 1 of 2 runs past the packet/],
    ["a value past the end", good.subarray(0, good.length - 1), /value 2 of 2 runs past/],
    ["bytes after the last value", Uint8Array.of(...good, 0), /1 bytes after the last/],
    ["an invalid length prefix", binaryRow([le(1n, 4), [0xff, 0x61]]), /length prefix 0xff/],
    ["a cut length byte", binaryRow([[4, 0xe8, 0x07]]).subarray(0), /runs past the packet/],
  ];
  for (const [label, bytes, pattern] of cases) {
    const cols = label === "a cut length byte" ? [column("d", "date", "date")] : columns;
    const w: BinaryWire[] = label === "a cut length byte" ? ["datetime"] : wires;
    const decoder = rowDecoder(cols, w, createDecoders(cols).decoders);
    assert.throws(
      () => decoder.decode(bytes, 0, bytes.length),
      (e: unknown) =>
        e instanceof SourceError && e.retryClass === "disconnect" && pattern.test(e.message),
      label,
    );
  }
});

Deno.test("mysql binary rows: the installed mysql2 hands every binary row to the reader and keeps no statement", async () => {
  await withMysqlDb("", async (db) => {
    const session = await MysqlSession.open(db.config());
    try {
      const statements = async () =>
        Number((await session.run("SHOW SESSION STATUS LIKE 'Prepared_stmt_count'"))[0]?.[1] ?? 0);
      const open = await session.run("SELECT COUNT(*) FROM information_schema.PROCESSLIST");
      assert.ok(open.length === 1);
      const seen: number[][] = [];
      const bypassed: SourceError[] = [];
      await new Promise<void>((resolve, reject) => {
        const query = session.stream(
          "SELECT 1 AS a, NULL AS b, '' AS c UNION ALL SELECT 22, 'é', 'x'",
          (bytes, start, end) => seen.push(Array.from(bytes.subarray(start, end))),
          (e) => bypassed.push(e),
          "binary",
        );
        query.on("error", reject);
        query.on("end", resolve);
      });
      assert.deepEqual(bypassed, []);
      // Header, a one-byte bitmap (b is bit 3 in the first row), a (INT: 4 bytes), b, c.
      assert.deepEqual(seen, [
        [0, 0b1000, ...le(1n, 4), 0],
        [0, 0, ...le(22n, 4), 2, 0xc3, 0xa9, 1, 0x78],
      ]);
      assert.equal(await statements(), 0, "the statement was closed");
    } finally {
      await session.close();
    }
  });
});
