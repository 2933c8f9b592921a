import assert from "node:assert/strict";
import { Field, type RecordBatch, Schema } from "apache-arrow";
import {
  type ColumnBuilder,
  Decimal128Builder,
  finishBatch,
  float64Builder,
  int32Builder,
  int64Builder,
  ListBuilder,
  UInt64Builder,
  Utf8Builder,
} from "./mod.ts";
import { releaseBatch } from "./release.ts";

/** Enough rows that every column's arrays pass the size from which they are recycled. */
const ROWS = 20_000;

function builders() {
  return {
    text: new Utf8Builder(),
    int: int32Builder(),
    float: float64Builder(),
    big: int64Builder(),
    unsigned: new UInt64Builder(),
    decimal: new Decimal128Builder(18, 2),
    list: new ListBuilder(int32Builder()),
  };
}

type Builders = ReturnType<typeof builders>;

/** Row `i` of batch `b`: every seventh row NULL in odd batches. */
function fill(columns: Builders, b: number): void {
  for (let i = 0; i < ROWS; i++) {
    if (b % 2 === 1 && i % 7 === 0) {
      for (const column of Object.values(columns)) column.appendNull();
      continue;
    }
    const n = b * 1_000_000 + i;
    columns.text.appendString(`row ${n}${"é".repeat(i % 5)}`);
    columns.int.appendValue(n);
    columns.float.appendValue(n / 8);
    const big = BigInt(n) * 1_000_000_007n;
    if (i % 2 === 0) columns.big.append(big);
    else columns.big.appendWords(Number(big & 0xffffffffn), Number(big >> 32n));
    columns.unsigned.appendWords(n, b);
    columns.decimal.appendText(`${n}.${String(i % 100).padStart(2, "0")}`);
    for (let k = 0; k < (i + 3) % 4; k++) columns.list.child.appendValue(n + k);
    columns.list.endList();
  }
}

function expected(b: number, i: number): unknown[] | null {
  if (b % 2 === 1 && i % 7 === 0) return null;
  const n = b * 1_000_000 + i;
  return [
    `row ${n}${"é".repeat(i % 5)}`,
    n,
    n / 8,
    BigInt(n) * 1_000_000_007n,
    BigInt(b) * 2n ** 32n + BigInt(n),
    `${n}.${String(i % 100).padStart(2, "0")}`,
    Array.from({ length: (i + 3) % 4 }, (_, k) => n + k),
  ];
}

function finish(columns: Builders): RecordBatch {
  const list = Object.values(columns) as ColumnBuilder[];
  const schema = new Schema(list.map((c, i) => new Field(`c${i}`, c.type, true)));
  return finishBatch(schema, list);
}

function assertRows(batch: RecordBatch, b: number): void {
  assert.equal(batch.numRows, ROWS);
  for (let i = 0; i < ROWS; i++) {
    const want = expected(b, i);
    const got = batch.schema.fields.map((_, c) => batch.getChildAt(c)!.get(i));
    if (want === null) {
      assert.deepEqual(got, got.map(() => null), `batch ${b} row ${i}`);
      continue;
    }
    const decimal = got[5] as { toString(): string } & ArrayLike<number>;
    assert.deepEqual(
      [
        got[0],
        got[1],
        got[2],
        got[3],
        got[4],
        decimalText(decimal),
        [...(got[6] as Iterable<number>)],
      ],
      want,
      `batch ${b} row ${i}`,
    );
  }
}

/** A Decimal128(18, 2) value's text, from its four little-endian 32-bit words. */
function decimalText(words: ArrayLike<number>): string {
  let unscaled = 0n;
  for (let k = 3; k >= 0; k--) unscaled = (unscaled << 32n) | BigInt(words[k] >>> 0);
  const text = unscaled.toString().padStart(3, "0");
  return `${text.slice(0, -2)}.${text.slice(-2)}`;
}

Deno.test("recycled builders: batches built in a written batch's memory hold exactly their own rows", () => {
  const columns = builders();
  fill(columns, 0);
  const first = finish(columns);
  assertRows(first, 0);
  // What a written batch leaves behind is not zeroes: every byte of its memory is made garbage
  // (offsets that start at -1 included) before it is given back.
  const garbage = (batch: RecordBatch) => {
    for (const column of batch.data.children) {
      for (const data of [column, ...column.children]) {
        for (const view of [data.values, data.valueOffsets]) {
          if (view) new Uint8Array(view.buffer, 0, view.buffer.byteLength).fill(0xff);
        }
      }
    }
  };
  garbage(first);
  releaseBatch(first);
  // Released: the batch's views are empty, so it can no longer be read by mistake.
  assert.equal(first.getChildAt(1)!.data[0].values.length, 0);

  fill(columns, 1);
  const second = finish(columns);
  assertRows(second, 1);
  garbage(second);
  releaseBatch(second);

  // From here on the builders append into the first two batches' memory.
  for (let b = 2; b < 5; b++) {
    fill(columns, b);
    const batch = finish(columns);
    assertRows(batch, b);
    garbage(batch);
    releaseBatch(batch);
  }
});

Deno.test("recycled builders: one outsized value does not set the size of every later batch's memory", () => {
  const text = new Utf8Builder();
  const huge = new Uint8Array(40 * 1024 * 1024).fill(0x61);
  text.appendBytes(huge, 0, huge.length);
  const outlier = finishBatch(new Schema([new Field("t", text.type, true)]), [text]);
  assert.equal((outlier.getChildAt(0)!.get(0) as string).length, huge.length);
  releaseBatch(outlier);

  const sizes: number[] = [];
  for (let b = 0; b < 3; b++) {
    for (let i = 0; i < 1_000; i++) text.appendString(`row ${b} ${i}`);
    const batch = finishBatch(new Schema([new Field("t", text.type, true)]), [text]);
    assert.equal(batch.getChildAt(0)!.get(999), `row ${b} 999`);
    releaseBatch(batch);
    sizes.push(text.bytes.length);
  }
  // Grown to 64 MiB for the outlier; back to the smallest recycled size once the rows are small.
  assert.deepEqual(sizes, [64 * 1024, 64 * 1024, 64 * 1024]);
});
