import assert from "node:assert/strict";
import { join } from "node:path";
import { isAbandoned, LOCK_FILE, removeStagingDir, stagingDir } from "./staging.ts";

Deno.test("staging: a directory whose lock file nobody holds belonged to a dead process", async () => {
  const dead = await Deno.makeTempDir({ prefix: "rivet-staging-test-" });
  try {
    await Deno.writeTextFile(join(dead, LOCK_FILE), "");
    assert.equal(await isAbandoned(dead), true);
  } finally {
    await Deno.remove(dead, { recursive: true });
  }
});

Deno.test("staging: a directory still being set up (its lock file not in place yet) is live", async () => {
  const young = await Deno.makeTempDir({ prefix: "rivet-staging-test-" });
  try {
    // What a starting process has made before its lock file appears under its own name.
    await Deno.writeTextFile(join(young, `${LOCK_FILE}.new`), "");
    assert.equal(await isAbandoned(young), false);
  } finally {
    await Deno.remove(young, { recursive: true });
  }
});

Deno.test("staging: this process's directory holds a lock that another opener cannot take", async () => {
  const own = await stagingDir();
  try {
    assert.equal(await isAbandoned(own), false);
    using other = await Deno.open(join(own, LOCK_FILE), { write: true });
    assert.equal(await other.tryLock(true), false, "the lock file in place is already locked");
  } finally {
    await removeStagingDir();
  }
});
