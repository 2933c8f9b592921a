/**
 * Thrift compact-protocol structs copied with chosen fields replaced. Parquet keeps its page
 * headers, page indexes and footer in this encoding; rewriting a few sizes and offsets this way
 * leaves every other byte as it was read (same fields, same order, same encoding), including
 * fields newer than anything this code knows about.
 *
 * The copy walks the struct and copies the input in spans, re-encoding only the integers a rule
 * replaces: a varint may change length, nothing else does. The `thrift` package's own compact
 * protocol was the first implementation, and too slow for every page of an export: it allocates a
 * Buffer per byte it writes and an Int64 object per i64 it reads, which cost 0.9 s to rewrite the
 * 400 KB footer and page indexes of 6 M rows of TPC-H `lineitem` (this walk: milliseconds).
 *
 * @module
 */
import { DataIntegrityError } from "../errors.ts";
import { concatBytes } from "../util/concat_bytes.ts";

/**
 * The compact protocol's wire types (the low nibble of a field header), as {@link StructRule}
 * reports them. A boolean field carries its value in its type (1 true, 2 false); rules see both
 * as `BOOL`.
 */
export const ThriftType = {
  BOOL: 1,
  BYTE: 3,
  I16: 4,
  I32: 5,
  I64: 6,
  DOUBLE: 7,
  BINARY: 8,
  LIST: 9,
  SET: 10,
  MAP: 11,
  STRUCT: 12,
} as const;

const STOP = 0;
const FALSE = 2;

/**
 * How to copy one struct. Fields without a rule are copied unchanged. Integers of every width
 * arrive as numbers (Parquet's 64-bit sizes and offsets stay far below 2^53).
 */
export interface StructRule {
  /** Called before each field is read; false stops the copy (the bytes are not this struct). */
  accepts?(fid: number, type: number): boolean;
  /** The value to write instead of integer field `fid`, or undefined to keep `old`. */
  integer?(fid: number, old: number): number | undefined;
  /** The value to write instead of bool field `fid`, or undefined to keep `old`. */
  bool?(fid: number, old: boolean): boolean | undefined;
  /** The rule for struct field `fid`, or for struct element `index` of list field `fid`. */
  nested?(fid: number, index: number): StructRule | undefined;
}

/** The outcome of {@link copyStruct}. */
export type CopyResult =
  /** The rewritten struct and how many input bytes the original took. */
  | { bytes: Uint8Array; read: number }
  /** The input ends inside the struct. */
  | "short"
  /** A rule's `accepts` refused a field. */
  | "refused";

/**
 * Copies the compact-protocol struct at the start of `input`, applying `rule`.
 *
 * @throws {Error} when the bytes are not a well-formed struct, or a rule refuses a field of a
 * nested struct.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { copyStruct } from "./thrift_copy.ts";
 *
 * // { 1: i32 300, 2: binary "ab" }, then one byte that is not part of it.
 * const struct = Uint8Array.of(0x15, 0xd8, 0x04, 0x18, 0x02, 0x61, 0x62, 0x00, 0xff);
 * const result = copyStruct(struct, { integer: (fid) => fid === 1 ? 1 : undefined });
 * assert.deepEqual(result, {
 *   bytes: Uint8Array.of(0x15, 0x02, 0x18, 0x02, 0x61, 0x62, 0x00),
 *   read: 8,
 * });
 * ```
 */
export function copyStruct(input: Uint8Array, rule: StructRule): CopyResult {
  const copy = new Copy(input);
  try {
    if (!copy.struct(rule)) return "refused";
  } catch (err) {
    if (err === SHORT) return "short";
    throw err;
  }
  return { bytes: copy.finish(), read: copy.at };
}

/**
 * Copies `input`, which must be exactly one struct (a Parquet `what`), applying `rule`.
 *
 * @throws {DataIntegrityError} when `input` is not one complete struct, or a rule refuses a
 * field.
 */
export function copyWhole(input: Uint8Array, rule: StructRule, what: string): Uint8Array {
  const result = copyStruct(input, rule);
  if (typeof result === "string" || result.read !== input.length) {
    throw new DataIntegrityError(`Parquet ${what} is not one complete Thrift struct`);
  }
  return result.bytes;
}

/** Thrown (and caught by {@link copyStruct}) when the input ends inside the struct. */
const SHORT = new Error("thrift: input ends inside the struct");

/** One copy in progress: a read position, and the output so far as input spans and new bytes. */
class Copy {
  readonly #input: Uint8Array;
  /** Read position. */
  at = 0;
  /** Input bytes before this position are in the output already (or were replaced). */
  #copied = 0;
  readonly #parts: Uint8Array[] = [];

  constructor(input: Uint8Array) {
    this.#input = input;
  }

  /** Copies a struct's fields and its STOP; false when `rule` refused a field. */
  struct(rule: StructRule | undefined): boolean {
    let fid = 0;
    for (;;) {
      const headerAt = this.at;
      const header = this.#byte();
      const type = header & 0x0f;
      if (type === STOP) return true;
      const delta = header >> 4;
      fid = delta === 0 ? zigzag(this.#varint()) : fid + delta;
      const bool = type === ThriftType.BOOL || type === FALSE;
      if (rule?.accepts && !rule.accepts(fid, bool ? ThriftType.BOOL : type)) return false;
      if (!bool) {
        this.#value(type, fid, rule);
        continue;
      }
      const replaced = rule?.bool?.(fid, type === ThriftType.BOOL);
      if (replaced !== undefined) {
        // A field's bool is its type nibble: the field header is rewritten, same length.
        const type = replaced ? ThriftType.BOOL : FALSE;
        this.#replace(headerAt, headerAt + 1, Uint8Array.of((header & 0xf0) | type));
      }
    }
  }

  /** The copied struct. */
  finish(): Uint8Array {
    this.#flush(this.at);
    return concatBytes(this.#parts);
  }

  /** Copies one value of `type`; integers of field `fid` go through `rule`. */
  #value(type: number, fid: number, rule: StructRule | undefined): void {
    switch (type) {
      case ThriftType.BYTE: {
        const start = this.at;
        const old = (this.#byte() << 24) >> 24;
        const replaced = rule?.integer?.(fid, old);
        if (replaced !== undefined && replaced !== old) {
          this.#replace(start, this.at, Uint8Array.of(replaced & 0xff));
        }
        return;
      }
      case ThriftType.I16:
      case ThriftType.I32:
      case ThriftType.I64: {
        const start = this.at;
        const old = zigzag(this.#varint());
        const replaced = rule?.integer?.(fid, old);
        if (replaced !== undefined && replaced !== old) {
          this.#replace(start, this.at, varint(unzigzag(replaced)));
        }
        return;
      }
      case ThriftType.DOUBLE:
        this.#skip(8);
        return;
      case ThriftType.BINARY:
        this.#skip(this.#varint());
        return;
      case ThriftType.LIST:
      case ThriftType.SET: {
        const header = this.#byte();
        const size = header >> 4 === 15 ? this.#varint() : header >> 4;
        const element = header & 0x0f;
        for (let i = 0; i < size; i++) {
          if (element === ThriftType.STRUCT) this.#nested(fid, rule?.nested?.(fid, i));
          // In a list, each bool is a byte of its own.
          else if (element === ThriftType.BOOL || element === FALSE) this.#skip(1);
          else this.#value(element, fid, undefined);
        }
        return;
      }
      case ThriftType.MAP: {
        const size = this.#varint();
        if (size === 0) return;
        const types = this.#byte();
        for (let i = 0; i < size; i++) {
          this.#element(types >> 4, fid);
          this.#element(types & 0x0f, fid);
        }
        return;
      }
      case ThriftType.STRUCT:
        this.#nested(fid, rule?.nested?.(fid, 0));
        return;
      default:
        throw new Error(`thrift: field ${fid} has unknown type ${type}`);
    }
  }

  /** A map key or value, copied unchanged. */
  #element(type: number, fid: number): void {
    if (type === ThriftType.BOOL || type === FALSE) this.#skip(1);
    else if (type === ThriftType.STRUCT) this.#nested(fid, undefined);
    else this.#value(type, fid, undefined);
  }

  #nested(fid: number, rule: StructRule | undefined): void {
    if (!this.struct(rule)) throw new Error(`thrift: struct in field ${fid} refused`);
  }

  /** Puts `bytes` in the output instead of input bytes `start..end`. */
  #replace(start: number, end: number, bytes: Uint8Array): void {
    this.#flush(start);
    this.#parts.push(bytes);
    this.#copied = end;
  }

  /** Moves the input bytes not yet in the output, up to `end`, into it. */
  #flush(end: number): void {
    if (end > this.#copied) {
      this.#parts.push(this.#input.subarray(this.#copied, end));
    }
    this.#copied = end;
  }

  #byte(): number {
    if (this.at >= this.#input.length) throw SHORT;
    return this.#input[this.at++];
  }

  #skip(n: number): void {
    if (this.at + n > this.#input.length) throw SHORT;
    this.at += n;
  }

  /** An unsigned varint of up to 64 bits, as a number (exact below 2^53). */
  #varint(): number {
    let value = 0;
    let scale = 1;
    for (let i = 0; i < 10; i++) {
      const byte = this.#byte();
      value += (byte & 0x7f) * scale;
      if (byte < 0x80) return value;
      scale *= 128;
    }
    throw new Error("thrift: varint longer than 10 bytes");
  }
}

/** Decodes a zigzag-encoded integer. */
function zigzag(n: number): number {
  return n % 2 === 0 ? n / 2 : -(n + 1) / 2;
}

/** Zigzag-encodes an integer. */
function unzigzag(n: number): number {
  return n >= 0 ? n * 2 : -n * 2 - 1;
}

/** An unsigned varint. */
function varint(n: number): Uint8Array {
  const out: number[] = [];
  while (n >= 0x80) {
    out.push((n % 128) | 0x80);
    n = Math.floor(n / 128);
  }
  out.push(n);
  return Uint8Array.from(out);
}
