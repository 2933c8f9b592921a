/**
 * Builder for List<child> columns: elements go straight into the child builder, the list only
 * records where each value ends.
 *
 * @module
 */
import { type Data, type DataType, Field, List, makeData } from "apache-arrow";
import { batchTooLarge, type ColumnBuilder, grow, MAX_OFFSET, Validity } from "./builder.ts";
import { handOverOffsets } from "./recycle.ts";

/** Builds a List column over any {@link ColumnBuilder}. */
export class ListBuilder<C extends ColumnBuilder = ColumnBuilder>
  implements ColumnBuilder<List<C["type"]>> {
  /** The Arrow type; its element field is named `item`, nullable. */
  readonly type: List<C["type"]>;
  /** Append a value's elements here, then call {@link endList}. */
  readonly child: C;
  #offsets = new Int32Array(1025);
  #length = 0;
  #validity = new Validity();

  /** `elementMetadata` lands on the element field (e.g. an Arrow extension name). */
  constructor(child: C, elementMetadata?: Map<string, string>) {
    this.child = child;
    this.type = new List(new Field("item", child.type as DataType, true, elementMetadata));
  }

  /** Values appended to the current batch. */
  get length(): number {
    return this.#length;
  }

  /** Bytes of the current batch's data: offsets, validity and the elements. */
  get byteLength(): number {
    return (this.#length + 1) * 4 + this.#validity.byteLength + this.child.byteLength;
  }

  /** Ends one list value: it holds the child elements appended since the previous value. */
  endList(): void {
    this.#push();
    this.#validity.valid();
  }

  /** Appends a NULL list (no elements). */
  appendNull(): void {
    this.#push();
    this.#validity.null();
  }

  #push(): void {
    if (this.child.length > MAX_OFFSET) throw batchTooLarge("list elements");
    if (this.#length + 1 === this.#offsets.length) {
      this.#offsets = grow(this.#offsets, this.#offsets.length * 2, this.#offsets.length);
    }
    this.#offsets[++this.#length] = this.child.length;
  }

  /** Returns the batch's data (the child's too) and resets. */
  finish(): Data<List<C["type"]>> {
    const length = this.#length;
    const [valueOffsets, offsets] = handOverOffsets(this.#offsets, length + 1);
    this.#offsets = offsets;
    const child = this.child.finish();
    this.#length = 0;
    return makeData({ type: this.type, length, valueOffsets, child, ...this.#validity.finish() });
  }
}
