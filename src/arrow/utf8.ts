/**
 * Builders for variable-width columns: Utf8 (from JS strings or raw UTF-8 bytes) and Binary.
 *
 * Both keep one growing byte buffer plus 32-bit offsets. Strings are encoded in place: short ASCII
 * strings byte by byte (no allocation at all), everything else with `TextEncoder.encodeInto`.
 *
 * @module
 */
import { Binary, type Data, Utf8 } from "apache-arrow";
import {
  batchTooLarge,
  type ColumnBuilder,
  grow,
  MAX_OFFSET,
  Validity,
  wrapData,
} from "./builder.ts";
import { handOver, handOverOffsets } from "./recycle.ts";
import { copyBytes, viewOf, WORD_COPY_MAX } from "../util/copy_bytes.ts";

const encoder = new TextEncoder();
/** Below this length a hand-written ASCII loop beats `encodeInto`'s call overhead. */
const ASCII_FAST_PATH = 64;

/** Shared machinery of {@link Utf8Builder} and {@link BinaryBuilder}. */
abstract class VariableWidthBuilder<T extends Utf8 | Binary> implements ColumnBuilder<T> {
  /** The Arrow type. */
  abstract readonly type: T;
  #offsets = new Int32Array(1025);
  #bytes = new Uint8Array(64 * 1024);
  /** A view of {@link #bytes}, replaced with it, for {@link copyBytes}. */
  #view = new DataView(this.#bytes.buffer);
  #length = 0;
  #end = 0;
  #validity = new Validity();

  /** Values appended to the current batch. */
  get length(): number {
    return this.#length;
  }

  /** Bytes of the current batch's data: value bytes, offsets and validity. */
  get byteLength(): number {
    return this.#end + (this.#length + 1) * 4 + this.#validity.byteLength;
  }

  /**
   * The byte buffer; valid until the next append or {@link reserve}. Write a value at the position
   * {@link reserve} returned, then {@link commit} it.
   */
  get bytes(): Uint8Array {
    return this.#bytes;
  }

  /** Makes room for a value of up to `byteLength` bytes; returns where it starts in {@link bytes}. */
  reserve(byteLength: number): number {
    const needed = this.#end + byteLength;
    if (needed > MAX_OFFSET) throw batchTooLarge(this.type.toString());
    if (needed > this.#bytes.length) {
      this.#setBytes(grow(this.#bytes, Math.min(needed, MAX_OFFSET), this.#end));
    }
    return this.#end;
  }

  /** Ends the value written after {@link reserve}: it is `byteLength` bytes long. */
  commit(byteLength: number): void {
    this.#end += byteLength;
    if (this.#length + 1 === this.#offsets.length) {
      this.#offsets = grow(this.#offsets, this.#offsets.length * 2, this.#offsets.length);
    }
    this.#offsets[++this.#length] = this.#end;
    this.#validity.valid();
  }

  /**
   * Appends `source[start, end)` as one value (raw bytes; already UTF-8 for a Utf8 column). The
   * sources call this once per value with the same network chunk many times over, so the chunk's
   * view for {@link copyBytes} is made once per chunk.
   */
  appendBytes(source: Uint8Array, start: number, end: number): void {
    const n = end - start;
    const at = this.reserve(n);
    if (n <= WORD_COPY_MAX) {
      copyBytes(viewOf(source), start, this.#view, at, n);
    } else {
      this.#bytes.set(source.subarray(start, end), at);
    }
    this.commit(n);
  }

  /** Appends a NULL. */
  appendNull(): void {
    if (this.#length + 1 === this.#offsets.length) {
      this.#offsets = grow(this.#offsets, this.#offsets.length * 2, this.#offsets.length);
    }
    this.#offsets[++this.#length] = this.#end;
    this.#validity.null();
  }

  #setBytes(bytes: Uint8Array<ArrayBuffer>): void {
    this.#bytes = bytes;
    this.#view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  /** Returns the batch's data and resets. */
  finish(): Data<T> {
    const length = this.#length;
    const [valueOffsets, offsets] = handOverOffsets(this.#offsets, length + 1);
    const [data, bytes] = handOver(this.#bytes, this.#end);
    this.#offsets = offsets;
    this.#setBytes(bytes);
    this.#length = 0;
    this.#end = 0;
    return wrapData({ type: this.type, length, valueOffsets, data, ...this.#validity.finish() });
  }
}

/** Builds a Utf8 column. */
export class Utf8Builder extends VariableWidthBuilder<Utf8> {
  /** The Arrow type. */
  readonly type: Utf8 = new Utf8();

  /** Appends a string or NULL. */
  append(value: string | null): void {
    if (value === null) this.appendNull();
    else this.appendString(value);
  }

  /** Appends a non-NULL string, UTF-8 encoded. */
  appendString(value: string): void {
    const n = value.length;
    // A UTF-16 code unit never needs more than 3 UTF-8 bytes.
    const at = this.reserve(n * 3);
    const bytes = this.bytes;
    if (n <= ASCII_FAST_PATH) {
      let i = 0;
      for (; i < n; i++) {
        const c = value.charCodeAt(i);
        if (c >= 0x80) break;
        bytes[at + i] = c;
      }
      if (i === n) {
        this.commit(n);
        return;
      }
    }
    const { written } = encoder.encodeInto(value, bytes.subarray(at));
    this.commit(written);
  }
}

/** Builds a Binary column. */
export class BinaryBuilder extends VariableWidthBuilder<Binary> {
  /** The Arrow type. */
  readonly type: Binary = new Binary();

  /** Appends bytes or NULL. */
  append(value: Uint8Array | null): void {
    if (value === null) this.appendNull();
    else this.appendBytes(value, 0, value.length);
  }
}
