/**
 * The destination seam: where finished files go. A file is written to a staging path first and
 * becomes visible at its final name only on {@link Staged.commit}: nothing partial is ever visible.
 *
 * @module
 */

/**
 * A file being produced: the writer fills `path`, then the pipeline commits or aborts it. The
 * name is chosen at commit, once it is known how many parts a piece has.
 */
export interface Staged {
  /** Local path the writer streams into (not visible at the destination). */
  readonly path: string;
  /**
   * Makes the complete file visible under `fileName`, durably, never overwriting another file.
   * Returns the name it got (a suffix is added if the name was taken) and its location.
   */
  commit(fileName: string): Promise<{ fileName: string; location: string }>;
  /** Discards the staged file. Safe to call after a failed or completed commit. */
  abort(): Promise<void>;
}

/**
 * A place finished files are stored.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { LocalDestination } from "./local.ts";
 *
 * const dir = await Deno.makeTempDir();
 * const destination: Destination = new LocalDestination(dir);
 * const staged = await destination.stage();
 * await Deno.writeTextFile(staged.path, "id\n1\n"); // invisible at the destination until commit
 * const { location } = await staged.commit("orders.csv");
 * assert.equal(await Deno.readTextFile(location), "id\n1\n");
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export interface Destination {
  /** Starts a file; it gets its name when committed. */
  stage(): Promise<Staged>;
  /** Where a file committed as `fileName` appears (when the name is free). */
  locationOf(fileName: string): string;
  /**
   * Removes a file this destination committed, durably: used when a later part of the same piece
   * fails, so that no part of a failed piece stays visible.
   */
  retract(location: string): Promise<void>;
  /**
   * Proves the destination accepts a write (`rivet doctor`): writes a small probe file and removes
   * it again, leaving nothing behind. Rejects with a {@link DestinationError} whose category says
   * what is wrong.
   */
  probe(): Promise<void>;
}
