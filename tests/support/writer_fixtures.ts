/**
 * Arrow batches covering every type rivet's sources produce, with the values they hold and the
 * CSV text each value must become. Buffers are built by hand (not with Arrow builders) so the
 * fixtures do not share code paths with what they test.
 *
 * Value encodings: Bool boolean; Int8/16/32 and floats number; Int64/UInt64 bigint; Decimal a
 * string with exactly `scale` fraction digits; Utf8 string; Binary Uint8Array; Date32 days;
 * Timestamp and Time64 bigint microseconds; List an array of its element encoding. `null` is NULL.
 * These match what `read_parquet.ts` returns.
 *
 * @module
 */
import {
  Binary,
  Bool,
  type Data,
  type DataType,
  DateDay,
  Decimal,
  Field,
  Float32,
  Float64,
  Int16,
  Int32,
  Int64,
  List,
  makeData,
  RecordBatch,
  Schema,
  Struct,
  TimeMicrosecond,
  TimestampMicrosecond,
  Uint64,
  Utf8,
} from "apache-arrow";
import type { ParquetValue } from "./read_parquet.ts";

/** One fixture column: its field, its values, and the expected CSV field texts. */
export interface FixtureColumn {
  field: Field;
  values: ParquetValue[];
  /** Expected CSV field per row (unquoted text; `null` for NULL). */
  csv: (string | null)[];
}

const f32 = Math.fround;
const source = (type: string) => new Map([["rivet.source_type", type]]);

function field(name: string, type: DataType, sourceType: string): Field {
  return new Field(name, type, true, source(sourceType));
}

const TS_VALUES = [
  0n,
  -1n,
  1n,
  253402300799999999n,
  -62135596800000000n,
  1700000000123456n,
  -2208988800000001n,
  4102444800000000n,
  1234567n,
  null,
];
const TS_TEXT = [
  "1970-01-01T00:00:00.000000",
  "1969-12-31T23:59:59.999999",
  "1970-01-01T00:00:00.000001",
  "9999-12-31T23:59:59.999999",
  "0001-01-01T00:00:00.000000",
  "2023-11-14T22:13:20.123456",
  "1899-12-31T23:59:59.999999",
  "2100-01-01T00:00:00.000000",
  "1970-01-01T00:00:01.234567",
  null,
];

/** Rows per fixture batch; the last row is NULL in every column but `id`. */
export const FIXTURE_ROWS = 10;

/** The fixture columns after `id` (see {@link fixtureBatch}). */
export const COLUMNS: FixtureColumn[] = [
  {
    field: field("b", new Bool(), "boolean"),
    values: [true, false, true, false, true, false, true, false, true, null],
    csv: ["true", "false", "true", "false", "true", "false", "true", "false", "true", null],
  },
  {
    field: field("i16", new Int16(), "smallint"),
    values: [-32768, 32767, 0, -1, 1, 100, -100, 12345, 7, null],
    csv: ["-32768", "32767", "0", "-1", "1", "100", "-100", "12345", "7", null],
  },
  {
    field: field("i32", new Int32(), "integer"),
    values: [-2147483648, 2147483647, 0, -1, 1, 65536, -65536, 123456789, 7, null],
    csv: ["-2147483648", "2147483647", "0", "-1", "1", "65536", "-65536", "123456789", "7", null],
  },
  {
    field: field("i64", new Int64(), "bigint"),
    values: [
      -9223372036854775808n,
      9223372036854775807n,
      0n,
      -1n,
      9007199254740993n,
      -9007199254740993n,
      4294967296n,
      -4294967296n,
      9007199254740991n,
      null,
    ],
    csv: [
      "-9223372036854775808",
      "9223372036854775807",
      "0",
      "-1",
      "9007199254740993",
      "-9007199254740993",
      "4294967296",
      "-4294967296",
      "9007199254740991",
      null,
    ],
  },
  {
    field: field("u64", new Uint64(), "bigint unsigned"),
    values: [
      18446744073709551615n,
      0n,
      1n,
      9223372036854775808n,
      9007199254740993n,
      4294967295n,
      4294967296n,
      12345n,
      9007199254740991n,
      null,
    ],
    csv: [
      "18446744073709551615",
      "0",
      "1",
      "9223372036854775808",
      "9007199254740993",
      "4294967295",
      "4294967296",
      "12345",
      "9007199254740991",
      null,
    ],
  },
  {
    field: field("f32", new Float32(), "real"),
    values: [
      f32(0.1),
      NaN,
      Infinity,
      -Infinity,
      -0,
      f32(3.4028234663852886e38),
      f32(1e-45),
      f32(123.456),
      16777216,
      null,
    ],
    csv: [
      "0.1",
      "NaN",
      "Infinity",
      "-Infinity",
      "-0",
      "3.4028235e+38",
      "1e-45",
      "123.456",
      "1.6777216e+07",
      null,
    ],
  },
  {
    field: field("f64", new Float64(), "double precision"),
    values: [
      0.1,
      NaN,
      Infinity,
      -Infinity,
      -0,
      5e-324,
      1.7976931348623157e308,
      1e21,
      123.456,
      null,
    ],
    csv: [
      "0.1",
      "NaN",
      "Infinity",
      "-Infinity",
      "-0",
      "5e-324",
      "1.7976931348623157e+308",
      "1e+21",
      "123.456",
      null,
    ],
  },
  decimalColumn("dec38", 38, 10, [
    "9999999999999999999999999999.9999999999",
    "-9999999999999999999999999999.9999999999",
    "0.0000000000",
    "0.0000000001",
    "-0.0000000001",
    "-1.5000000000",
    "123456789.0123456789",
    "900719925.4740993000",
    "-0.0000009007",
    null,
  ]),
  decimalColumn("dec18", 18, 4, [
    "99999999999999.9999",
    "-99999999999999.9999",
    "0.0000",
    "1.0000",
    "-1.0000",
    "0.0001",
    "900719925474.0993",
    "-900719925474.0991",
    "42.4200",
    null,
  ]),
  decimalColumn("dec9", 9, 2, [
    "9999999.99",
    "-9999999.99",
    "0.01",
    "-0.01",
    "0.00",
    "100.00",
    "-100.50",
    "1234567.89",
    "7.00",
    null,
  ]),
  {
    field: field("s", new Utf8(), "text"),
    values: [
      "plain",
      "",
      "a,b",
      'he said "hi"',
      "line1\nline2",
      "cr\ronly",
      "crlf\r\nend",
      "emoji 😀 é 中文, ok",
      "  padded  ",
      null,
    ],
    csv: [
      "plain",
      "",
      "a,b",
      'he said "hi"',
      "line1\nline2",
      "cr\ronly",
      "crlf\r\nend",
      "emoji 😀 é 中文, ok",
      "  padded  ",
      null,
    ],
  },
  {
    field: field("bin", new Binary(), "bytea"),
    values: [
      new Uint8Array([0x00]),
      new Uint8Array([]),
      new Uint8Array([0xde, 0xad, 0xbe, 0xef]),
      new Uint8Array([0x00, 0xff, 0x10]),
      new Uint8Array([0x7f]),
      new Uint8Array([0x0a, 0x0d, 0x2c, 0x22]),
      new Uint8Array([0, 0, 0]),
      new Uint8Array([0xab]),
      new Uint8Array([0x01, 0x02]),
      null,
    ],
    csv: ["00", "", "deadbeef", "00ff10", "7f", "0a0d2c22", "000000", "ab", "0102", null],
  },
  {
    field: field("d", new DateDay(), "date"),
    values: [0, -1, -719162, 2932896, -25567, -719528, 2932897, -719893, 19723, null],
    csv: [
      "1970-01-01",
      "1969-12-31",
      "0001-01-01",
      "9999-12-31",
      "1900-01-01",
      "0000-01-01",
      "10000-01-01",
      "-0001-01-01",
      "2024-01-01",
      null,
    ],
  },
  {
    field: field("ts", new TimestampMicrosecond(), "timestamp"),
    values: TS_VALUES,
    csv: TS_TEXT,
  },
  {
    field: field("tsz", new TimestampMicrosecond("UTC"), "timestamptz"),
    values: TS_VALUES,
    csv: TS_TEXT.map((text) => text === null ? null : `${text}Z`),
  },
  {
    field: field("t", new TimeMicrosecond(), "time"),
    values: [
      0n,
      86399999999n,
      1n,
      45296789012n,
      43200000000n,
      3600000000n,
      59999999n,
      86400000000n,
      7n,
      null,
    ],
    csv: [
      "00:00:00.000000",
      "23:59:59.999999",
      "00:00:00.000001",
      "12:34:56.789012",
      "12:00:00.000000",
      "01:00:00.000000",
      "00:00:59.999999",
      "24:00:00.000000",
      "00:00:00.000007",
      null,
    ],
  },
  {
    field: field("l", listOf(new Int32()), "integer[]"),
    values: [[1, 2, 3], [], null, [null, 4], [-2147483648], [0], [5, 5, 5, 5], [7], [
      2147483647,
      -1,
    ], null],
    csv: [
      "[1,2,3]",
      "[]",
      null,
      "[null,4]",
      "[-2147483648]",
      "[0]",
      "[5,5,5,5]",
      "[7]",
      "[2147483647,-1]",
      null,
    ],
  },
  {
    field: field("ls", listOf(new Utf8()), "text[]"),
    values: [
      ["a", "b,c"],
      ['q"uote'],
      [],
      [null],
      ["line\nbreak", "😀"],
      ["x"],
      [""],
      ["tab\there"],
      ["\\back"],
      null,
    ],
    csv: [
      '["a","b,c"]',
      '["q\\"uote"]',
      "[]",
      "[null]",
      '["line\\nbreak","😀"]',
      '["x"]',
      '[""]',
      '["tab\\there"]',
      '["\\\\back"]',
      null,
    ],
  },
  {
    field: field("lf", listOf(new Float64()), "double precision[]"),
    values: [[1.5, NaN], [Infinity, -Infinity], [-0], [], null, [0.1], [1e21], [5e-324], [2], null],
    csv: [
      '[1.5,"NaN"]',
      '["Infinity","-Infinity"]',
      "[-0]",
      "[]",
      null,
      "[0.1]",
      "[1e+21]",
      "[5e-324]",
      "[2]",
      null,
    ],
  },
  {
    field: field("ld", listOf(new Decimal(2, 10, 128)), "numeric(10,2)[]"),
    values: [
      ["1.50", "-2.25"],
      [],
      null,
      [null],
      ["0.00"],
      ["99999999.99"],
      ["-0.01"],
      ["3.00", "4.00"],
      ["0.10"],
      null,
    ],
    csv: [
      "[1.50,-2.25]",
      "[]",
      null,
      "[null]",
      "[0.00]",
      "[99999999.99]",
      "[-0.01]",
      "[3.00,4.00]",
      "[0.10]",
      null,
    ],
  },
  {
    field: field("ldt", listOf(new DateDay()), "date[]"),
    values: [[0, -1], [], null, [null, 2932896], [-719162], [19723], [1], [2], [3], null],
    csv: [
      '["1970-01-01","1969-12-31"]',
      "[]",
      null,
      '[null,"9999-12-31"]',
      '["0001-01-01"]',
      '["2024-01-01"]',
      '["1970-01-02"]',
      '["1970-01-03"]',
      '["1970-01-04"]',
      null,
    ],
  },
  {
    field: new Field(
      "j",
      new Utf8(),
      true,
      new Map([["ARROW:extension:name", "arrow.json"], ["rivet.source_type", "jsonb"]]),
    ),
    values: [
      '{"a":1}',
      "[1,2]",
      "null",
      '"x"',
      "{}",
      '{"k":"v,w"}',
      "1.5",
      "true",
      '{"n":{"a":[1,2]}}',
      null,
    ],
    csv: [
      '{"a":1}',
      "[1,2]",
      "null",
      '"x"',
      "{}",
      '{"k":"v,w"}',
      "1.5",
      "true",
      '{"n":{"a":[1,2]}}',
      null,
    ],
  },
];

function listOf(type: DataType): List {
  return new List(new Field("item", type, true));
}

function decimalColumn(
  name: string,
  precision: number,
  scale: number,
  text: (string | null)[],
): FixtureColumn {
  return {
    field: field(name, new Decimal(scale, precision, 128), `numeric(${precision},${scale})`),
    values: text,
    csv: text,
  };
}

/** The fixture schema: a non-null `id` Int32, then {@link COLUMNS}. */
export const SCHEMA = new Schema([
  new Field("id", new Int32(), false),
  ...COLUMNS.map((c) => c.field),
]);

/** One fixture batch whose `id`s are `firstId`, `firstId + 1`, ... */
export function fixtureBatch(firstId: number): RecordBatch {
  const ids = Array.from({ length: FIXTURE_ROWS }, (_, i) => firstId + i);
  const children = [
    buildData(new Int32(), ids),
    ...COLUMNS.map((c) => buildData(c.field.type, c.values)),
  ];
  return new RecordBatch(
    SCHEMA,
    makeData({ type: new Struct(SCHEMA.fields), length: FIXTURE_ROWS, nullCount: 0, children }),
  );
}

/** Builds Arrow data for `values` (in the module's encodings) from raw buffers. */
export function buildData(type: DataType, values: ParquetValue[]): Data {
  const length = values.length;
  const nullBitmap = new Uint8Array(Math.ceil(length / 8));
  let nullCount = 0;
  values.forEach((v, i) => {
    if (v === null) nullCount++;
    else nullBitmap[i >> 3] |= 1 << (i & 7);
  });
  const common = { type, length, nullCount, nullBitmap };
  const present = <T>(fill: T) => values.map((v) => v === null ? fill : v);
  if (type instanceof Bool) {
    const bits = new Uint8Array(Math.ceil(length / 8));
    values.forEach((v, i) => {
      if (v === true) bits[i >> 3] |= 1 << (i & 7);
    });
    return makeData({ ...common, type, data: bits });
  }
  if (type instanceof Int16) {
    return makeData({ ...common, type, data: Int16Array.from(present(0) as number[]) });
  }
  if (type instanceof Int32) {
    return makeData({ ...common, type, data: Int32Array.from(present(0) as number[]) });
  }
  if (type instanceof Int64) {
    return makeData({ ...common, type, data: BigInt64Array.from(present(0n) as bigint[]) });
  }
  if (type instanceof Uint64) {
    return makeData({ ...common, type, data: BigUint64Array.from(present(0n) as bigint[]) });
  }
  if (type instanceof Float32) {
    return makeData({ ...common, type, data: Float32Array.from(present(0) as number[]) });
  }
  if (type instanceof Float64) {
    return makeData({ ...common, type, data: Float64Array.from(present(0) as number[]) });
  }
  if (type instanceof DateDay) {
    return makeData({ ...common, type, data: Int32Array.from(present(0) as number[]) });
  }
  if (type instanceof TimestampMicrosecond) {
    return makeData({ ...common, type, data: BigInt64Array.from(present(0n) as bigint[]) });
  }
  if (type instanceof TimeMicrosecond) {
    return makeData({ ...common, type, data: BigInt64Array.from(present(0n) as bigint[]) });
  }
  if (type instanceof Decimal) {
    const words = new Uint32Array(length * 4);
    values.forEach((v, i) => {
      if (v === null) return;
      let unscaled = BigInt.asUintN(128, BigInt(String(v).replace(".", "")));
      for (let k = 0; k < 4; k++) {
        words[i * 4 + k] = Number(unscaled & 0xffffffffn);
        unscaled >>= 32n;
      }
    });
    return makeData({ ...common, type, data: words });
  }
  if (type instanceof Utf8 || type instanceof Binary) {
    const encoder = new TextEncoder();
    const parts = values.map((v) =>
      v === null ? new Uint8Array() : v instanceof Uint8Array ? v : encoder.encode(String(v))
    );
    const valueOffsets = new Int32Array(length + 1);
    parts.forEach((p, i) => (valueOffsets[i + 1] = valueOffsets[i] + p.length));
    const data = new Uint8Array(valueOffsets[length]);
    parts.forEach((p, i) => data.set(p, valueOffsets[i]));
    return type instanceof Utf8
      ? makeData({ ...common, type, valueOffsets, data })
      : makeData({ ...common, type: type as Binary, valueOffsets, data });
  }
  if (type instanceof List) {
    const items = values.flatMap((v) => (Array.isArray(v) ? v : []));
    const valueOffsets = new Int32Array(length + 1);
    values.forEach((
      v,
      i,
    ) => (valueOffsets[i + 1] = valueOffsets[i] + (Array.isArray(v) ? v.length : 0)));
    return makeData({
      ...common,
      type,
      valueOffsets,
      child: buildData(type.children[0].type, items),
    });
  }
  throw new Error(`fixture: no builder for ${type}`);
}
