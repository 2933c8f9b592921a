/**
 * The fast Arrow column builders (src/source/arrow): exact values, NULL bitmaps, and reuse across
 * batches.
 */
import assert from "node:assert/strict";
import { Field, Int32, makeVector, Schema, Utf8 } from "apache-arrow";
import { TypeMappingError } from "../src/errors.ts";
import {
  BoolBuilder,
  date32Builder,
  daysFromCivil,
  Decimal128Builder,
  finishBatch,
  int32Builder,
  int64Builder,
  ListBuilder,
  timestampBuilder,
  Utf8Builder,
} from "../src/arrow/mod.ts";

/** The unscaled value of Decimal128 slot `i` (words little-endian, two's complement). */
function unscaled(words: Uint32Array, i: number): bigint {
  let v = 0n;
  for (let k = 3; k >= 0; k--) v = (v << 32n) | BigInt(words[4 * i + k]);
  return BigInt.asIntN(128, v);
}

Deno.test("decimal: exact text in, 128-bit two's complement out", () => {
  const b = new Decimal128Builder(38, 10);
  const inputs = [
    "9999999999999999999999999999.9999999999",
    "-9999999999999999999999999999.9999999999",
    "0",
    "-0",
    "-0.0000000001",
    "1.5",
    "+42",
    "123.4500000000000", // trailing zeros past the scale are exact
    "00000000000000000000000000000000000000000001.25",
    ".5",
  ];
  for (const t of inputs) b.append(t);
  b.appendNull();
  const data = b.finish();
  const words = data.values as Uint32Array;
  const expected = [
    99999999999999999999999999999999999999n,
    -99999999999999999999999999999999999999n,
    0n,
    0n,
    -1n,
    15000000000n,
    420000000000n,
    1234500000000n,
    12500000000n,
    5000000000n,
    0n,
  ];
  assert.deepEqual(expected.map((_, i) => unscaled(words, i)), expected);
  assert.equal(data.nullCount, 1);
  assert.equal(data.length, 11);
});

Deno.test("decimal: values that would need rounding or more precision are rejected", () => {
  const b = new Decimal128Builder(5, 2);
  for (const bad of ["1.234", "1234.5", "100000", "99999999999999999999999999999999999999999"]) {
    assert.throws(() => b.append(bad), TypeMappingError, bad);
  }
  for (const bad of ["", "-", "NaN", "Infinity", "1e5", "1.2.3", " 1"]) {
    assert.throws(() => b.append(bad), TypeMappingError, JSON.stringify(bad));
  }
  b.append("999.99");
  b.append("-999.99");
  const words = b.finish().values as Uint32Array;
  assert.deepEqual([unscaled(words, 0), unscaled(words, 1)], [99999n, -99999n]);
  assert.throws(() => new Decimal128Builder(39, 0), RangeError);
  assert.throws(() => new Decimal128Builder(5, 6), RangeError);
});

Deno.test("decimal: digit-group API matches text", () => {
  const b = new Decimal128Builder(20, 4);
  // 1234 5678 9012 . 3456 pushed in base-10000 groups, as numeric's wire format has them.
  b.beginValue();
  for (const g of [1234, 5678, 9012, 3456]) b.pushDigits(g, 4);
  b.endValue(true, 4);
  b.append("-123456789012.3456");
  const words = b.finish().values as Uint32Array;
  assert.equal(unscaled(words, 0), -1234567890123456n);
  assert.equal(unscaled(words, 1), -1234567890123456n);
});

Deno.test("decimal: the small-integer path matches text, and leaves what it cannot take", () => {
  const b = new Decimal128Builder(12, 4);
  const small = (n: number, negative: boolean, fraction: number) =>
    b.appendSmall(Float64Array.of(n), 0, negative, fraction);
  // n / 10^fraction, scaled up to the column's 4 fraction digits.
  assert.equal(small(12345, true, 2), true);
  assert.equal(small(0, true, 4), true);
  assert.equal(small(99_999_999, false, 0), true);
  b.append("-123.45");
  // More fraction digits than the scale, or past 2^53 once scaled: refused, nothing appended.
  assert.equal(small(1, false, 5), false);
  assert.equal(small(2 ** 50, false, 0), false);
  // Within 2^53 but past the precision: the same error as the text path.
  assert.throws(() => small(100_000_000, false, 0), TypeMappingError);
  assert.throws(() => b.append("100000000"), TypeMappingError);
  const data = b.finish();
  const words = data.values as Uint32Array;
  assert.equal(data.length, 4);
  assert.deepEqual([0, 1, 2, 3].map((i) => unscaled(words, i)), [
    -1_234_500n,
    0n,
    999_999_990_000n,
    -1_234_500n,
  ]);
});

Deno.test("validity: NULLs before, after and across batch boundaries", () => {
  const b = int32Builder();
  for (let i = 0; i < 20; i++) b.append(i);
  b.appendNull();
  b.append(21);
  let v = makeVector(b.finish());
  assert.deepEqual([v.get(19), v.get(20), v.get(21), v.nullCount], [19, null, 21, 1]);
  // The next batch reuses the buffers and must not inherit the old bitmap.
  for (let i = 0; i < 30; i++) b.append(i);
  v = makeVector(b.finish());
  assert.equal(v.nullCount, 0);
  assert.equal(v.get(20), 20);
  b.appendNull();
  for (let i = 1; i < 3000; i++) b.append(i);
  v = makeVector(b.finish());
  assert.deepEqual([v.get(0), v.get(1), v.get(2999), v.nullCount], [null, 1, 2999, 1]);
});

Deno.test("bool: bit-packed values and NULLs", () => {
  const b = new BoolBuilder();
  const values = [true, false, null, true, true, false, false, true, null, true];
  for (const x of values) b.append(x);
  assert.deepEqual([...makeVector(b.finish())], values);
  b.append(false);
  assert.deepEqual([...makeVector(b.finish())], [false]);
});

Deno.test("int64 and timestamps: exact without BigInt on the hot paths", () => {
  const b = int64Builder();
  b.appendNumber(-1);
  b.appendNumber(Number.MAX_SAFE_INTEGER);
  b.appendNumber(-Number.MAX_SAFE_INTEGER);
  b.appendWords(-1, 0x7fffffff);
  b.appendWords(0, -0x80000000);
  b.append(-42n);
  const values = b.finish().values as BigInt64Array;
  assert.deepEqual([...values], [
    -1n,
    9007199254740991n,
    -9007199254740991n,
    9223372036854775807n,
    -9223372036854775808n,
    -42n,
  ]);
  const ts = timestampBuilder(true);
  const day = daysFromCivil(9999, 12, 31);
  ts.appendMicros(day * 86400 + 86399, 999999);
  ts.appendMicros(-1, 999999);
  ts.appendMicros(daysFromCivil(-43, 3, 15) * 86400 + 43200, 123456);
  const data = ts.finish();
  assert.equal(String(data.type), "Timestamp<MICROSECOND, UTC>");
  assert.deepEqual([...(data.values as BigInt64Array)], [
    253402300799999999n,
    -1n,
    -63517780799876544n,
  ]);
});

Deno.test("calendar: proleptic Gregorian day numbers", () => {
  assert.equal(daysFromCivil(1970, 1, 1), 0);
  assert.equal(daysFromCivil(2000, 1, 1), 10957);
  assert.equal(daysFromCivil(2000, 2, 29), 11016);
  assert.equal(daysFromCivil(1, 1, 1), -719162);
  assert.equal(daysFromCivil(-43, 3, 15), -735160); // 44 BC, as PostgreSQL counts it
  assert.equal(daysFromCivil(9999, 12, 31), 2932896);
  const d = date32Builder();
  d.append(-719162);
  assert.equal(String(d.finish().type), "Date32<DAY>");
});

Deno.test("utf8: ASCII, multi-byte, long, empty and raw-byte values", () => {
  const b = new Utf8Builder();
  const long = "x".repeat(70) + "é";
  const values = ["abc", "", null, 'héllo, "q"\n😀', long, "\u0000"];
  for (const x of values) b.append(x);
  const raw = new TextEncoder().encode("__raw ü__");
  b.appendBytes(raw, 2, raw.length - 2);
  const at = b.reserve(3);
  b.bytes.set([0x61, 0x62, 0x63], at);
  b.commit(3);
  assert.deepEqual([...makeVector(b.finish())], [...values, "raw ü", "abc"]);
});

Deno.test("list: NULL lists, empty lists and NULL elements", () => {
  const b = new ListBuilder(int32Builder());
  b.child.append(1);
  b.child.appendNull();
  b.endList();
  b.appendNull();
  b.endList();
  b.child.append(3);
  b.endList();
  const v = makeVector(b.finish());
  assert.deepEqual(JSON.parse(JSON.stringify(v)), [[1, null], null, [], [3]]);
  assert.equal(String(v.type), "List<Int32>");
});

Deno.test("batch: wraps finished builders as one RecordBatch", () => {
  const schema = new Schema([new Field("id", new Int32(), true), new Field("s", new Utf8(), true)]);
  const id = int32Builder();
  const s = new Utf8Builder();
  id.append(7);
  s.append(null);
  const batch = finishBatch(schema, [id, s]);
  assert.equal(batch.numRows, 1);
  assert.deepEqual(batch.toArray().map((r) => r.toJSON()), [{ id: 7, s: null }]);
  id.append(1);
  assert.throws(() => finishBatch(schema, [id, s]), /disagree/);
});
