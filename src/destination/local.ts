/**
 * Local filesystem destination: the directory is created if missing; a file appears under its
 * final name atomically (hard link of the complete file, which also refuses to overwrite).
 *
 * @module
 */
import { basename, dirname, join } from "node:path";
import { DestinationError, errorMessage } from "../errors.ts";
import type { Destination, Staged } from "./destination.ts";
import { candidateNames } from "./file_name.ts";
import { FlushBehind } from "./flush_behind.ts";
import { stagingPath, syncFile } from "./staging.ts";

/** Stores files in the directory `root`. */
export class LocalDestination implements Destination {
  /** Files go to the directory `root` (created on the first commit). */
  constructor(private readonly root: string) {}

  async stage(): Promise<Staged> {
    const path = await stagingPath();
    const root = this.root;
    // The file is made durable at commit; most of its bytes reach the disk while it is written.
    const flush = new FlushBehind(path);
    flush.start();
    return {
      path,
      async commit(fileName: string) {
        try {
          await flush.stop();
          await Deno.mkdir(root, { recursive: true });
          await syncFile(path);
          const source = await sameDevice(path, root)
            ? path
            : await copyBeside(path, root, fileName);
          try {
            const name = await linkUnique(source, root, fileName);
            await syncDir(root);
            return { fileName: name, location: join(root, name) };
          } finally {
            if (source !== path) await Deno.remove(source).catch(() => {});
          }
        } catch (err) {
          if (err instanceof DestinationError) throw err;
          throw new DestinationError(
            `cannot write ${fileName} to ${root}: ${errorMessage(err)}`,
            { cause: err },
          );
        } finally {
          await Deno.remove(path).catch(() => {});
        }
      },
      async abort() {
        await flush.stop();
        await Deno.remove(path).catch(() => {});
      },
    };
  }

  async probe(): Promise<void> {
    const probe = join(this.root, `.rivet_doctor_probe_${crypto.randomUUID()}`);
    try {
      await Deno.mkdir(this.root, { recursive: true });
      await Deno.writeTextFile(probe, "rivet doctor\n", { createNew: true });
      await Deno.remove(probe);
    } catch (err) {
      await Deno.remove(probe).catch(() => {});
      throw new DestinationError(`cannot write to ${this.root}: ${errorMessage(err)}`, {
        cause: err,
        category: err instanceof Deno.errors.PermissionDenied ||
            err instanceof Deno.errors.NotCapable
          ? "auth"
          : err instanceof Deno.errors.NotFound
          ? "not_found"
          : "other",
      });
    }
  }

  locationOf(fileName: string): string {
    return join(this.root, fileName);
  }

  async retract(location: string): Promise<void> {
    try {
      await removeDurably(location);
    } catch (err) {
      throw new DestinationError(`cannot remove ${location}: ${errorMessage(err)}`, {
        cause: err,
      });
    }
  }
}

/** Deletes a published file and makes the deletion durable. */
async function removeDurably(location: string): Promise<void> {
  await Deno.remove(location).catch((err) => {
    if (!(err instanceof Deno.errors.NotFound)) throw err;
  });
  await syncDir(dirname(location));
}

async function sameDevice(file: string, dir: string): Promise<boolean> {
  const [a, b] = await Promise.all([Deno.stat(file), Deno.stat(dir)]);
  return a.dev === b.dev;
}

/** Copies to a hidden name in the target directory so the final link is same-device. */
async function copyBeside(file: string, dir: string, fileName: string): Promise<string> {
  const hidden = join(dir, `.${fileName}.${basename(file)}.rivet-partial`);
  await Deno.copyFile(file, hidden);
  await syncFile(hidden);
  return hidden;
}

async function linkUnique(source: string, dir: string, fileName: string): Promise<string> {
  for (const name of candidateNames(fileName)) {
    try {
      await Deno.link(source, join(dir, name));
      return name;
    } catch (err) {
      if (!(err instanceof Deno.errors.AlreadyExists)) throw err;
    }
  }
  throw new DestinationError(`no free file name for ${fileName} in ${dir}`);
}

/** Makes the new directory entry durable (a crash must not lose a committed file). */
async function syncDir(dir: string): Promise<void> {
  try {
    using handle = await Deno.open(dir, { read: true });
    await handle.sync();
  } catch {
    // Some platforms cannot fsync a directory; the file itself is already synced.
  }
}
