/**
 * The CSV writer's byte-level fields (`arrow/csv_fields.ts`) against the string renderers of
 * `arrow/text.ts` (which the quality rules, meta columns and cursors use) quoted by the RFC 4180
 * rule stated here: every value of every type, random and at the edges, must give the same bytes.
 */
import assert from "node:assert/strict";
import {
  Binary,
  Bool,
  type Data,
  type DataType,
  DateDay,
  Decimal,
  Dictionary,
  DurationMicrosecond,
  Field,
  Float32,
  Float64,
  Int16,
  Int32,
  Int64,
  Int8,
  List,
  makeData,
  TimeMicrosecond,
  TimestampMicrosecond,
  Uint16,
  Uint32,
  Uint64,
  Uint8,
  Utf8,
} from "apache-arrow";
import { fieldRendererFor } from "../src/arrow/csv_fields.ts";
import { rendererFor } from "../src/arrow/text.ts";
import { TypeMappingError } from "../src/errors.ts";
import { ByteBuffer } from "../src/util/byte_buffer.ts";

const ROWS = 4000;

/** A small seeded generator (mulberry32), so a failure can be replayed. */
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const rnd = random(20261203);
const word = () => Math.floor(rnd() * 4294967296) >>> 0;

/** The field RFC 4180 and rivet's conventions make of a value's text. */
function rfc4180(text: string, quote: boolean, alone: boolean): string {
  if (!quote) return text;
  if (text === "" || /[",\r\n]/.test(text)) return `"${text.replaceAll('"', '""')}"`;
  return alone && text === "\\." ? `"${text}"` : text;
}

/** Renders every row of `data` both ways and compares them, one row at a time. */
function agree(type: DataType, data: Data, quote: boolean, alone = false): void {
  const field = new Field("c", type, true);
  const text = rendererFor(field)(data);
  const out = new ByteBuffer(16);
  const write = fieldRendererFor(field, alone)(data, out);
  const decoder = new TextDecoder("utf-8", { ignoreBOM: true });
  for (let i = 0; i < data.length; i++) {
    out.at = 0;
    write(i);
    const got = decoder.decode(out.bytes.subarray(0, out.at));
    const want = rfc4180(text(i), quote, alone);
    if (got !== want) assert.fail(`${type} row ${i}: wrote ${got}, want ${want}`);
  }
}

/** `words` 32-bit words per value, the first `edges` values given, the rest random. */
function words(perValue: number, edges: number[][]): Uint32Array {
  const out = new Uint32Array(ROWS * perValue);
  for (let i = 0; i < ROWS; i++) {
    for (let k = 0; k < perValue; k++) {
      out[i * perValue + k] = i < edges.length ? edges[i][k] >>> 0 : word();
    }
  }
  return out;
}

/** 64-bit values as two words: the edges, then half random over all bits, half below 2^40. */
function int64Words(edges: bigint[]): Uint32Array {
  const out = new BigInt64Array(ROWS);
  for (let i = 0; i < ROWS; i++) {
    if (i < edges.length) out[i] = BigInt.asIntN(64, edges[i]);
    else if (i % 2 === 0) out[i] = BigInt.asIntN(64, (BigInt(word()) << 32n) | BigInt(word()));
    else out[i] = BigInt(Math.floor((rnd() - 0.5) * 2 ** 41));
  }
  return new Uint32Array(out.buffer);
}

const EDGES_64 = [
  0n,
  1n,
  -1n,
  2n ** 53n - 1n,
  2n ** 53n,
  2n ** 53n + 1n,
  -(2n ** 53n) + 1n,
  -(2n ** 53n),
  -(2n ** 53n) - 1n,
  2n ** 63n - 1n,
  -(2n ** 63n),
  2n ** 32n,
  -(2n ** 32n),
  2n ** 31n,
  -(2n ** 31n) - 1n,
];

Deno.test("csv fields: integers of every width give the renderer's text", () => {
  const widths: [DataType, (n: number) => number][] = [
    [new Int8(), (n) => (n << 24) >> 24],
    [new Int16(), (n) => (n << 16) >> 16],
    [new Int32(), (n) => n | 0],
    [new Uint8(), (n) => n & 0xff],
    [new Uint16(), (n) => n & 0xffff],
    [new Uint32(), (n) => n >>> 0],
  ];
  for (const [type, wrap] of widths) {
    const values = Array.from(
      { length: ROWS },
      (_, i) => wrap([0, -1, 0x7fffffff, 0x80000000, 0x7f, 0x80, 0x7fff, 0x8000][i] ?? word()),
    );
    const data = makeData({ type, length: ROWS, data: values } as never) as Data;
    agree(type, data, false);
  }
  for (const type of [new Int64(), new Uint64()]) {
    agree(type, makeData({ type, length: ROWS, data: int64Words(EDGES_64) } as never), false);
  }
});

Deno.test("csv fields: float32 and float64 from random bits, NaN, infinities and -0", () => {
  const edges = [0, -0, NaN, Infinity, -Infinity, 1e-45, 3.4028234663852886e38, 1e15, 1e-5];
  const f32 = new Float32Array(new Uint32Array(ROWS).map((_, i) => i < 9 ? 0 : word()).buffer);
  edges.forEach((v, i) => f32[i] = v);
  agree(new Float32(), makeData({ type: new Float32(), length: ROWS, data: f32 }), false);
  const f64 = new Float64Array(int64Words([]).buffer);
  edges.concat([2 ** 53, 2 ** 60 + 2 ** 8, 5e-324]).forEach((v, i) => f64[i] = v);
  agree(new Float64(), makeData({ type: new Float64(), length: ROWS, data: f64 }), false);
});

Deno.test("csv fields: decimals of every scale, at and past 2^53, in both signs", () => {
  const edges = [
    [0, 0, 0, 0],
    [1, 0, 0, 0],
    [-1, -1, -1, -1],
    [-1, 0x1fffff, 0, 0], // 2^53 - 1
    [0, 0x200000, 0, 0], // 2^53
    [1, 0xffe00000, -1, -1], // -(2^53) + 1
    [0, 0xffe00000, -1, -1], // -(2^53)
    [-1, 0xffdfffff, -1, -1], // -(2^53) - 1
    [999999, 0, 0, 0],
    [-999999, -1, -1, -1],
  ];
  for (const scale of [0, 1, 2, 4, 6, 10, 15, 16, 20, 37]) {
    const type = new Decimal(scale, 38, 128);
    const data = words(4, edges);
    // Half the rows hold small values, where the fast path is taken.
    for (let i = edges.length; i < ROWS; i += 2) {
      const n = Math.floor((rnd() - 0.5) * 2 ** 54);
      const lo = n >>> 0;
      const hi = Math.floor(n / 4294967296);
      const fill = hi < 0 ? 0xffffffff : 0;
      data.set([lo, hi >>> 0, fill, fill], i * 4);
    }
    agree(type, makeData({ type, length: ROWS, data }), false);
  }
});

Deno.test("csv fields: dates, timestamps and times over their whole ranges", () => {
  const days = new Int32Array(ROWS).map((_, i) =>
    [0, -1, -719528, -719529, 2932896, 2147483647, -2147483648][i] ?? word() | 0
  );
  agree(new DateDay(), makeData({ type: new DateDay(), length: ROWS, data: days }), false);
  const micros = int64Words([
    0n,
    -1n,
    86_400_000_000n - 1n,
    -62_135_596_800_000_000n,
    253_402_300_799_999_999n,
    ...EDGES_64,
  ]);
  for (const type of [new TimestampMicrosecond(), new TimestampMicrosecond("UTC")]) {
    agree(type, makeData({ type, length: ROWS, data: micros }), false);
  }
  const times = new BigInt64Array(ROWS).map((_, i) =>
    BigInt([0, 86_400_000_000, 86_399_999_999, 1][i] ?? Math.floor(rnd() * 86_400_000_001))
  );
  const type = new TimeMicrosecond();
  agree(type, makeData({ type, length: ROWS, data: times }), false);
});

/** Random text: ASCII with CSV separators, accents, astral characters, a BOM, `\.`. */
function randomText(i: number): string {
  const fixed = ["\uFEFFbom", "", "\\.", '"', ",", "\r\n", "a\u0000b", "naïve", "𝄞", " "];
  if (i < fixed.length) return fixed[i];
  const alphabet = ["a", "Z", "0", " ", ",", '"', "\n", "\r", "é", "☃", "𝄞", "\\", "."];
  let s = "";
  const length = Math.floor(rnd() * (i % 50 === 0 ? 300 : 12));
  for (let k = 0; k < length; k++) s += alphabet[Math.floor(rnd() * alphabet.length)];
  return s;
}

function variable(type: DataType, values: Uint8Array[]): Data {
  const valueOffsets = new Int32Array(values.length + 1);
  values.forEach((v, i) => valueOffsets[i + 1] = valueOffsets[i] + v.length);
  const data = new Uint8Array(valueOffsets[values.length]);
  values.forEach((v, i) => data.set(v, valueOffsets[i]));
  return makeData({ type, length: values.length, valueOffsets, data } as never) as Data;
}

Deno.test("csv fields: text and binary, quoted by RFC 4180, in one-column files too", () => {
  const encoder = new TextEncoder();
  const texts = Array.from({ length: ROWS }, (_, i) => encoder.encode(randomText(i)));
  for (const alone of [false, true]) agree(new Utf8(), variable(new Utf8(), texts), true, alone);
  const blobs = Array.from(
    { length: ROWS },
    (_, i) => new Uint8Array(i % 7 === 0 ? 0 : Math.floor(rnd() * 40)).map(() => word() & 0xff),
  );
  agree(new Binary(), variable(new Binary(), blobs), true);
});

Deno.test("csv fields: booleans, lists, dictionaries and durations, on a sliced column", () => {
  const bits = new Uint8Array(ROWS / 8).map(() => word() & 0xff);
  const bools = makeData({ type: new Bool(), length: ROWS, data: bits });
  agree(new Bool(), bools.slice(3, ROWS - 10), false);

  const type = new DurationMicrosecond();
  const durations = makeData({ type, length: ROWS, data: int64Words(EDGES_64) });
  agree(type, durations.slice(5, ROWS - 5), false);

  const texts = Array.from({ length: ROWS }, (_, i) => new TextEncoder().encode(randomText(i)));
  const listType = new List(new Field("item", new Utf8(), true));
  const valueOffsets = new Int32Array(ROWS / 4 + 1).map((_, i) => i * 4);
  const list = makeData({
    type: listType,
    length: ROWS / 4,
    valueOffsets,
    child: variable(new Utf8(), texts),
  } as never) as Data;
  agree(listType, list.slice(1, ROWS / 4 - 1), true);

  const dictionaryType = new Dictionary(new Utf8(), new Int32());
  const dictionary = makeData({
    type: dictionaryType,
    length: ROWS,
    data: new Int32Array(ROWS).map(() => Math.floor(rnd() * 20)),
    dictionary: { data: [variable(new Utf8(), texts.slice(0, 20))] } as never,
  });
  agree(dictionaryType, dictionary, true);
});

Deno.test("csv fields: text that is not UTF-8 fails as a fatal decoder does", () => {
  const bad = [Uint8Array.of(0xff), Uint8Array.of(0x61, 0xc3), Uint8Array.of(0xed, 0xa0, 0x80)];
  for (const value of bad) {
    const data = variable(new Utf8(), [value]);
    const write = fieldRendererFor(new Field("t", new Utf8(), true), false)(
      data,
      new ByteBuffer(8),
    );
    assert.throws(() => write(0), TypeMappingError);
    assert.throws(() => new TextDecoder("utf-8", { fatal: true }).decode(value), TypeError);
  }
});
