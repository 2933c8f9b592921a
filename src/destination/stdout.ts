/**
 * stdout destination: the complete file's bytes are copied to stdout on commit, never before, so
 * a failed export writes nothing to the pipe. Logs and summaries go to stderr.
 *
 * @module
 */
import { DestinationError } from "../errors.ts";
import type { Destination, Staged } from "./destination.ts";
import { stagingPath } from "./staging.ts";

/** Writes finished files to the process's standard output. */
export class StdoutDestination implements Destination {
  async stage(fileName: string): Promise<Staged> {
    const path = await stagingPath(fileName);
    return {
      path,
      async commit() {
        try {
          using file = await Deno.open(path, { read: true });
          await file.readable.pipeTo(Deno.stdout.writable, { preventClose: true });
          return { fileName, location: "stdout" };
        } catch (err) {
          throw new DestinationError(
            `cannot write ${fileName} to stdout: ${(err as Error).message}`,
            {
              cause: err,
            },
          );
        } finally {
          await Deno.remove(path).catch(() => {});
        }
      },
      async abort() {
        await Deno.remove(path).catch(() => {});
      },
    };
  }
}
