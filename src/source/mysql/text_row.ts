/**
 * One row of MySQL's text protocol, split into its cells straight from the packet bytes.
 *
 * A row packet is its cells in column order, each a length-encoded string (`row_framing.ts`); a
 * lone 0xFB is NULL. Each cell's byte range goes to its column's decoder
 * (`decode.ts`), so no JS value or Buffer is made per cell. A packet that does not hold exactly one
 * cell per column is a garbled conversation, and fails the read as a dropped connection would.
 *
 * @module
 */
import type { ColumnBuilder } from "../../arrow/mod.ts";
import { type Decode, valueError } from "./decode.ts";
import {
  type CellTarget,
  malformedRow,
  NULL_CELL,
  prefixBytes,
  prefixedLength,
} from "./row_framing.ts";
import type { MysqlColumn } from "./types.ts";

/** Decodes row packets of one result into its columns' builders. */
export class TextRowDecoder {
  readonly #columns: readonly MysqlColumn[];
  readonly #decoders: Decode[];
  readonly #builders: Pick<ColumnBuilder, "appendNull">[];

  /**
   * `decoders` are the columns' own, in column order (see `createDecoders`): each takes its
   * column's values, and its builder the NULLs.
   */
  constructor(columns: readonly MysqlColumn[], decoders: readonly CellTarget[]) {
    this.#columns = columns;
    this.#decoders = decoders.map((d) => d.decode);
    this.#builders = decoders.map((d) => d.builder);
  }

  /**
   * Appends the row in `bytes[start, end)` to every builder. Throws the value's error (see
   * `valueError`) or a `SourceError` for a malformed packet; the builders may then hold part of
   * the row.
   */
  decode(bytes: Uint8Array, start: number, end: number): void {
    const decoders = this.#decoders;
    const builders = this.#builders;
    const n = decoders.length;
    let at = start;
    for (let i = 0; i < n; i++) {
      if (at >= end) throw malformedRow(`${i} of ${n} values`);
      const first = bytes[at];
      if (first === NULL_CELL) {
        at++;
        builders[i].appendNull();
        continue;
      }
      const size = prefixBytes(first);
      if (size === 0) throw malformedRow(`length prefix 0x${first.toString(16)}`);
      const length = size === 1 ? first : prefixedLength(bytes, at);
      at += size;
      const next = at + length;
      // Also catches a prefix cut off by the packet's end (its length is then NaN).
      if (!(next <= end)) throw malformedRow(`value ${i + 1} of ${n} runs past the packet`);
      try {
        decoders[i](bytes, at, next);
      } catch (error) {
        throw valueError(this.#columns[i], bytes.subarray(at, next), error);
      }
      at = next;
    }
    if (at !== end) throw malformedRow(`${end - at} bytes after the last value`);
  }
}
