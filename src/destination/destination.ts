/**
 * The destination seam: where finished files go. A file is written to a staging path first and
 * becomes visible at its final name only on {@link Staged.commit}: nothing partial is ever visible.
 *
 * @module
 */

/** A file being produced: the writer fills `path`, then the pipeline commits or aborts it. */
export interface Staged {
  /** Local path the writer streams into (not visible at the destination). */
  readonly path: string;
  /**
   * Makes the complete file visible under its final name, durably, never overwriting another
   * file. Returns the name it got (a suffix is added if the name was taken) and its location.
   */
  commit(): Promise<{ fileName: string; location: string }>;
  /** Discards the staged file. Safe to call after a failed or completed commit. */
  abort(): Promise<void>;
}

/**
 * A place finished files are stored.
 *
 * @example
 * ```ts
 * const staged = await destination.stage("orders_20260101_000000_000.parquet");
 * await Deno.writeFile(staged.path, bytes);
 * const { location } = await staged.commit();
 * ```
 */
export interface Destination {
  /** Short human description, e.g. `local(/data/out)` or `stdout`. */
  readonly label: string;
  /** Starts a file that will be named `fileName` when committed. */
  stage(fileName: string): Promise<Staged>;
}
