/**
 * The process's staging directory: files are built here (in the OS temp dir, or `$TMPDIR`) so that
 * a crash or kill never leaves a partial file at a destination.
 *
 * A live process holds an exclusive lock on the directory's {@link LOCK_FILE} for as long as it
 * runs; the operating system releases it when the process dies, however it dies (killed, crashed,
 * out of memory). A directory whose lock can be taken therefore belongs to a dead process: the
 * next run removes it, and takes back the unrecorded deliveries it owned (see the pipeline's
 * pending deliveries).
 *
 * @module
 */
import { basename, dirname, join } from "node:path";
import { osTempDir } from "../util/temp_dir.ts";
import type { Staged } from "./destination.ts";

/** The file inside a staging directory whose lock says its process is alive. */
export const LOCK_FILE = "owner.lock";

const PREFIX = "rivet-staging-";
/**
 * A staging directory without a lock file is either being created this instant or was left by a
 * process that died before locking it; only after this long is it judged the latter.
 */
const UNLOCKED_GRACE_MS = 60_000;

let dir: Promise<string> | undefined;
let lock: Deno.FsFile | undefined;

/** The process's staging directory, created (and locked) on first use. */
export function stagingDir(): Promise<string> {
  dir ??= Deno.makeTempDir({ prefix: PREFIX, ...tempParent() }).then(
    async (path) => {
      // Locked under another name, then renamed (the lock stays with the file): another
      // process's sweep that found the lock file created but not yet locked judged this live
      // directory abandoned and removed it, staged files and all.
      const unlocked = join(path, `${LOCK_FILE}.new`);
      lock = await Deno.open(unlocked, { write: true, create: true });
      await lock.lock(true);
      await Deno.rename(unlocked, join(path, LOCK_FILE));
      return path;
    },
  );
  return dir;
}

/**
 * The temp directory, named so that a denied write names it too; without permission to read the
 * variables that locate it, Deno picks the same directory by itself.
 */
function tempParent(): { dir?: string } {
  try {
    return { dir: osTempDir() };
  } catch {
    return {};
  }
}

/** A fresh, unique path inside the staging directory. */
export async function stagingPath(): Promise<string> {
  return join(await stagingDir(), crypto.randomUUID());
}

/** Removes the staging directory (best effort; called when the process is done). */
export async function removeStagingDir(): Promise<void> {
  if (!dir) return;
  const path = await dir;
  dir = undefined;
  lock?.close();
  lock = undefined;
  await Deno.remove(path, { recursive: true }).catch(() => {});
}

/**
 * Whether `owner` (a staging directory) belongs to a process that is gone: the directory is
 * missing, or nobody holds its lock.
 */
export async function isAbandoned(owner: string): Promise<boolean> {
  if (dir && owner === await dir) return false;
  let file: Deno.FsFile;
  try {
    file = await Deno.open(join(owner, LOCK_FILE), { write: true });
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) return false;
    return await unlockedFor(owner, UNLOCKED_GRACE_MS);
  }
  try {
    // Taking the lock proves its holder is dead; it is released at once (closing the file).
    return await file.tryLock(true);
  } finally {
    file.close();
  }
}

/** Whether `path` is missing, or was last modified more than `ms` ago. */
async function unlockedFor(path: string, ms: number): Promise<boolean> {
  try {
    const { mtime } = await Deno.stat(path);
    return mtime === null || Date.now() - mtime.getTime() > ms;
  } catch {
    return true;
  }
}

/**
 * Removes the staging directories of processes that died, beside this process's own; returns how
 * many. Their files were never delivered: nothing is lost.
 */
export async function removeAbandonedStaging(): Promise<number> {
  const own = await stagingDir();
  const parent = dirname(own);
  let removed = 0;
  for await (const entry of Deno.readDir(parent)) {
    if (!entry.isDirectory || !entry.name.startsWith(PREFIX)) continue;
    const path = join(parent, entry.name);
    if (entry.name === basename(own) || !await isAbandoned(path)) continue;
    await Deno.remove(path, { recursive: true }).then(() => removed++).catch(() => {});
  }
  return removed;
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
