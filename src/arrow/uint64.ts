/**
 * Builder for UInt64 columns (MySQL `BIGINT UNSIGNED`, `BIT(64)`): values of 2^63 and above must
 * survive exactly.
 *
 * Values are written as two unsigned 32-bit words, so decoding never allocates a BigInt.
 *
 * @module
 */
import { type Data, makeData, Uint64 } from "apache-arrow";
import { type ColumnBuilder, Validity } from "./builder.ts";
import { handOver } from "./recycle.ts";

/** Builds a UInt64 column. */
export class UInt64Builder implements ColumnBuilder<Uint64> {
  /** The Arrow type. */
  readonly type: Uint64 = new Uint64();
  #values = new BigUint64Array(1024);
  /** The same memory as `#values`, as (low, high) word pairs. */
  #words = new Uint32Array(this.#values.buffer);
  #length = 0;
  #validity = new Validity();

  /** Values appended to the current batch. */
  get length(): number {
    return this.#length;
  }

  /** Bytes of the current batch's data. */
  get byteLength(): number {
    return this.#length * 8 + this.#validity.byteLength;
  }

  /**
   * Appends `high * 2^32 + low`; both words are taken modulo 2^32. On hot paths pass them `| 0`: a
   * number in the signed 32-bit range is a small integer to V8, one above it a heap object per call.
   */
  appendWords(low: number, high: number): void {
    if (this.#length === this.#values.length) this.#grow();
    const i = this.#length++ << 1;
    this.#words[i] = low;
    this.#words[i + 1] = high;
    this.#validity.valid();
  }

  /** Appends a NULL. */
  appendNull(): void {
    if (this.#length === this.#values.length) this.#grow();
    this.#values[this.#length++] = 0n;
    this.#validity.null();
  }

  #grow(): void {
    const next = new BigUint64Array(this.#values.length * 2);
    next.set(this.#values);
    this.#values = next;
    this.#words = new Uint32Array(next.buffer);
  }

  /** Returns the batch's data and resets. */
  finish(): Data<Uint64> {
    const length = this.#length;
    const [data, values] = handOver(this.#values, length);
    this.#values = values;
    this.#words = new Uint32Array(values.buffer);
    this.#length = 0;
    return makeData({ type: this.type, length, data, ...this.#validity.finish() });
  }
}
