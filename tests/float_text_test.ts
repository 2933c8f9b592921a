/**
 * Float text (src/arrow/float_text.ts) is PostgreSQL's own `float8out` / `float4out` text, byte for
 * byte: checked against the live server on random bit patterns, on the values where a shortest
 * decimal lies exactly halfway to a neighbour (large integers, which JavaScript's `String` prints
 * differently), around every power of two and every layout threshold, and pinned on a few values
 * so a failure reads plainly. The byte writers of float32 and float64 text write the very same
 * bytes.
 *
 * Run: deno test --allow-all tests/float_text_test.ts
 */
import assert from "node:assert/strict";
import {
  FLOAT32_TEXT_BYTES,
  float32Into,
  float32Text,
  FLOAT64_TEXT_BYTES,
  float64Into,
  float64Text,
} from "../src/arrow/float_text.ts";
import { adminClient } from "./support/pg.ts";

Deno.test("float text: pinned PostgreSQL outputs", () => {
  const f64: [number, string][] = [
    [0, "0"],
    [-0, "-0"],
    [NaN, "NaN"],
    [Infinity, "Infinity"],
    [-Infinity, "-Infinity"],
    [0.1, "0.1"],
    [1e-4, "0.0001"],
    [1e-5, "1e-05"],
    [1.5e-7, "1.5e-07"],
    [123456789012345, "123456789012345"],
    [1e15, "1e+15"],
    [1234567890123456, "1.234567890123456e+15"],
    [1e21, "1e+21"],
    [5e-324, "5e-324"],
    [1.7976931348623157e308, "1.7976931348623157e+308"],
    [2 ** 60, "1.152921504606847e+18"],
    [9007199254740994, "9.007199254740994e+15"],
  ];
  for (const [v, text] of f64) assert.equal(float64Text(v), text, `float8 ${v}`);
  const f32: [number, string][] = [
    [Math.fround(0.1), "0.1"],
    [Math.fround(123456), "123456"],
    [Math.fround(1e6), "1e+06"],
    [16777216, "1.6777216e+07"],
    [Math.fround(3.4028235e38), "3.4028235e+38"],
    [Math.fround(1e-45), "1e-45"],
    [Math.fround(1e-5), "1e-05"],
    [-66150272, "-6.6150272e+07"],
  ];
  for (const [v, text] of f32) assert.equal(float32Text(v), text, `float4 ${v}`);
});

Deno.test("float text: the same as the server's text for random and boundary values", async () => {
  const client = await adminClient();
  try {
    await client.query("SET extra_float_digits = 3");
    const f64 = new Float64Array(1);
    const w64 = new Uint32Array(f64.buffer);
    const f32 = new Float32Array(1);
    const w32 = new Uint32Array(f32.buffer);
    let state = 0x9e3779b9;
    const next = () => (state = (Math.imul(state, 1664525) + 1013904223) >>> 0);

    const doubles: number[] = [];
    for (let e = -1074; e <= 1023; e += 7) doubles.push(2 ** e, 2 ** e * (1 + 2 ** -52));
    for (let e = -25; e <= 25; e++) {
      doubles.push(10 ** e, 1.5 * 10 ** e, 9.999999999999999 * 10 ** e);
    }
    for (let k = 0; k < 4000; k++) doubles.push(Math.floor(next() * 2 ** 32 + next()) * 2 ** 11);
    while (doubles.length < 20_000) {
      w64[0] = next();
      w64[1] = next();
      if (Number.isFinite(f64[0])) doubles.push(f64[0]);
    }
    const texts = doubles.map((v) => v.toPrecision(17));
    const server64 = await client.query({
      text: "SELECT unnest($1::text[])::float8::text",
      values: [texts],
      rowMode: "array",
    });
    texts.forEach((t, i) => assert.equal(float64Text(Number(t)), server64.rows[i][0], t));

    const singles: number[] = [];
    for (let e = -149; e <= 127; e++) singles.push(Math.fround(2 ** e));
    for (let k = 0; k < 4000; k++) singles.push(Math.fround(next() >>> 1));
    for (let k = 0; k < 2000; k++) {
      w32[0] = 0x4b800000 + k; // from 2^24, where halfway decimals are short integers
      singles.push(f32[0]);
    }
    // Decimals of one to seven significant digits, as people type them, at every magnitude.
    for (let k = 0; k < 6000; k++) {
      const digits = 1 + (k % 7);
      const exp = (next() % 90) - 45;
      singles.push(Math.fround(Number(`${next() % 10 ** digits}e${exp}`)));
    }
    // Values that are short decimals exactly (942.375, 0.015625): ties the search settles exactly.
    for (let k = 0; k < 3000; k++) {
      singles.push(Math.fround((next() % 10 ** (1 + (k % 7))) / 2 ** (next() % 20)));
    }
    while (singles.length < 20_000) {
      w32[0] = next();
      if (Number.isFinite(f32[0])) singles.push(f32[0]);
    }
    const texts32 = singles.map((v) => v.toPrecision(9));
    const server32 = await client.query({
      text: "SELECT unnest($1::text[])::float4::text",
      values: [texts32],
      rowMode: "array",
    });
    // The byte writer (the MySQL CSV passthrough's) writes the same text, into the middle of a
    // buffer with only its promised room left.
    const out = new Uint8Array(3 + FLOAT32_TEXT_BYTES);
    const ascii = new TextDecoder("latin1");
    texts32.forEach((t, i) => {
      const v = Math.fround(Number(t));
      assert.equal(float32Text(v), server32.rows[i][0], t);
      out.fill(0);
      const end = float32Into(out, 3, Float32Array.of(v), 0);
      assert.equal(ascii.decode(out.subarray(3, end)), server32.rows[i][0], `bytes of ${t}`);
    });
    for (const v of [0, -0, NaN, Infinity, -Infinity, -1.1754943508222875e-38]) {
      const end = float32Into(out, 3, Float64Array.of(v), 0);
      assert.equal(ascii.decode(out.subarray(3, end)), float32Text(v), `bytes of ${v}`);
    }
  } finally {
    await client.end();
  }
});

Deno.test("float text: the float64 byte writer writes float64Text's text, with or without a string", () => {
  const out = new Uint8Array(FLOAT64_TEXT_BYTES);
  const one = new Float64Array(1);
  const decoder = new TextDecoder();
  const check = (v: number) => {
    one[0] = v;
    const end = float64Into(out, 0, one, 0);
    assert.equal(decoder.decode(out.subarray(0, end)), float64Text(v), `${v}`);
  };
  // Decimal-shaped values (stored prices, readings) take the path without a string; random bits
  // and 16-17 digit values the string's; each magnitude across fixed notation and beyond it.
  const bits = new DataView(new ArrayBuffer(8));
  for (let i = 0; i < 50_000; i++) {
    const digits = 1 + (i % 17);
    const exp = (i % 26) - 8;
    const mantissa = Math.floor(Math.random() * 10 ** digits);
    check((i % 2 ? -1 : 1) * Number(`${mantissa}e${exp - digits}`));
    check(Math.round(Math.random() * 2e9 - 1e9) / 10 ** (i % 10));
    bits.setUint32(0, (Math.random() * 2 ** 32) >>> 0);
    bits.setUint32(4, (Math.random() * 2 ** 32) >>> 0);
    check(bits.getFloat64(0));
  }
  const edges = [
    1e-4,
    9.999999999999999e-5,
    0.00012345678901234,
    999999999999999,
    999999999999999.9,
    1e15,
    0.1 + 0.2,
    1 / 3,
    100,
    2 ** 53,
    0,
    -0,
    NaN,
    Infinity,
  ];
  for (const v of edges) {
    check(v);
    check(-v);
  }
});
