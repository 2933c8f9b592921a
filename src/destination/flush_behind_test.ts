import assert from "node:assert/strict";
import { join } from "node:path";
import { FLUSH_INTERVAL_MS, FlushBehind } from "./flush_behind.ts";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

Deno.test("flush-behind: a file being written is flushed every interval until stopped", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = join(dir, "staged");
    let flushes = 0;
    const flush = new FlushBehind(path, async (file) => {
      flushes++;
      await file.syncData();
    });
    flush.start();
    // Nothing to flush before the writer creates the file.
    await sleep(FLUSH_INTERVAL_MS * 1.5);
    assert.equal(flushes, 0);
    using file = await Deno.open(path, { write: true, create: true });
    const writer = file.writable.getWriter();
    for (let i = 0; i < 5; i++) {
      await writer.write(new Uint8Array(64 * 1024).fill(i));
      await sleep(FLUSH_INTERVAL_MS);
    }
    assert.ok(flushes >= 3, `${flushes} flushes while the file was written`);
    await flush.stop();
    const stopped = flushes;
    await sleep(FLUSH_INTERVAL_MS * 2);
    assert.equal(flushes, stopped, "no flush after stop");
    await writer.close();
    assert.equal((await Deno.stat(path)).size, 5 * 64 * 1024);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("flush-behind: a failing flush is left to the fsync at commit", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = join(dir, "staged");
    await Deno.writeTextFile(path, "id\n1\n");
    let attempts = 0;
    const flush = new FlushBehind(path, () => {
      attempts++;
      return Promise.reject(new Error("EIO"));
    });
    flush.start();
    await sleep(FLUSH_INTERVAL_MS * 2.5);
    await flush.stop();
    assert.ok(attempts >= 1);
    assert.equal(await Deno.readTextFile(path), "id\n1\n");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
