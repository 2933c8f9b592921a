/**
 * Thrift compact-protocol structs copied field by field, with chosen fields replaced. Parquet
 * keeps its page headers, page indexes and footer in this encoding; rewriting a few sizes and
 * offsets this way writes every other field back exactly as it was read (same field types, same
 * order, same bytes), including fields newer than anything this code knows about. One exception:
 * the package writes a double -0 as 0 (Parquet keeps doubles only in geospatial bounding boxes).
 *
 * Reading and writing are Apache Thrift's own compact protocol (the `thrift` package), loaded by
 * path so that its RPC transports and servers are not.
 *
 * @module
 */
import { Buffer } from "node:buffer";
import TBufferedTransport from "thrift/lib/nodejs/lib/thrift/buffered_transport.js";
import TCompactProtocol from "thrift/lib/nodejs/lib/thrift/compact_protocol.js";
import InputBufferUnderrunError from "thrift/lib/nodejs/lib/thrift/input_buffer_underrun_error.js";
import Thrift from "thrift/lib/nodejs/lib/thrift/thrift.js";

/** Thrift's wire types, as the protocol reports them for each field or list element. */
export const ThriftType: Readonly<Record<string, number>> = Thrift.Type;

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
 * @throws {Error} when the bytes are not a well-formed struct, or hold a map, set, UUID, list of
 * lists or list of bools (no Parquet structure that this is used on has one).
 */
export function copyStruct(input: Uint8Array, rule: StructRule): CopyResult {
  const transport = readingTransport(input);
  const reader = new Protocol(transport);
  let out: Uint8Array = new Uint8Array(0);
  const writer = new Protocol(
    new Transport(undefined, (bytes: Uint8Array) => {
      // A plain view of the package's Buffer, so callers see the type they were promised.
      out = new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    }),
  );
  try {
    if (!copyFields(reader, writer, rule)) return "refused";
  } catch (err) {
    if (err instanceof InputBufferUnderrunError) return "short";
    throw err;
  }
  writer.flush();
  return { bytes: out, read: transport.borrow().readIndex };
}

/** The parts of the compact protocol used here (its package ships no declarations). */
interface CompactProtocol {
  readStructBegin(): void;
  readStructEnd(): void;
  readFieldBegin(): { ftype: number; fid: number };
  readListBegin(): { etype: number; size: number };
  readBool(): boolean;
  readByte(): number;
  readI16(): number;
  readI32(): number;
  readI64(): Int64;
  readDouble(): number;
  readBinary(): Uint8Array;
  writeStructBegin(name: string): void;
  writeStructEnd(): void;
  writeFieldBegin(name: string, type: number, id: number): void;
  writeFieldStop(): void;
  writeListBegin(type: number, size: number): void;
  writeBool(value: boolean): void;
  writeByte(value: number): void;
  writeI16(value: number): void;
  writeI32(value: number): void;
  writeI64(value: Int64 | number): void;
  writeDouble(value: number): void;
  writeBinary(value: Uint8Array): void;
  flush(): void;
}

/** node-int64's value, as the protocol reads an i64. */
interface Int64 {
  toNumber(allowImprecise?: boolean): number;
}

interface BufferedTransport {
  borrow(): { readIndex: number };
}

const Protocol = TCompactProtocol as unknown as new (transport: unknown) => CompactProtocol;
const Transport = TBufferedTransport as unknown as {
  new (buffer: undefined, onFlush: (bytes: Uint8Array) => void): unknown;
  receiver(onData: (transport: BufferedTransport) => void): (data: Buffer) => void;
};

/** A transport reading `bytes`; its documented way in is the receiver callback. */
function readingTransport(bytes: Uint8Array): BufferedTransport {
  let transport: BufferedTransport | undefined;
  Transport.receiver((received) => {
    transport = received;
  })(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  return transport!;
}

/** Copies one struct's fields and its STOP; false when `rule` refused a field. */
function copyFields(reader: CompactProtocol, writer: CompactProtocol, rule?: StructRule): boolean {
  reader.readStructBegin();
  writer.writeStructBegin("");
  for (;;) {
    const { ftype, fid } = reader.readFieldBegin();
    if (ftype === ThriftType.STOP) break;
    if (rule?.accepts && !rule.accepts(fid, ftype)) return false;
    writer.writeFieldBegin("", ftype, fid);
    copyField(reader, writer, ftype, fid, rule);
  }
  writer.writeFieldStop();
  reader.readStructEnd();
  writer.writeStructEnd();
  return true;
}

function copyField(
  reader: CompactProtocol,
  writer: CompactProtocol,
  type: number,
  fid: number,
  rule: StructRule | undefined,
): void {
  switch (type) {
    case ThriftType.LIST: {
      const { etype, size } = reader.readListBegin();
      // The package reads list<bool> elements wrongly (always false); Parquet keeps those only
      // in column indexes, which are copied as bytes.
      if (etype === ThriftType.BOOL) throw new Error(`thrift: field ${fid} is a list of bools`);
      writer.writeListBegin(etype, size);
      for (let i = 0; i < size; i++) {
        if (etype === ThriftType.STRUCT) copyNested(reader, writer, fid, rule?.nested?.(fid, i));
        else copyScalar(reader, writer, etype, fid);
      }
      return;
    }
    case ThriftType.STRUCT:
      copyNested(reader, writer, fid, rule?.nested?.(fid, 0));
      return;
    case ThriftType.BOOL: {
      const old = reader.readBool();
      writer.writeBool(rule?.bool?.(fid, old) ?? old);
      return;
    }
    default:
      copyScalar(reader, writer, type, fid, rule);
  }
}

function copyNested(
  reader: CompactProtocol,
  writer: CompactProtocol,
  fid: number,
  rule: StructRule | undefined,
): void {
  if (!copyFields(reader, writer, rule)) throw new Error(`thrift: struct in field ${fid} refused`);
}

/** Copies a number or byte string; `rule` (when given) may replace an integer. */
function copyScalar(
  reader: CompactProtocol,
  writer: CompactProtocol,
  type: number,
  fid: number,
  rule?: StructRule,
): void {
  switch (type) {
    case ThriftType.BYTE: {
      const old = reader.readByte();
      writer.writeByte(rule?.integer?.(fid, old) ?? old);
      return;
    }
    case ThriftType.I16: {
      const old = reader.readI16();
      writer.writeI16(rule?.integer?.(fid, old) ?? old);
      return;
    }
    case ThriftType.I32: {
      const old = reader.readI32();
      writer.writeI32(rule?.integer?.(fid, old) ?? old);
      return;
    }
    case ThriftType.I64: {
      const old = reader.readI64();
      writer.writeI64(rule?.integer?.(fid, old.toNumber(true)) ?? old);
      return;
    }
    case ThriftType.DOUBLE:
      writer.writeDouble(reader.readDouble());
      return;
    case ThriftType.STRING:
      writer.writeBinary(reader.readBinary());
      return;
    default:
      throw new Error(`thrift: field ${fid} has type ${type}, which no Parquet structure uses`);
  }
}
