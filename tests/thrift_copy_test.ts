import assert from "node:assert/strict";
import { tableFromArrays, tableToIPC } from "apache-arrow";
import { parquetMetadata } from "hyparquet";
import { parquetHeader } from "hyparquet/src/column.js";
import * as pw from "parquet-wasm";
import { copyStruct, ThriftType } from "../src/writer/thrift_copy.ts";

/** A small arrow-rs file: its footer (with statistics, key-value metadata, a logical type). */
function sample(): { file: Uint8Array; footer: Uint8Array } {
  const table = tableFromArrays({
    id: BigInt64Array.from({ length: 500 }, (_, i) => BigInt(i)),
    name: Array.from({ length: 500 }, (_, i) => `name ${i % 7}`),
  });
  const file = pw.writeParquet(
    pw.Table.fromIPCStream(tableToIPC(table, "stream")),
    new pw.WriterPropertiesBuilder().setCompression(pw.Compression.UNCOMPRESSED).build(),
  );
  const length = new DataView(file.buffer).getUint32(file.length - 8, true);
  return { file, footer: file.subarray(file.length - 8 - length, file.length - 8) };
}

Deno.test("thrift copy: without rules, a footer and a page header come back byte for byte", () => {
  const { file, footer } = sample();
  assert.deepEqual(copyStruct(footer, {}), { bytes: footer.slice(), read: footer.length });
  const reader = { view: new DataView(file.buffer), offset: 4 };
  parquetHeader(reader);
  const header = file.subarray(4, reader.offset);
  assert.deepEqual(copyStruct(file.subarray(4, 4 + 4096), {}), {
    bytes: header.slice(),
    read: header.length,
  });
});

Deno.test("thrift copy: a rule replaces exactly the fields it names", () => {
  const { footer } = sample();
  const result = copyStruct(footer, {
    integer: (fid, old) => fid === 3 ? old + 1_000_000 : undefined, // num_rows
    nested: (fid) =>
      fid === 4 // row_groups
        ? { integer: (f) => f === 6 ? 123_456_789_012 : undefined } // total_compressed_size
        : undefined,
  });
  assert.ok(typeof result === "object");
  const framed = (bytes: Uint8Array) => {
    const out = new Uint8Array(bytes.length + 8);
    out.set(bytes);
    new DataView(out.buffer).setUint32(bytes.length, bytes.length, true);
    out.set(new TextEncoder().encode("PAR1"), bytes.length + 4);
    return out.buffer;
  };
  const before = parquetMetadata(framed(footer));
  const after = parquetMetadata(framed(result.bytes));
  assert.equal(after.num_rows, before.num_rows + 1_000_000n);
  assert.equal(after.row_groups[0].total_compressed_size, 123_456_789_012n);
  after.num_rows = before.num_rows;
  after.row_groups[0].total_compressed_size = before.row_groups[0].total_compressed_size;
  after.metadata_length = before.metadata_length;
  assert.deepEqual(after, before);
});

Deno.test("thrift copy: cut-off input is short, and a refused field stops the copy", () => {
  const { footer } = sample();
  assert.equal(copyStruct(footer.subarray(0, footer.length - 1), {}), "short");
  assert.equal(copyStruct(new Uint8Array(0), {}), "short");
  const seen: [number, number][] = [];
  const refused = copyStruct(footer, {
    accepts: (fid, type) => {
      seen.push([fid, type]);
      return type !== ThriftType.LIST;
    },
  });
  assert.equal(refused, "refused");
  assert.deepEqual(seen, [[1, ThriftType.I32], [2, ThriftType.LIST]]); // version, schema
});

Deno.test("thrift copy: bools flip in place, and lists of bools, maps and far field ids copy as they are", () => {
  // { 1: true, 40: list<bool> [true, false], 41: map<i32, binary> {1: "a"}, 42: false }
  const struct = Uint8Array.of(
    0x11,
    0x09,
    0x50,
    0x21,
    0x01,
    0x02,
    0x1b,
    0x01,
    0x58,
    0x02,
    0x01,
    0x61,
    0x12,
    0x00,
  );
  assert.deepEqual(copyStruct(struct, {}), { bytes: struct, read: struct.length });
  const seen: [number, number][] = [];
  const flipped = copyStruct(struct, {
    accepts: (fid, type) => {
      seen.push([fid, type]);
      return true;
    },
    bool: (fid, old) => fid === 42 ? !old : undefined,
  });
  assert.deepEqual(seen, [[1, ThriftType.BOOL], [40, ThriftType.LIST], [41, ThriftType.MAP], [
    42,
    ThriftType.BOOL,
  ]]);
  const expected = struct.slice();
  expected[12] = 0x11;
  assert.deepEqual(flipped, { bytes: expected, read: struct.length });
});
