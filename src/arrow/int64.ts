/**
 * Builder for 64-bit integer columns: Int64, Timestamp(MICROSECOND[, tz]), Time64(MICROSECOND) and
 * Duration(MICROSECOND).
 *
 * Values are written as two 32-bit words so the hot paths never allocate a BigInt: wire formats
 * hand over big-endian words, text formats small numbers or (seconds, microseconds) pairs.
 *
 * @module
 */
import {
  type Data,
  DurationMicrosecond,
  Int64,
  TimeMicrosecond,
  TimestampMicrosecond,
} from "apache-arrow";
import { TypeMappingError } from "../errors.ts";
import { type ColumnBuilder, Validity, wrapData } from "./builder.ts";
import { handOver } from "./recycle.ts";

type Int64Type = Int64 | TimestampMicrosecond | TimeMicrosecond | DurationMicrosecond;

const TWO_32 = 4294967296;
const TWO_16 = 65536;

/** Builds an Int64, Timestamp(us), Time64(us) or Duration(us) column. */
export class Int64Builder<T extends Int64Type = Int64Type> implements ColumnBuilder<T> {
  /** The Arrow type. */
  readonly type: T;
  #values = new BigInt64Array(1024);
  /** The same memory as `#values`, as (low, high) word pairs. */
  #words = new Int32Array(this.#values.buffer);
  #length = 0;
  #validity = new Validity();

  constructor(type: T) {
    this.type = type;
  }

  /** Values appended to the current batch. */
  get length(): number {
    return this.#length;
  }

  /** Bytes of the current batch's data. */
  get byteLength(): number {
    return this.#length * 8 + this.#validity.byteLength;
  }

  /** Appends a value or NULL (values outside the signed 64-bit range wrap, as BigInt64Array does). */
  append(value: bigint | null): void {
    if (value === null) {
      this.appendNull();
      return;
    }
    if (this.#length === this.#values.length) this.#grow();
    this.#values[this.#length++] = value;
    this.#validity.valid();
  }

  /** Appends a safe integer (|value| <= 2^53 - 1) without allocating. */
  appendNumber(value: number): void {
    const high = Math.floor(value / TWO_32);
    this.appendWords((value - high * TWO_32) | 0, high);
  }

  /**
   * Appends `high * 2^32 + low` given as two words; each word is taken modulo 2^32 (so a signed or
   * unsigned `low` both work), `high` carries the sign. On hot paths pass `low | 0`: a number in
   * the signed 32-bit range is a small integer to V8, one above it a heap object per call.
   */
  appendWords(low: number, high: number): void {
    if (this.#length === this.#values.length) this.#grow();
    const i = this.#length++ << 1;
    this.#words[i] = low;
    this.#words[i + 1] = high;
    this.#validity.valid();
  }

  /**
   * Appends `seconds * 1_000_000 + micros` exactly, for timestamps far beyond 2^53 microseconds
   * (e.g. year 9999), `micros` in [0, 1_000_000). A result outside the signed 64-bit range (after
   * year 294247) is a {@link TypeMappingError}: wrapping would silently shift the value.
   */
  appendMicros(seconds: number, micros: number): void {
    // seconds * 1e6 = (sHigh * 1e6) * 2^16 + sLow * 1e6 where every partial product is exact.
    const sHigh = Math.floor(seconds / TWO_16);
    const x = sHigh * 1e6;
    const y = (seconds - sHigh * TWO_16) * 1e6 + micros;
    const xHigh = Math.floor(x / TWO_16);
    const low = (x - xHigh * TWO_16) * TWO_16 + y;
    const carry = Math.floor(low / TWO_32);
    const high = xHigh + carry;
    if (high > INT32_MAX || high < INT32_MIN) throw outOfRange();
    this.appendWords((low - carry * TWO_32) | 0, high);
  }

  /** Appends a NULL. */
  appendNull(): void {
    if (this.#length === this.#values.length) this.#grow();
    this.#values[this.#length++] = 0n;
    this.#validity.null();
  }

  #grow(): void {
    const next = new BigInt64Array(this.#values.length * 2);
    next.set(this.#values);
    this.#values = next;
    this.#words = new Int32Array(next.buffer);
  }

  /** Returns the batch's data and resets. */
  finish(): Data<T> {
    const length = this.#length;
    const [data, values] = handOver(this.#values, length);
    this.#values = values;
    this.#words = new Int32Array(values.buffer);
    this.#length = 0;
    return wrapData({ type: this.type, length, data, ...this.#validity.finish() });
  }
}

/** Builds an Int64 column. */
export function int64Builder(): Int64Builder<Int64> {
  return new Int64Builder(new Int64());
}

/** Builds a Timestamp(MICROSECOND) column, with time zone `"UTC"` when `utc` is set. */
export function timestampBuilder(utc: boolean): Int64Builder<TimestampMicrosecond> {
  return new Int64Builder(new TimestampMicrosecond(utc ? "UTC" : null));
}

/** Builds a Time64(MICROSECOND) column (microseconds since midnight). */
export function time64Builder(): Int64Builder<TimeMicrosecond> {
  return new Int64Builder(new TimeMicrosecond());
}

/** Builds a Duration(MICROSECOND) column (signed elapsed microseconds, e.g. a MySQL TIME). */
export function durationBuilder(): Int64Builder<DurationMicrosecond> {
  return new Int64Builder(new DurationMicrosecond());
}

const INT32_MAX = 0x7fffffff;
const INT32_MIN = -0x80000000;

/** The error for a time value that does not fit 64-bit microseconds since 1970. */
function outOfRange(): TypeMappingError {
  return new TypeMappingError(
    "a time beyond the 64-bit microsecond range (years -290308 to 294247), which has no exact Arrow representation",
  );
}
