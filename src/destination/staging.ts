/**
 * The process's staging directory: files are built here (in the OS temp dir, or `$TMPDIR`) so that
 * a crash or kill never leaves a partial file at a destination.
 *
 * @module
 */
import { join } from "node:path";
import type { Staged } from "./destination.ts";

let dir: Promise<string> | undefined;

/** A fresh, unique path inside the staging directory. */
export async function stagingPath(): Promise<string> {
  dir ??= Deno.makeTempDir({ prefix: "rivet-staging-" });
  return join(await dir, crypto.randomUUID());
}

/** Removes the staging directory (best effort; called when the process is done). */
export async function removeStagingDir(): Promise<void> {
  if (!dir) return;
  const path = await dir;
  dir = undefined;
  await Deno.remove(path, { recursive: true }).catch(() => {});
}

/** Flushes a finished file's bytes to disk before it is published anywhere. */
export async function syncFile(path: string): Promise<void> {
  using file = await Deno.open(path, { read: true, write: true });
  await file.sync();
}

/**
 * A file staged locally and uploaded on commit (object stores): `upload` publishes the finished
 * file under its name; the staged copy is removed after the commit, whatever happened, or on
 * abort. No fsync first (unlike the local destination): the bytes are read back to be sent, and
 * once the store acknowledges the object their durability is the store's.
 */
export async function stageForUpload(
  upload: (path: string, fileName: string) => Promise<{ fileName: string; location: string }>,
): Promise<Staged> {
  const path = await stagingPath();
  return {
    path,
    async commit(fileName: string) {
      try {
        return await upload(path, fileName);
      } finally {
        await Deno.remove(path).catch(() => {});
      }
    },
    async abort() {
      await Deno.remove(path).catch(() => {});
    },
  };
}
