/**
 * One worker's connection to the source: opened when first needed, kept while its queries
 * succeed, closed and forgotten after any failure (spec "Retry semantics": never reuse a failed
 * connection), so the next attempt opens a fresh one. A new connection is prepared before use
 * (chunked mode pins it to the run's snapshot).
 *
 * @module
 */
import type { SessionStats, Source } from "../source/source.ts";

/** A connection holder for one worker. */
export class ConnectionSlot {
  readonly #open: () => Promise<Source>;
  readonly #prepare: ((source: Source) => Promise<void>) | undefined;
  readonly #onClosed: ((stats: SessionStats) => void) | undefined;
  #source: Source | undefined;

  /**
   * @param open opens a fresh connection.
   * @param prepare runs once on each new connection before its first query; a failure closes it.
   * @param onClosed receives what each connection held on the server, once it is closed.
   */
  constructor(
    open: () => Promise<Source>,
    prepare?: (source: Source) => Promise<void>,
    onClosed?: (stats: SessionStats) => void,
  ) {
    this.#open = open;
    this.#prepare = prepare;
    this.#onClosed = onClosed;
  }

  /** The slot's connection, opening (and preparing) a fresh one when there is none. */
  async acquire(): Promise<Source> {
    if (this.#source) return this.#source;
    const source = await this.#open();
    try {
      await this.#prepare?.(source);
    } catch (err) {
      await this.#close(source);
      throw err;
    }
    this.#source = source;
    return source;
  }

  /** Closes the connection after a failure; the next `acquire` opens a fresh one. */
  async discard(): Promise<void> {
    const source = this.#source;
    this.#source = undefined;
    if (source) await this.#close(source);
  }

  async #close(source: Source): Promise<void> {
    await source.close().catch(() => {});
    this.#onClosed?.(source.stats());
  }

  /** Closes the connection at the end of the work. */
  close(): Promise<void> {
    return this.discard();
  }
}
