import assert from "node:assert/strict";
import { type RecordBatch, Table, tableFromArrays, tableToIPC } from "apache-arrow";
import { IpcBuffers } from "./ipc_buffers.ts";

function batchOf(rows: number, text: string): RecordBatch {
  const table = tableFromArrays({
    id: Int32Array.from({ length: rows }, (_, i) => i),
    word: Array.from({ length: rows }, (_, i) => (i % 7 === 0 ? null : `${text} ${i}`)),
  });
  return table.batches[0];
}

/** What apache-arrow's own serializer writes for the batch. */
function reference(batch: RecordBatch): Uint8Array {
  return tableToIPC(new Table([batch]), "stream");
}

Deno.test("ipc buffers: a batch is serialized byte for byte as apache-arrow serializes it", () => {
  const pool = new IpcBuffers();
  const batch = batchOf(50_000, "some words");
  assert.deepEqual(pool.serialize(batch), reference(batch));
});

Deno.test("ipc buffers: a reused buffer holds only the new batch, whatever it held before", () => {
  const pool = new IpcBuffers();
  const big = pool.serialize(batchOf(40_000, "a long first batch of text"));
  pool.giveBack(big.buffer as ArrayBuffer);
  const small = batchOf(3_000, "x");
  const again = pool.serialize(small);
  assert.equal(again.buffer, big.buffer, "the spare buffer was used");
  assert.deepEqual(again, reference(small));
});

Deno.test("ipc buffers: a batch bigger than every spare buffer grows into a new one", () => {
  const pool = new IpcBuffers();
  const small = pool.serialize(batchOf(2_000, "x"));
  pool.giveBack(small.buffer as ArrayBuffer);
  const batch = batchOf(200_000, "a batch far bigger than the first one");
  const grown = pool.serialize(batch);
  assert.notEqual(grown.buffer, small.buffer);
  assert.deepEqual(grown, reference(batch));
});

Deno.test("ipc buffers: only the largest spare buffers are kept", () => {
  const pool = new IpcBuffers();
  const sizes = [1, 4, 2].map((mib) => new ArrayBuffer(mib * 1024 * 1024));
  for (const buffer of sizes) pool.giveBack(buffer);
  const batch = batchOf(10, "x");
  const first = pool.serialize(batch).buffer;
  const second = pool.serialize(batch).buffer;
  const third = pool.serialize(batch).buffer;
  assert.deepEqual([first, second], [sizes[1], sizes[2]]);
  assert.ok(!sizes.includes(third as ArrayBuffer), "the smallest was let go");
});

Deno.test("ipc buffers: a buffer grown for one outsized row is freed, not kept", () => {
  const pool = new IpcBuffers();
  const outsized = new ArrayBuffer(64 * 1024 * 1024);
  const usual = new ArrayBuffer(4 * 1024 * 1024);
  pool.giveBack(outsized);
  pool.giveBack(usual);
  assert.ok(outsized.detached, "its memory went back at once");
  const batch = batchOf(10, "x");
  assert.equal(pool.serialize(batch).buffer, usual);
  assert.ok(![outsized, usual].includes(pool.serialize(batch).buffer as ArrayBuffer));
});
