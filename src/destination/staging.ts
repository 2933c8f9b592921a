/**
 * The process's staging directory: files are built here (in the OS temp dir, or `$TMPDIR`) so that
 * a crash or kill never leaves a partial file at a destination.
 *
 * @module
 */
import { join } from "node:path";

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
