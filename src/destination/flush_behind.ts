/**
 * Flush-behind for a staged local file: while the export is still writing it, its bytes are sent
 * to disk every {@link FLUSH_INTERVAL_MS}, so that the fsync that makes the file durable at commit
 * only has the last moments' bytes left instead of the whole file. Without it the kernel keeps a
 * fresh file in the page cache until that fsync, and the disk work is all done after the export,
 * with nothing to overlap: 0.54 s for an 876 MB CSV on this project's machine.
 *
 * The flushes go through a descriptor of their own (`fdatasync` flushes the file, whichever
 * descriptor names it), so they never queue behind or ahead of the writer's writes. A flush that
 * fails is not reported: the fsync at commit is the one that proves the file durable, and it
 * reports every error.
 *
 * @module
 */

/** How often the file written so far is flushed. */
export const FLUSH_INTERVAL_MS = 250;

/** Flushes `path` in the background from {@link start} until {@link stop}. */
export class FlushBehind {
  readonly #path: string;
  readonly #sync: (file: Deno.FsFile) => Promise<void>;
  #file: Deno.FsFile | undefined;
  #timer: ReturnType<typeof setInterval> | undefined;
  /** The flush in progress: at most one at a time. */
  #flushing: Promise<void> | undefined;

  /**
   * `path` may not exist yet: flushing starts once the writer has created it. `sync` flushes the
   * file's data (tests count the calls).
   */
  constructor(path: string, sync: (file: Deno.FsFile) => Promise<void> = (f) => f.syncData()) {
    this.#path = path;
    this.#sync = sync;
  }

  /** Starts flushing; the timer does not keep the process alive. */
  start(): void {
    this.#timer = setInterval(() => {
      this.#flushing ??= this.#flush().finally(() => this.#flushing = undefined);
    }, FLUSH_INTERVAL_MS);
    Deno.unrefTimer(this.#timer);
  }

  /** Stops flushing, once the flush in progress (if any) is over. */
  async stop(): Promise<void> {
    clearInterval(this.#timer);
    this.#timer = undefined;
    await this.#flushing;
    this.#file?.close();
    this.#file = undefined;
  }

  async #flush(): Promise<void> {
    try {
      this.#file ??= await Deno.open(this.#path, { read: true });
      await this.#sync(this.#file);
    } catch {
      // Not created yet, or a flush that failed: the fsync at commit decides.
    }
  }
}
