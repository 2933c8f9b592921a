/**
 * What the text and binary protocols' row packets share (`text_row.ts`, `binary_row.ts`): where
 * each column's values go, the length-encoded string, and the error of a packet that does not
 * hold what its columns say.
 *
 * A length-encoded string is a length prefix, then that many bytes. The prefix is one byte
 * (0-250), or 0xFC, 0xFD, 0xFE followed by a 2-, 3- or 8-byte little-endian length; in a text row
 * a lone 0xFB is NULL, and 0xFF starts nothing.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { prefixBytes, prefixedLength } from "./row_framing.ts";
 *
 * const packet = Uint8Array.of(0xfc, 0x2c, 0x01); // a 300-byte value follows
 * assert.equal(prefixBytes(packet[0]), 3);
 * assert.equal(prefixedLength(packet, 0), 300);
 * assert.equal(prefixBytes(7), 1); // a 7-byte value: the prefix is its length
 * ```
 *
 * @module
 */
import { SourceError } from "../../errors.ts";
import type { ColumnBuilder } from "../../arrow/mod.ts";
import type { Decode } from "./decode.ts";

/**
 * Where one column's values go, in either protocol: a decoder into a builder (`decode.ts`,
 * `binary_values.ts`), or anything else that takes a value as its bytes and a NULL as such (the
 * CSV passthrough's cell writers, `csv_cells.ts`).
 */
export interface CellTarget {
  decode: Decode;
  builder: Pick<ColumnBuilder, "appendNull">;
}

/** The text protocol's NULL, where a length prefix would be. */
export const NULL_CELL = 0xfb;
const LENGTH_2 = 0xfc;
const LENGTH_3 = 0xfd;
const LENGTH_8 = 0xfe;
const TWO_32 = 4_294_967_296;

/** Bytes of the length prefix that begins with `first`; 0 for NULL (0xFB) and 0xFF. */
export function prefixBytes(first: number): number {
  if (first < NULL_CELL) return 1;
  if (first === LENGTH_2) return 3;
  if (first === LENGTH_3) return 4;
  if (first === LENGTH_8) return 9;
  return 0;
}

/**
 * The length the prefix at `v[at]` encodes (see {@link prefixBytes} for its size). A prefix cut
 * off by the packet's end is the caller's bounds check to catch: the value would start past that
 * end, whatever length (NaN included) the missing bytes make.
 */
export function prefixedLength(v: Uint8Array, at: number): number {
  const first = v[at];
  if (first < NULL_CELL) return first;
  if (first === LENGTH_2) return v[at + 1] | (v[at + 2] << 8);
  if (first === LENGTH_3) return v[at + 1] | (v[at + 2] << 8) | (v[at + 3] << 16);
  const low = (v[at + 1] | (v[at + 2] << 8) | (v[at + 3] << 16)) + v[at + 4] * 16_777_216;
  const high = (v[at + 5] | (v[at + 6] << 8) | (v[at + 7] << 16)) + v[at + 8] * 16_777_216;
  return high * TWO_32 + low;
}

/**
 * The error of a row packet that does not hold its columns' values: a garbled conversation, which
 * fails the read as a dropped connection would.
 */
export function malformedRow(what: string): SourceError {
  return new SourceError(`MySQL: a malformed row packet from the server (${what})`, "disconnect");
}
