/**
 * The local destination's guarantees: a committed file appears complete under its final name, a
 * name already taken is never overwritten, and staging on another filesystem still publishes
 * atomically (copy beside the target, then link).
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { LocalDestination } from "../src/destination/local.ts";
import { removeStagingDir } from "../src/destination/staging.ts";
import { listDir, withTempDir } from "./support/files.ts";

async function stageBytes(dest: LocalDestination, name: string, text: string) {
  const staged = await dest.stage();
  await Deno.writeTextFile(staged.path, text);
  return { path: staged.path, commit: () => staged.commit(name), abort: () => staged.abort() };
}

Deno.test("local destination: two files with the same name are both kept and the first stays intact", async () => {
  await withTempDir(async (dir) => {
    const out = join(dir, "out");
    const dest = new LocalDestination(out);
    const first = await stageBytes(dest, "orders_20260101_000000_000.csv", "id\n1\n");
    const second = await stageBytes(dest, "orders_20260101_000000_000.csv", "id\n2\n");
    const a = await first.commit();
    const b = await second.commit();
    assert.equal(a.fileName, "orders_20260101_000000_000.csv");
    assert.equal(b.fileName, "orders_20260101_000000_000_2.csv");
    assert.deepEqual(await listDir(out), [a.fileName, b.fileName].sort());
    assert.equal(await Deno.readTextFile(a.location), "id\n1\n");
    assert.equal(await Deno.readTextFile(b.location), "id\n2\n");
    await assert.rejects(Deno.stat(first.path), Deno.errors.NotFound, "staged file removed");
  });
  await removeStagingDir();
});

Deno.test("local destination: staging on another filesystem publishes by copy-then-link, never clobbering", async () => {
  // Staging lives in the OS temp dir; /dev/shm is a tmpfs, so the target is on another device
  // (Deno grants /dev paths only with --allow-all, which the test task has).
  const out = await Deno.makeTempDir({ dir: "/dev/shm", prefix: "rivet-test-" });
  try {
    const dest = new LocalDestination(out);
    const first = await stageBytes(dest, "events.csv", "id\n1\n");
    assert.notEqual(
      (await Deno.stat(first.path)).dev,
      (await Deno.stat(out)).dev,
      "precondition: staging and destination are on different devices",
    );
    const second = await stageBytes(dest, "events.csv", "id\n2\n");
    const a = await first.commit();
    const b = await second.commit();
    assert.deepEqual(await listDir(out), ["events.csv", "events_2.csv"]);
    assert.equal(await Deno.readTextFile(a.location), "id\n1\n");
    assert.equal(await Deno.readTextFile(b.location), "id\n2\n");
  } finally {
    await Deno.remove(out, { recursive: true });
    await removeStagingDir();
  }
});

Deno.test("local destination: an aborted file leaves nothing at the destination or in staging", async () => {
  await withTempDir(async (dir) => {
    const out = join(dir, "out");
    const dest = new LocalDestination(out);
    const staged = await stageBytes(dest, "x.csv", "partial");
    await staged.abort();
    await assert.rejects(Deno.stat(staged.path), Deno.errors.NotFound);
    await assert.rejects(Deno.stat(out), Deno.errors.NotFound);
  });
  await removeStagingDir();
});
