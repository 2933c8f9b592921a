/**
 * stdout destination: the complete file's bytes are copied to stdout on commit, never before, so
 * a failed export writes nothing to the pipe. Logs and summaries go to stderr.
 *
 * @module
 */
import { DestinationError, errorMessage } from "../errors.ts";
import type { Destination, Staged } from "./destination.ts";
import { stagingPath } from "./staging.ts";

/** Writes finished files to the process's standard output. */
export class StdoutDestination implements Destination {
  async stage(): Promise<Staged> {
    const path = await stagingPath();
    return {
      path,
      async commit(fileName: string) {
        try {
          using file = await Deno.open(path, { read: true });
          await file.readable.pipeTo(Deno.stdout.writable, { preventClose: true });
          return { fileName, location: "stdout" };
        } catch (err) {
          throw new DestinationError(
            `cannot write ${fileName} to stdout: ${errorMessage(err)}`,
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

  probe(): Promise<void> {
    // Writing a probe would put bytes in the pipe; an open stdout is all a run needs.
    return Promise.resolve();
  }

  locationOf(): string {
    return "stdout";
  }

  retract(location: string): Promise<void> {
    // The config rules keep multi-file exports (chunks, parts) away from stdout, so a committed
    // file never needs taking back; bytes already piped cannot be.
    return Promise.reject(new DestinationError(`cannot take back ${location}: it was piped`));
  }
}
