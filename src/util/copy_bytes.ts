/**
 * Short byte ranges copied between two buffers without a view object per copy.
 *
 * `target.set(source.subarray(start, end), at)` makes a new array object for every copy: on the
 * hot paths, where a value's bytes go from a network chunk into a column builder, that is one JS
 * object per value (36 MB of garbage per million rows of a table with a URL and a JSON column, by
 * the sampling heap profiler) and ~70 ns of fixed cost. A byte loop makes no object but moves a
 * byte per step. Through `DataView`s, which the caller keeps for the life of each buffer, eight
 * bytes move per step as two unaligned 32-bit words: measured on this project's machines, 16 ns
 * for 20 bytes (29 by byte loop, 70 by `set`), 34 ns for 80 (89, 71), 61 ns for 160 (164, 72);
 * past {@link WORD_COPY_MAX} bytes `set` wins and its one object is small next to the bytes.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { copyBytes } from "./copy_bytes.ts";
 *
 * const source = Uint8Array.from({ length: 13 }, (_, i) => i + 1);
 * const target = new Uint8Array(16);
 * copyBytes(new DataView(source.buffer), 2, new DataView(target.buffer), 3, 11);
 * assert.deepEqual([...target], [0, 0, 0, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 0, 0]);
 * ```
 *
 * @module
 */

/** The array {@link viewOf} was last asked for, and its view. */
let lastBytes: Uint8Array | undefined;
let lastView: DataView | undefined;

/**
 * A `DataView` of `bytes` for {@link copyBytes}, the same one as long as the same array is asked
 * for: the column builders of a row all copy from one network chunk, chunk after chunk, and one
 * view per chunk serves them all (a view per builder per chunk was ~4 MB of garbage per million
 * rows of a wide MariaDB table). Holds on to the last array until another is asked for.
 */
export function viewOf(bytes: Uint8Array): DataView {
  if (bytes !== lastBytes) {
    lastBytes = bytes;
    lastView = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }
  return lastView!;
}

/** The longest range {@link copyBytes} is meant for; longer ones copy faster with `set`. */
export const WORD_COPY_MAX = 192;

/**
 * Copies `length` bytes from `source` at `from` to `target` at `to`. Both ranges must lie within
 * their views (a `RangeError` otherwise, before or after some bytes moved) and must not overlap.
 */
export function copyBytes(
  source: DataView,
  from: number,
  target: DataView,
  to: number,
  length: number,
): void {
  let i = 0;
  // Little-endian on both sides: the bytes land in their order whatever the host's.
  for (; i + 8 <= length; i += 8) {
    target.setInt32(to + i, source.getInt32(from + i, true), true);
    target.setInt32(to + i + 4, source.getInt32(from + i + 4, true), true);
  }
  if (i + 4 <= length) {
    target.setInt32(to + i, source.getInt32(from + i, true), true);
    i += 4;
  }
  for (; i < length; i++) target.setUint8(to + i, source.getUint8(from + i));
}
