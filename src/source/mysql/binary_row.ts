/**
 * One row of MySQL's binary protocol (the rows of a prepared statement), split into its values
 * straight from the packet bytes.
 *
 * A binary row packet is a 0x00 header, a NULL bitmap of (columns + 9) / 8 bytes whose first two
 * bits are unused (column i is NULL when bit i + 2 is set), then each non-NULL value in column
 * order: fixed-width integers and floats, packed dates and times behind a length byte, or a
 * length-encoded string (`row_framing.ts`) for every other type (see `types.ts`' `BinaryWire`).
 * Each value's byte range goes to its column's decoder (`binary_values.ts`), so no JS value or
 * Buffer is made per value. A packet that does not hold exactly its columns' values fails the
 * read as a dropped connection would.
 *
 * The Arrow path reads this way because the server then formats no number or date: on 1 M rows of
 * 17 mixed columns MariaDB spent ~2.1 s of CPU where the text protocol took ~3.4 s (with its FLOAT
 * widened, `floats.ts`), and the server shares the machine's cores with the export more often
 * than not.
 *
 * @module
 */
import { type Decode, valueError } from "./decode.ts";
import { binaryValueText, wireWidth } from "./binary_values.ts";
import { type CellTarget, malformedRow, prefixBytes, prefixedLength } from "./row_framing.ts";
import type { BinaryWire, MysqlColumn } from "./types.ts";

/** How a value's extent is found: a fixed width (> 0), a length byte, or a length prefix. */
const LENGTH_BYTE = -1;
const LENGTH_ENCODED = 0;

function extentOf(wire: BinaryWire): number {
  if (wire === "datetime" || wire === "time") return LENGTH_BYTE;
  return wire === "bytes" ? LENGTH_ENCODED : wireWidth(wire);
}

/** Fractional-second digits of a temporal column's type (`datetime(6)`), -1 for a DATE. */
function fractionDigits(column: MysqlColumn): number {
  if (column.kind === "date") return -1;
  const digits = /\((\d)\)$/.exec(column.sourceType);
  return digits ? Number(digits[1]) : 0;
}

/** Decodes binary row packets of one result into its columns' builders. */
export class BinaryRowDecoder {
  readonly #columns: readonly MysqlColumn[];
  readonly #wires: readonly BinaryWire[];
  readonly #extents: Int32Array;
  readonly #decoders: Decode[];
  readonly #builders: CellTarget["builder"][];
  readonly #nullBytes: number;

  /**
   * `targets` take the columns' values, in column order, each read as its `wires` entry says
   * (for the batches: `binaryDecoder`'s into the builders; for CSV: `csv_cells.ts`' cells).
   */
  constructor(
    columns: readonly MysqlColumn[],
    wires: readonly BinaryWire[],
    targets: readonly CellTarget[],
  ) {
    this.#columns = columns;
    this.#wires = wires;
    this.#extents = Int32Array.from(wires, extentOf);
    this.#decoders = targets.map((t) => t.decode);
    this.#builders = targets.map((t) => t.builder);
    this.#nullBytes = (columns.length + 9) >> 3;
  }

  /**
   * Appends the row in `bytes[start, end)` to every builder. Throws the value's error (see
   * `valueError`) or a `SourceError` for a malformed packet; the builders may then hold part of
   * the row.
   */
  decode(bytes: Uint8Array, start: number, end: number): void {
    const decoders = this.#decoders;
    const builders = this.#builders;
    const extents = this.#extents;
    const n = decoders.length;
    const nulls = start + 1;
    let at = nulls + this.#nullBytes;
    if (at > end || bytes[start] !== 0) throw malformedRow("no binary row header");
    for (let i = 0; i < n; i++) {
      const bit = i + 2;
      if ((bytes[nulls + (bit >> 3)] & (1 << (bit & 7))) !== 0) {
        builders[i].appendNull();
        continue;
      }
      const extent = extents[i];
      let from = at;
      if (extent === LENGTH_BYTE) {
        from = at + 1;
      } else if (extent === LENGTH_ENCODED) {
        const size = prefixBytes(bytes[at]);
        if (size === 0) throw malformedRow(`length prefix 0x${bytes[at]?.toString(16)}`);
        from = at + size;
      }
      const next = extent > 0
        ? at + extent
        : from + (extent === LENGTH_BYTE ? bytes[at] : prefixedLength(bytes, at));
      // Also catches a length cut off by the packet's end (it is then NaN or undefined).
      if (!(next <= end)) throw malformedRow(`value ${i + 1} of ${n} runs past the packet`);
      try {
        decoders[i](bytes, from, next);
      } catch (error) {
        throw this.#valueError(i, bytes, from, next, error);
      }
      at = next;
    }
    if (at !== end) throw malformedRow(`${end - at} bytes after the last value`);
  }

  /** `valueError` with the value as the text protocol would have shown it. */
  #valueError(i: number, bytes: Uint8Array, from: number, next: number, error: unknown): unknown {
    const column = this.#columns[i];
    const wire = this.#wires[i];
    const value = wire === "bytes" ? bytes.subarray(from, next) : new TextEncoder().encode(
      binaryValueText(wire, bytes, from, next, fractionDigits(column)),
    );
    return valueError(column, value, error);
  }
}
