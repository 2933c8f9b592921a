/**
 * The contract shared by every fast column builder, plus the validity bitmap they all use.
 *
 * Builders fill plain typed arrays and hand them to apache-arrow's `makeData` (zero-copy);
 * apache-arrow's own builders cost ~19 s per 1 M rows x 16 columns, which is why these exist.
 * A builder is reused across batches: `finish()` hands its arrays to the batch and goes on in
 * arrays of the same (grown) size, recycled from written batches, unless one outsized value alone
 * grew them past what is recycled (`recycle.ts`).
 *
 * @module
 */
import { type Data, type DataType, makeData } from "apache-arrow";
import { RivetError } from "../errors.ts";

/** A column being filled row by row; every concrete builder also has a typed `append`. */
export interface ColumnBuilder<T extends DataType = DataType> {
  /** The Arrow type of the data {@link finish} returns. */
  readonly type: T;
  /** Values appended since the last {@link finish}. */
  readonly length: number;
  /**
   * Bytes of column data appended since the last {@link finish} (values, offsets, validity and
   * children): what `finish()` will return, not the capacity kept for reuse. Constant time, so a
   * source can check a batch's memory budget after every row.
   */
  readonly byteLength: number;
  /** Appends a NULL. */
  appendNull(): void;
  /**
   * Returns the appended values as Arrow data and starts a new batch. The data's arrays are the
   * builder's own (views of the rows appended) or, when small, copies; nothing else holds them.
   */
  finish(): Data<T>;
}

/** Largest byte or element offset an Arrow 32-bit offsets buffer can hold. */
export const MAX_OFFSET = 0x7fffffff;

/** Raised when one batch would exceed Arrow's 32-bit offsets; the fix is a smaller batch size. */
export function batchTooLarge(what: string): RivetError {
  return new RivetError(
    `one batch holds more than 2 GiB of ${what}; lower the batch size (tuning.batch_size)`,
  );
}

/** Returns a typed array of at least `needed` elements holding `array`'s first `used` elements. */
export function grow<A extends Uint8Array | Int32Array | Uint32Array>(
  array: A,
  needed: number,
  used: number,
): A {
  if (needed <= array.length) return array;
  let size = Math.max(array.length * 2, 64);
  while (size < needed) size *= 2;
  const next = new (array.constructor as new (length: number) => A)(size);
  next.set(array.subarray(0, used));
  return next;
}

/**
 * A validity bitmap that only materializes once a NULL appears: most columns never hold one,
 * and Arrow then needs no bitmap at all.
 */
export class Validity {
  #bits: Uint8Array | undefined;
  #length = 0;
  #nullCount = 0;

  /** NULLs appended since the last {@link finish}. */
  get nullCount(): number {
    return this.#nullCount;
  }

  /** Bytes of the bitmap {@link finish} will return (none while the batch holds no NULL). */
  get byteLength(): number {
    return this.#nullCount > 0 ? (this.#length + 7) >> 3 : 0;
  }

  /** Marks the next slot valid. */
  valid(): void {
    const i = this.#length++;
    if (this.#bits !== undefined) {
      if ((i >> 3) >= this.#bits.length) this.#bits = grow(this.#bits, (i >> 3) + 1, i >> 3);
      this.#bits[i >> 3] |= 1 << (i & 7);
    }
  }

  /** Marks the next slot NULL. */
  null(): void {
    const i = this.#length++;
    this.#nullCount++;
    if (this.#bits === undefined) {
      this.#bits = new Uint8Array(Math.max(64, (i >> 3) + 1));
      // Everything before the first NULL was valid.
      this.#bits.fill(0xff, 0, i >> 3);
      for (let k = i & ~7; k < i; k++) this.#bits[k >> 3] |= 1 << (k & 7);
    } else if ((i >> 3) >= this.#bits.length) {
      this.#bits = grow(this.#bits, (i >> 3) + 1, i >> 3);
    }
    this.#bits[i >> 3] &= ~(1 << (i & 7));
  }

  /** The bitmap for the current batch (undefined when it holds no NULL), then resets. */
  finish(): { nullBitmap: Uint8Array | undefined; nullCount: number } {
    const nullCount = this.#nullCount;
    let nullBitmap: Uint8Array | undefined;
    if (nullCount > 0 && this.#bits !== undefined) {
      nullBitmap = this.#bits.slice(0, (this.#length + 7) >> 3);
      // The next batch starts with a clean bitmap (bits are OR-ed in).
      this.#bits.fill(0, 0, nullBitmap.length);
    }
    this.#length = 0;
    this.#nullCount = 0;
    return { nullBitmap, nullCount };
  }
}

/** The buffers of one finished column (the subset of apache-arrow's data props builders use). */
export interface FinishedBuffers<T extends DataType> {
  type: T;
  length: number;
  nullCount: number;
  nullBitmap: Uint8Array | undefined;
  data?: ArrayBufferView;
  valueOffsets?: Int32Array;
}

/**
 * `makeData` for a builder generic over its Arrow type: apache-arrow's overloads only resolve for a
 * concrete type, so the one unavoidable cast lives here.
 */
export function wrapData<T extends DataType>(buffers: FinishedBuffers<T>): Data<T> {
  return makeData(buffers as never) as unknown as Data<T>;
}
