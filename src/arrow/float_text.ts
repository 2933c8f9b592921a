/**
 * Floats as PostgreSQL prints them (`float4out` / `float8out` with `extra_float_digits > 0`, the
 * shortest-exact output of PostgreSQL 12 and later), so that a CSV file says the same thing
 * whichever engine or read path produced it, and PostgreSQL's own `COPY ... (FORMAT csv)` text can
 * be written as it arrives.
 *
 * Digits: the fewest significant digits of any decimal strictly inside the value's rounding
 * interval (the open interval between the midpoints to its two neighbours), and of those the one
 * nearest the value, ties to an even last digit. A decimal exactly on a midpoint is never printed,
 * even when round-half-even would read it back as this value: PostgreSQL's Ryu code excludes both
 * bounds, so the text reads back exactly with any correctly rounding parser, tie rule or not.
 * JavaScript's `String(number)` accepts such midpoints, which happens only for doubles from 2^53
 * up (and float32 values from 2^24 up), where midpoints are short integers; below, its digits are
 * PostgreSQL's.
 *
 * Layout: fixed notation when the decimal exponent is in [-4, 15) for a double and [-4, 6) for a
 * float32 (the C `%g` defaults), else `d.ddde+XX` with a signed exponent of at least two digits.
 * `NaN`, `Infinity`, `-Infinity`, `0` and `-0` as such.
 *
 * @module
 */

const FLOAT64_FIXED_BELOW = 15;
const FLOAT32_FIXED_BELOW = 6;
/** From 2^53 a double's midpoints are integers short enough to be a shortest candidate. */
const FLOAT64_TIES_FROM = 2 ** 53;

const f64 = new Float64Array(1);
const f64Bits = new Uint32Array(f64.buffer);
const f32 = new Float32Array(1);
const f32Bits = new Uint32Array(f32.buffer);

/** PostgreSQL's `float8out` text of `v`. */
export function float64Text(v: number): string {
  const special = specialText(v);
  if (special !== undefined) return special;
  const a = v < 0 ? -v : v;
  // Where both print fixed notation, JavaScript's shortest text is PostgreSQL's, byte for byte.
  if (a >= 1e-4 && a < 1e15) return String(v);
  let shortest = decimalOf(String(a));
  if (a >= FLOAT64_TIES_FROM) shortest = strictShortest64(a, shortest);
  const digits = asciiInto(DIGITS, 0, shortest.digits);
  return textOf(layoutInto(TEXT, 0, v < 0, digits, shortest.exp, FLOAT64_FIXED_BELOW));
}

/** Decimals of more significant digits may share a double's rounding interval (C's `DBL_DIG`). */
const FLOAT64_UNIQUE_BELOW = 1e15;

/** Most bytes {@link float64Into} writes (`-2.2250738585072014e-308`). */
export const FLOAT64_TEXT_BYTES = 24;

/**
 * Writes {@link float64Text}'s text of `values[index]` as ASCII bytes into `out` at `at`, which
 * must have {@link FLOAT64_TEXT_BYTES} bytes of room, and returns the index past it; without a
 * string for a value of at most 15 significant digits in fixed notation (most stored values).
 * There the fewest fraction digits that read back as the value are its shortest text: 15 digits
 * or fewer name one double only, so no other decimal of as few digits reads back as it too.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { float64Into } from "./float_text.ts";
 *
 * const out = new Uint8Array(24);
 * const text = (x: number) =>
 *   new TextDecoder().decode(out.subarray(0, float64Into(out, 0, Float64Array.of(x), 0)));
 * assert.equal(text(-448.641614), "-448.641614");
 * assert.equal(text(0.1 + 0.2), "0.30000000000000004");
 * assert.equal(text(1e21), "1e+21");
 * ```
 */
export function float64Into(
  out: Uint8Array,
  at: number,
  values: Float64Array,
  index: number,
): number {
  const v = values[index];
  const a = v < 0 ? -v : v;
  if (a >= 1e-4 && a < FLOAT64_UNIQUE_BELOW) {
    for (let k = 0; k < POW10.length; k++) {
      const scale = POW10[k];
      let m = Math.round(a * scale);
      if (m >= FLOAT64_UNIQUE_BELOW) break;
      // m and the scale are exact, so the quotient is the double the decimal m / 10^k reads as.
      if (m / scale !== a) continue;
      let exp = -k;
      while (m % 10 === 0) {
        m /= 10;
        exp++;
      }
      return layoutInto(out, at, v < 0, intDigits(m), exp, FLOAT64_FIXED_BELOW);
    }
  }
  return asciiInto(out, at, float64Text(v));
}

/** PostgreSQL's `float4out` text of the float32 value `v` (held in a double). */
export function float32Text(v: number): string {
  ONE[0] = v;
  return textOf(float32Into(TEXT, 0, ONE, 0));
}

const ONE = new Float64Array(1);

/** Most bytes {@link float32Into} writes (`-1.17549435e-38`). */
export const FLOAT32_TEXT_BYTES = 16;

/**
 * Writes {@link float32Text}'s text of the float32 value `values[index]` as ASCII bytes into
 * `out` at `at`, which must have {@link FLOAT32_TEXT_BYTES} bytes of room, and returns the index
 * past it. For the byte-level writers (the MySQL CSV passthrough): no string, no object, nothing
 * for the collector per value. The value is read from an array rather than passed, because a
 * double passed to a call V8 does not inline becomes a heap object of its own, one per value
 * (measured: 14 MB per million FLOAT cells).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { float32Into } from "./float_text.ts";
 *
 * const out = new Uint8Array(16);
 * const end = float32Into(out, 0, Float32Array.of(-156.756), 0);
 * assert.equal(new TextDecoder().decode(out.subarray(0, end)), "-156.756");
 * ```
 */
export function float32Into(
  out: Uint8Array,
  at: number,
  values: Float32Array | Float64Array,
  index: number,
): number {
  const v = values[index];
  const special = specialText(v);
  if (special !== undefined) return asciiInto(out, at, special);
  IV[VALUE] = v < 0 ? -v : v;
  shortest32();
  return layoutInto(out, at, v < 0, intDigits(foundK), foundExp, FLOAT32_FIXED_BELOW);
}

function specialText(v: number): string | undefined {
  if (v === 0) return 1 / v < 0 ? "-0" : "0";
  if (Number.isFinite(v)) return undefined;
  return Number.isNaN(v) ? "NaN" : v > 0 ? "Infinity" : "-Infinity";
}

/** A positive decimal: significant `digits` (no leading or trailing zeros) × 10^`exp`. */
interface Decimal {
  digits: string;
  /** Power of ten of the last digit. */
  exp: number;
}

/** Reads the decimal of a positive number's text (`123.45`, `1.5e-7`, `1e+21`). */
function decimalOf(text: string): Decimal {
  const e = text.indexOf("e");
  const mantissa = e < 0 ? text : text.slice(0, e);
  let exp = e < 0 ? 0 : Number(text.slice(e + 1));
  const point = mantissa.indexOf(".");
  let digits = mantissa;
  if (point >= 0) {
    digits = mantissa.slice(0, point) + mantissa.slice(point + 1);
    exp -= mantissa.length - point - 1;
  }
  let start = 0;
  while (digits.charCodeAt(start) === 48) start++;
  let end = digits.length;
  while (end > start + 1 && digits.charCodeAt(end - 1) === 48) {
    end--;
    exp++;
  }
  return { digits: digits.slice(start, end), exp };
}

/** The significant digits being laid out, as ASCII. */
const DIGITS = new Uint8Array(24);
/** A laid-out text, for the functions that return strings. */
const TEXT = new Uint8Array(32);

/**
 * The string of `TEXT[0, end)`. Joined one character at a time: V8 copies short strings flat as
 * it joins them, ~70 ns for a float's text, where a `TextDecoder` took ~500 ns per call.
 */
function textOf(end: number): string {
  let text = "";
  for (let i = 0; i < end; i++) text += String.fromCharCode(TEXT[i]);
  return text;
}

/** Writes the ASCII `text` into `out` at `at`; returns the index past it. */
function asciiInto(out: Uint8Array, at: number, text: string): number {
  for (let i = 0; i < text.length; i++) out[at++] = text.charCodeAt(i);
  return at;
}

/** Writes the digits of the positive integer `k` (< 2^53) into {@link DIGITS}; returns how many. */
function intDigits(k: number): number {
  let n = 1;
  for (let p = 10; p <= k; p *= 10) n++;
  for (let i = n - 1; i >= 0; i--) {
    const q = Math.floor(k / 10);
    DIGITS[i] = 48 + k - q * 10;
    k = q;
  }
  return n;
}

/**
 * Writes the positive decimal whose `n` significant digits are in {@link DIGITS} (no leading or
 * trailing zeros) times 10^`exp`, with a `-` when `negative`, into `out` at `at` in C's `%g`
 * layout; returns the index past it.
 */
function layoutInto(
  out: Uint8Array,
  at: number,
  negative: boolean,
  n: number,
  exp: number,
  fixedBelow: number,
): number {
  let o = at;
  if (negative) out[o++] = MINUS;
  // The power of ten of the first digit: what %g compares with its thresholds.
  const lead = exp + n - 1;
  if (lead >= -4 && lead < fixedBelow) {
    if (exp >= 0) {
      for (let i = 0; i < n; i++) out[o++] = DIGITS[i];
      for (let i = 0; i < exp; i++) out[o++] = ZERO;
    } else if (lead >= 0) {
      for (let i = 0; i <= lead; i++) out[o++] = DIGITS[i];
      out[o++] = POINT;
      for (let i = lead + 1; i < n; i++) out[o++] = DIGITS[i];
    } else {
      out[o++] = ZERO;
      out[o++] = POINT;
      for (let i = 1; i < -lead; i++) out[o++] = ZERO;
      for (let i = 0; i < n; i++) out[o++] = DIGITS[i];
    }
    return o;
  }
  out[o++] = DIGITS[0];
  if (n > 1) {
    out[o++] = POINT;
    for (let i = 1; i < n; i++) out[o++] = DIGITS[i];
  }
  out[o++] = LOWER_E;
  out[o++] = lead < 0 ? MINUS : PLUS;
  const magnitude = lead < 0 ? -lead : lead;
  if (magnitude >= 100) out[o++] = ZERO + Math.floor(magnitude / 100);
  out[o++] = ZERO + (Math.floor(magnitude / 10) % 10);
  out[o++] = ZERO + (magnitude % 10);
  return o;
}

const MINUS = 45;
const PLUS = 43;
const POINT = 46;
const ZERO = 48;
const LOWER_E = 101;

// ------------------------------------------------------------------------------------------------
// Doubles from 2^53: integers, whose rounding interval is checked exactly in bigint.

/**
 * The strict shortest decimal of the integer double `a` (≥ 2^53), given JavaScript's shortest,
 * which is it unless it lies exactly on a midpoint.
 */
function strictShortest64(a: number, js: Decimal): Decimal {
  const bounds = bounds64(a);
  const candidate = BigInt(js.digits);
  if (inside(candidate, js.exp, bounds)) return js;
  // JavaScript's text sits on a bound: the nearest decimal strictly inside has as many digits
  // (just past the value, when the bound is a power of two's near one) or more.
  for (let length = js.digits.length;; length++) {
    const found = nearestInside(bounds, length);
    if (found) return found;
  }
}

/** A value and its rounding interval, all scaled by 4 so that every bound is an integer. */
interface Bounds {
  /** 4 × the value. */
  value: bigint;
  /** 4 × the lower and upper midpoints (both excluded). */
  low: bigint;
  high: bigint;
  /** Decimal digits of the value's integer part. */
  intDigits: number;
}

function bounds64(a: number): Bounds {
  f64[0] = a;
  const hi = f64Bits[1];
  const biased = hi >>> 20;
  const powerOfTwo = (hi & 0xfffff) === 0 && f64Bits[0] === 0;
  const ulp = 1n << BigInt(biased - 1075);
  const value = BigInt(a);
  // Below a power of two the neighbour is half as far away.
  const down = powerOfTwo ? ulp : 2n * ulp;
  return {
    value: 4n * value,
    low: 4n * value - down,
    high: 4n * value + 2n * ulp,
    intDigits: value.toString().length,
  };
}

/** Whether `k × 10^exp` lies strictly between the bounds. */
function inside(k: bigint, exp: number, b: Bounds): boolean {
  let scaled = 4n * k;
  let low = b.low;
  let high = b.high;
  if (exp >= 0) {
    scaled *= 10n ** BigInt(exp);
  } else {
    const f = 10n ** BigInt(-exp);
    low *= f;
    high *= f;
  }
  return scaled > low && scaled < high;
}

/** The decimal of `length` significant digits strictly inside `b` nearest the value, if any. */
function nearestInside(b: Bounds, length: number): Decimal | undefined {
  const exp = b.intDigits - length;
  let k: bigint;
  let above: boolean;
  if (exp <= 0) {
    k = (b.value / 4n) * 10n ** BigInt(-exp);
    above = false;
  } else {
    const unit = 4n * 10n ** BigInt(exp);
    k = b.value / unit;
    const twice = 2n * (b.value - k * unit);
    // Round half to even, as PostgreSQL does when the value is exactly halfway.
    if (twice > unit || (twice === unit && (k & 1n) === 1n)) {
      k += 1n;
      above = true;
    } else {
      above = false;
    }
  }
  if (inside(k, exp, b)) return decimalOf(`${k}e${exp}`);
  const other = above ? k - 1n : k + 1n;
  return inside(other, exp, b) ? decimalOf(`${other}e${exp}`) : undefined;
}

// ------------------------------------------------------------------------------------------------
// Float32: candidates and bounds compared in doubles, where rounding keeps order; bigint only for a
// decimal that rounds to the very double it is compared with.

/** The smallest normal float32, 2^-126. */
const FLOAT32_MIN_NORMAL = 2 ** -126;

/**
 * The float32 value being printed and its rounding interval's bounds, exact in doubles (26
 * significant bits at most). Kept in a typed array, as are the results below in plain integers:
 * this search runs once per value of a FLOAT column, and objects or fractional numbers passed
 * between its functions would be garbage per value.
 */
const IV = new Float64Array(3);
const VALUE = 0;
const LOW = 1;
const HIGH = 2;

/** The decimal the search found: `foundK` × 10^`foundExp`, `foundK` without trailing zeros. */
let foundK = 0;
let foundExp = 0;

/** Sets the rounding interval of the positive float32 in the {@link VALUE} slot. */
function setInterval32(): void {
  const a = IV[VALUE];
  f32[0] = a;
  const bits = f32Bits[0];
  const biased = bits >>> 23;
  const ulp = 2 ** ((biased === 0 ? 1 : biased) - 150);
  // Below a power of two the neighbour is half as far away.
  const down = (bits & 0x7fffff) === 0 && biased > 1 ? ulp / 2 : ulp;
  IV[LOW] = a - down / 2;
  IV[HIGH] = a + ulp / 2;
}

/**
 * Significant digits of which at most one decimal fits a normal float32's rounding interval: the
 * interval is narrower than 2^-23 of the value, decimals of six digits lie at least 10^-5 of their
 * first digit's power apart (C's `FLT_DIG`).
 */
const FLOAT32_UNIQUE_DIGITS = 6;

/**
 * Finds (into `foundK`, `foundExp`) the strict shortest decimal of the positive float32 in the
 * {@link VALUE} slot.
 */
function shortest32(): void {
  setInterval32();
  const a = IV[VALUE];
  let first = Math.floor(Math.log10(a));
  if (compareAt(1, first, VALUE) > 0) first--;
  else if (compareAt(1, first + 1, VALUE) <= 0) first++;
  // Values typed in by people (prices, readings) have a few digits: one found at six digits is
  // the only decimal of six digits or fewer inside, so the shortest, without a search. Subnormal
  // values are spaced wider than that.
  if (a >= FLOAT32_MIN_NORMAL && nearestInside32(first - FLOAT32_UNIQUE_DIGITS + 1)) return;
  // A decimal strictly inside at a coarse step is one at every finer step, so the coarsest step
  // (the fewest digits) can be bisected; nine digits always identify a float32.
  let low = a >= FLOAT32_MIN_NORMAL ? FLOAT32_UNIQUE_DIGITS + 1 : 1;
  let high = 9;
  nearestInside32(first - 8);
  let bestK = foundK;
  let bestExp = foundExp;
  while (low < high) {
    const mid = (low + high) >> 1;
    if (nearestInside32(first - mid + 1)) {
      bestK = foundK;
      bestExp = foundExp;
      high = mid;
    } else {
      low = mid + 1;
    }
  }
  foundK = bestK;
  foundExp = bestExp;
}

/**
 * Finds the multiple of 10^`exp` strictly inside the interval nearest the value (ties to even);
 * false when none is inside.
 */
function nearestInside32(exp: number): boolean {
  const v = IV[VALUE];
  let k = Math.floor(exp >= 0 ? v / pow10(exp) : v * pow10(-exp));
  // The quotient is rounded: settle k so that k × 10^exp <= v < (k + 1) × 10^exp exactly.
  if (compareAt(k, exp, VALUE) > 0) k--;
  else if (compareAt(k + 1, exp, VALUE) <= 0) k++;
  const half = compareAt(10 * k + 5, exp - 1, VALUE);
  const up = half < 0 || (half === 0 && k % 2 === 1);
  const near = up ? k + 1 : k;
  if (isInside32(near, exp)) return found(near, exp);
  const far = up ? k : k + 1;
  return isInside32(far, exp) && found(far, exp);
}

function isInside32(k: number, exp: number): boolean {
  return k > 0 && compareAt(k, exp, LOW) > 0 && compareAt(k, exp, HIGH) < 0;
}

function found(k: number, exp: number): true {
  while (k % 10 === 0) {
    k /= 10;
    exp++;
  }
  foundK = k;
  foundExp = exp;
  return true;
}

const POW10 = Array.from({ length: 23 }, (_, i) => 10 ** i);

/** 10^n for n >= 0: exact up to 10^22, approximate (for a first guess only) beyond. */
function pow10(n: number): number {
  return n < POW10.length ? POW10[n] : 10 ** n;
}

/**
 * The sign of `k × 10^exp − IV[at]` for a positive integer `k` < 2^53, exact. The nearest double
 * to the decimal keeps its order with the value, so only a decimal that rounds to the value
 * itself needs bigint ({@link compareExactly}).
 */
function compareAt(k: number, exp: number, at: number): number {
  const x = IV[at];
  // One rounding each: 10^n is exact up to 10^22, so the product or quotient is correctly rounded.
  const rounded = exp >= 0 && exp < POW10.length
    ? k * POW10[exp]
    : exp < 0 && -exp < POW10.length
    ? k / POW10[-exp]
    : Number(`${k}e${exp}`);
  if (rounded !== x) return rounded < x ? -1 : 1;
  return compareExactly(k, exp, at);
}

/**
 * Below 2^53 every integer is a double, so an integer decimal that rounds to one is equal to it.
 */
const EXACT_INTEGERS_BELOW = 2 ** 53;

/**
 * The largest n for which `IV[at] × 10^n` is exact in a double: the slots hold at most 26
 * significant bits (a float32's 24, and one or two more for a bound halfway or a quarter of a
 * step away), 5^11 takes 26, and the 2^n part only moves the exponent.
 */
const EXACT_SCALE = 11;

/**
 * The sign of `k × 10^exp − IV[at]`, for a decimal whose nearest double is `IV[at]`. Such ties
 * come from values that are short decimals exactly (`942.375`, `324`), about one FLOAT value in a
 * hundred in ordinary data; doubles settle nearly all of them exactly, and bigint, which costs a
 * few objects per call, the rest.
 */
function compareExactly(k: number, exp: number, at: number): number {
  const x = IV[at];
  if (exp >= 0 && x < EXACT_INTEGERS_BELOW) return 0;
  if (exp < 0 && -exp <= EXACT_SCALE) {
    const scaled = x * POW10[-exp];
    return k === scaled ? 0 : k < scaled ? -1 : 1;
  }
  const [m, e2] = dyadic(x);
  let left = BigInt(k);
  let right = m;
  if (exp >= 0) left *= 10n ** BigInt(exp);
  else right *= 10n ** BigInt(-exp);
  if (e2 >= 0) right <<= BigInt(e2);
  else left <<= BigInt(-e2);
  return left === right ? 0 : left < right ? -1 : 1;
}

/** A positive finite double as `m × 2^e` with integer `m`. */
function dyadic(x: number): [bigint, number] {
  f64[0] = x;
  const hi = f64Bits[1];
  const biased = hi >>> 20;
  const mantissa = (BigInt(hi & 0xfffff) << 32n) | BigInt(f64Bits[0]);
  return biased === 0 ? [mantissa, -1074] : [mantissa | (1n << 52n), biased - 1075];
}
