/**
 * Builder for Decimal128(precision, scale) columns from exact decimal digits.
 *
 * Each value is a 128-bit two's complement integer (the value times 10^scale), stored little-endian
 * as four 32-bit words. Values are accumulated in a JS number while they stay below 2^53 and in
 * sixteen-bit limbs beyond that, so no BigInt or string is allocated per value. A value that needs
 * more digits than the precision, or more fraction digits than the scale, is rejected: rounding
 * silently is never an option.
 *
 * @module
 */
import { type Data, Decimal, makeData } from "apache-arrow";
import { TypeMappingError } from "../errors.ts";
import { type ColumnBuilder, Validity } from "./builder.ts";
import { handOver } from "./recycle.ts";

/** The largest precision Decimal128 holds. */
export const DECIMAL128_MAX_PRECISION = 38;

const TWO_32 = 4294967296;
const TWO_16 = 65536;
/** Powers of ten that are exact doubles and keep limb products below 2^53. */
const POW10 = [1, 10, 100, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9];
const LIMBS = 8;
/** Every power of ten below 2^53 (all exact doubles). */
const SAFE_POW10 = Array.from({ length: 16 }, (_, k) => 10 ** k);

/** Digits of `value` (an integer below 10^9): comparisons, as divisions cost far more per value. */
function digitCount(value: number): number {
  let n = 1;
  while (n < POW10.length && value >= POW10[n]) n++;
  return n;
}

/** Builds a Decimal128 column. */
export class Decimal128Builder implements ColumnBuilder<Decimal> {
  /** The Arrow type. */
  readonly type: Decimal;
  /** Maximum number of significant digits. */
  readonly precision: number;
  /** Digits after the decimal point. */
  readonly scale: number;
  #words = new Uint32Array(4 * 1024);
  #length = 0;
  #validity = new Validity();
  // The value under construction: `#small` until it passes 2^53, then `#limbs` (base 2^16).
  #small = 0;
  #wide = false;
  #limbs = new Uint32Array(LIMBS);
  #digits = 0;
  /** 10^precision, the first magnitude too large (Infinity past what a double holds exactly). */
  readonly #limit: number;

  constructor(precision: number, scale: number) {
    if (
      !Number.isInteger(precision) || !Number.isInteger(scale) || precision < 1 ||
      precision > DECIMAL128_MAX_PRECISION || scale < 0 || scale > precision
    ) {
      throw new RangeError(`invalid Decimal128 precision/scale (${precision},${scale})`);
    }
    this.precision = precision;
    this.scale = scale;
    this.type = new Decimal(scale, precision, 128);
    this.#limit = precision < SAFE_POW10.length ? SAFE_POW10[precision] : Infinity;
  }

  /** Values appended to the current batch. */
  get length(): number {
    return this.#length;
  }

  /** Bytes of the current batch's data. */
  get byteLength(): number {
    return this.#length * 16 + this.#validity.byteLength;
  }

  /** Appends exact decimal text (`-123.4500`) or NULL; see {@link appendText}. */
  append(text: string | null): void {
    if (text === null) this.appendNull();
    else this.appendText(text);
  }

  /**
   * Appends exact decimal text: optional sign, digits, optional `.` and fraction digits (no
   * exponent). Trailing fraction zeros beyond the scale are dropped (exact); any other excess is a
   * {@link TypeMappingError}.
   */
  appendText(text: string): void {
    const n = text.length;
    let i = 0;
    let negative = false;
    const first = text.charCodeAt(0);
    if (first === 45 /* - */ || first === 43 /* + */) {
      negative = first === 45;
      i = 1;
    }
    this.beginValue();
    let sawDigit = false;
    let chunk = 0;
    let count = 0;
    for (; i < n; i++) {
      const d = text.charCodeAt(i) - 48;
      if (d === -2 /* . */) break;
      if (d < 0 || d > 9) throw this.#invalid(text);
      sawDigit = true;
      chunk = chunk * 10 + d;
      if (++count === 9) {
        this.pushDigits(chunk, 9, text);
        chunk = 0;
        count = 0;
      }
    }
    if (count > 0) this.pushDigits(chunk, count, text);
    let fraction = 0;
    if (i < n) {
      i++;
      let end = n;
      while (end - i > this.scale && text.charCodeAt(end - 1) === 48) end--;
      if (end - i > this.scale) throw this.#doesNotFit(text);
      chunk = 0;
      count = 0;
      for (; i < end; i++) {
        const d = text.charCodeAt(i) - 48;
        if (d < 0 || d > 9) throw this.#invalid(text);
        sawDigit = true;
        chunk = chunk * 10 + d;
        fraction++;
        if (++count === 9) {
          this.pushDigits(chunk, 9, text);
          chunk = 0;
          count = 0;
        }
      }
      if (count > 0) this.pushDigits(chunk, count, text);
    }
    if (!sawDigit) throw this.#invalid(text);
    this.endValue(negative, fraction, text);
  }

  /**
   * Appends `n / 10^fractionDigits`, negated when `negative`, for the integer `0 <= n < 2^53` at
   * `values[index]`: the common case of a text decoder, with no digit-group bookkeeping. Returns
   * false, appending nothing, when that takes more fraction digits than the scale or the value at
   * the scale would pass 2^53; the digit-group path ({@link beginValue}) then decides. `n` is read
   * from an array because a number beyond 32 bits passed to a call V8 does not inline becomes a
   * heap object, one per value.
   */
  appendSmall(
    values: Float64Array,
    index: number,
    negative: boolean,
    fractionDigits: number,
  ): boolean {
    const n = values[index];
    const pad = this.scale - fractionDigits;
    if (pad < 0 || pad >= SAFE_POW10.length) return false;
    const scaled = n * SAFE_POW10[pad];
    if (scaled > Number.MAX_SAFE_INTEGER) return false;
    if (scaled >= this.#limit) throw this.#doesNotFit(undefined);
    const high = Math.floor(scaled / TWO_32);
    this.#store((scaled - high * TWO_32) | 0, high, 0, 0, negative);
    return true;
  }

  /** Starts a value fed digit group by digit group (binary wire formats); see {@link pushDigits}. */
  beginValue(): void {
    this.#small = 0;
    this.#wide = false;
    this.#digits = 0;
  }

  /**
   * Appends `count` (1..9) decimal digits whose value is `digits` to the integer being built.
   * `shown` only labels the error when the value exceeds the precision.
   */
  pushDigits(digits: number, count: number, shown?: string): void {
    if (this.#digits === 0) {
      if (digits === 0) return;
      this.#digits = digitCount(digits);
    } else {
      this.#digits += count;
    }
    if (this.#digits > this.precision) throw this.#doesNotFit(shown);
    if (!this.#wide) {
      const next = this.#small * POW10[count] + digits;
      if (next <= Number.MAX_SAFE_INTEGER) {
        this.#small = next;
        return;
      }
      this.#toWide();
    }
    this.#mulAdd(POW10[count], digits);
  }

  /**
   * Finishes the value started by {@link beginValue}: the last `fractionDigits` pushed digits are
   * after the decimal point (at most the scale; fewer are padded exactly).
   */
  endValue(negative: boolean, fractionDigits: number, shown?: string): void {
    if (fractionDigits > this.scale) throw this.#doesNotFit(shown);
    let pad = this.scale - fractionDigits;
    if (this.#digits > 0 && pad > 0) {
      this.#digits += pad;
      if (this.#digits > this.precision) throw this.#doesNotFit(shown);
      while (pad > 0) {
        const step = Math.min(pad, 9);
        pad -= step;
        if (!this.#wide) {
          const next = this.#small * POW10[step];
          if (next <= Number.MAX_SAFE_INTEGER) {
            this.#small = next;
            continue;
          }
          this.#toWide();
        }
        this.#mulAdd(POW10[step], 0);
      }
    }
    if (this.#wide) {
      const l = this.#limbs;
      this.#store(
        (l[0] + l[1] * TWO_16) | 0,
        (l[2] + l[3] * TWO_16) | 0,
        (l[4] + l[5] * TWO_16) | 0,
        (l[6] + l[7] * TWO_16) | 0,
        negative,
      );
    } else {
      const high = Math.floor(this.#small / TWO_32);
      this.#store((this.#small - high * TWO_32) | 0, high, 0, 0, negative);
    }
  }

  /**
   * Appends the magnitude given as four little-endian words, each taken modulo 2^32 (callers pass
   * them `| 0`, which V8 keeps untagged), negated when `negative`.
   */
  #store(w0: number, w1: number, w2: number, w3: number, negative: boolean): void {
    if (this.#length * 4 === this.#words.length) this.#grow();
    const w = this.#words;
    const at = this.#length++ * 4;
    w[at] = w0;
    w[at + 1] = w1;
    w[at + 2] = w2;
    w[at + 3] = w3;
    if (negative) {
      let carry = 1;
      for (let k = 0; k < 4; k++) {
        const x = (~w[at + k] >>> 0) + carry;
        w[at + k] = x;
        carry = x > 0xffffffff ? 1 : 0;
      }
    }
    this.#validity.valid();
  }

  /** Appends a NULL. */
  appendNull(): void {
    if (this.#length * 4 === this.#words.length) this.#grow();
    this.#words.fill(0, this.#length * 4, this.#length * 4 + 4);
    this.#length++;
    this.#validity.null();
  }

  #toWide(): void {
    let v = this.#small;
    for (let k = 0; k < LIMBS; k++) {
      const q = Math.floor(v / TWO_16);
      this.#limbs[k] = v - q * TWO_16;
      v = q;
    }
    this.#wide = true;
  }

  /** limbs = limbs * factor + addend; the precision check keeps the result below 2^127. */
  #mulAdd(factor: number, addend: number): void {
    const l = this.#limbs;
    let carry = addend;
    for (let k = 0; k < LIMBS; k++) {
      const x = l[k] * factor + carry;
      carry = Math.floor(x / TWO_16);
      l[k] = x - carry * TWO_16;
    }
  }

  #grow(): void {
    const next = new Uint32Array(this.#words.length * 2);
    next.set(this.#words);
    this.#words = next;
  }

  #invalid(text: string): TypeMappingError {
    return new TypeMappingError(`"${text}" is not a decimal number`);
  }

  #doesNotFit(shown: string | undefined): TypeMappingError {
    const what = shown === undefined ? "a value" : `value ${shown}`;
    return new TypeMappingError(
      `${what} does not fit decimal(${this.precision},${this.scale}) without rounding`,
    );
  }

  /** Returns the batch's data and resets. */
  finish(): Data<Decimal> {
    const length = this.#length;
    const [data, words] = handOver(this.#words, length * 4);
    this.#words = words;
    this.#length = 0;
    return makeData({ type: this.type, length, data, ...this.#validity.finish() });
  }
}
