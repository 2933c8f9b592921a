import assert from "node:assert/strict";
import { copyBytes, viewOf, WORD_COPY_MAX } from "./copy_bytes.ts";

Deno.test("copyBytes: every length up to past WORD_COPY_MAX, at every alignment of both sides", () => {
  const source = Uint8Array.from({ length: 512 }, (_, i) => (i * 131 + 7) & 0xff);
  const sourceView = new DataView(source.buffer);
  for (let length = 0; length <= WORD_COPY_MAX + 9; length++) {
    for (let from = 0; from < 8; from++) {
      for (let to = 0; to < 8; to++) {
        const target = new Uint8Array(length + 24).fill(0xee);
        copyBytes(sourceView, from + 3, new DataView(target.buffer), to + 8, length);
        const expected = new Uint8Array(length + 24).fill(0xee);
        expected.set(source.subarray(from + 3, from + 3 + length), to + 8);
        assert.deepEqual(target, expected, `length ${length}, from ${from + 3}, to ${to + 8}`);
      }
    }
  }
});

Deno.test("copyBytes: views that start inside their buffers address from their own start", () => {
  const source = Uint8Array.of(9, 9, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10);
  const target = new Uint8Array(14);
  copyBytes(new DataView(source.buffer, 2), 0, new DataView(target.buffer, 3, 11), 1, 10);
  assert.deepEqual([...target], [0, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
});

Deno.test("copyBytes: a range past the end of either view is a RangeError", () => {
  const view = new DataView(new ArrayBuffer(16));
  assert.throws(() => copyBytes(view, 10, new DataView(new ArrayBuffer(32)), 0, 8), RangeError);
  assert.throws(() => copyBytes(new DataView(new ArrayBuffer(32)), 0, view, 12, 5), RangeError);
});

Deno.test("viewOf: one view per array, covering exactly the array's bytes", () => {
  const buffer = Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8).buffer;
  const chunk = new Uint8Array(buffer, 2, 4);
  const view = viewOf(chunk);
  assert.equal(viewOf(chunk), view);
  assert.deepEqual([view.byteOffset, view.byteLength, view.getUint8(0)], [2, 4, 3]);
  // Another array over the same memory is another chunk: its own view.
  const other = new Uint8Array(buffer, 4, 4);
  assert.notEqual(viewOf(other), view);
  assert.equal(viewOf(other).getUint8(0), 5);
  assert.notEqual(viewOf(chunk), view, "asked for again after another, a new view");
});
