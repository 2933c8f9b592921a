/**
 * Builders for fixed-width columns that fit a JS number: Bool, Int16, Int32, Float32, Float64 and
 * Date32 (days since 1970-01-01).
 *
 * @module
 */
import { Bool, type Data, DateDay, Float32, Float64, Int16, Int32, makeData } from "apache-arrow";
import { type ColumnBuilder, grow, Validity, wrapData } from "./builder.ts";
import { handOver } from "./recycle.ts";

/** Builds a Bool column (bit-packed values). */
export class BoolBuilder implements ColumnBuilder<Bool> {
  /** The Arrow type. */
  readonly type: Bool = new Bool();
  #bits = new Uint8Array(64);
  #length = 0;
  #validity = new Validity();

  /** Values appended to the current batch. */
  get length(): number {
    return this.#length;
  }

  /** Bytes of the current batch's data. */
  get byteLength(): number {
    return ((this.#length + 7) >> 3) + this.#validity.byteLength;
  }

  /** Appends a value or NULL. */
  append(value: boolean | null): void {
    if (value === null) this.appendNull();
    else this.appendValue(value);
  }

  /** Appends a non-NULL value. */
  appendValue(value: boolean): void {
    this.#set(value);
    this.#validity.valid();
  }

  /** Appends a NULL. */
  appendNull(): void {
    this.#set(false);
    this.#validity.null();
  }

  #set(value: boolean): void {
    const i = this.#length++;
    if ((i >> 3) >= this.#bits.length) this.#bits = grow(this.#bits, (i >> 3) + 1, i >> 3);
    // Bits are written both ways because the buffer is reused across batches.
    if (value) this.#bits[i >> 3] |= 1 << (i & 7);
    else this.#bits[i >> 3] &= ~(1 << (i & 7));
  }

  /** Returns the batch's data and resets. */
  finish(): Data<Bool> {
    const length = this.#length;
    const data = this.#bits.slice(0, (length + 7) >> 3);
    this.#length = 0;
    return makeData({ type: this.type, length, data, ...this.#validity.finish() });
  }
}

type FixedType = Int16 | Int32 | Float32 | Float64 | DateDay;
type FixedArray = Int16Array | Int32Array | Float32Array | Float64Array;

/** Builds a column whose values are one JS number each (Int16, Int32, Float32, Float64, Date32). */
export class NumberBuilder<T extends FixedType = FixedType> implements ColumnBuilder<T> {
  /** The Arrow type. */
  readonly type: T;
  #values: FixedArray;
  #length = 0;
  #validity = new Validity();

  constructor(type: T) {
    this.type = type;
    this.#values = new (type.ArrayType as new (length: number) => FixedArray)(1024);
  }

  /** Values appended to the current batch. */
  get length(): number {
    return this.#length;
  }

  /** Bytes of the current batch's data. */
  get byteLength(): number {
    return this.#length * this.#values.BYTES_PER_ELEMENT + this.#validity.byteLength;
  }

  /** Appends a value or NULL. Integers are stored modulo the type's width, as typed arrays do. */
  append(value: number | null): void {
    if (value === null) this.appendNull();
    else this.appendValue(value);
  }

  /** Appends a non-NULL value. */
  appendValue(value: number): void {
    if (this.#length === this.#values.length) this.#grow();
    this.#values[this.#length++] = value;
    this.#validity.valid();
  }

  /** Appends a NULL. */
  appendNull(): void {
    if (this.#length === this.#values.length) this.#grow();
    this.#values[this.#length++] = 0;
    this.#validity.null();
  }

  #grow(): void {
    const next = new (this.#values.constructor as new (length: number) => FixedArray)(
      this.#values.length * 2,
    );
    next.set(this.#values);
    this.#values = next;
  }

  /** Returns the batch's data and resets. */
  finish(): Data<T> {
    const length = this.#length;
    const [data, values] = handOver(this.#values, length);
    this.#values = values;
    this.#length = 0;
    return wrapData({ type: this.type, length, data, ...this.#validity.finish() });
  }
}

/** Builds an Int16 column. */
export function int16Builder(): NumberBuilder<Int16> {
  return new NumberBuilder(new Int16());
}

/** Builds an Int32 column. */
export function int32Builder(): NumberBuilder<Int32> {
  return new NumberBuilder(new Int32());
}

/** Builds a Float32 column (values are rounded to single precision on append). */
export function float32Builder(): NumberBuilder<Float32> {
  return new NumberBuilder(new Float32());
}

/** Builds a Float64 column. */
export function float64Builder(): NumberBuilder<Float64> {
  return new NumberBuilder(new Float64());
}

/** Builds a Date32 column: days since 1970-01-01 (see `daysFromCivil`). */
export function date32Builder(): NumberBuilder<DateDay> {
  return new NumberBuilder(new DateDay());
}
