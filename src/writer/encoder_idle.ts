/**
 * How much of the Parquet encoder worker's time goes to waiting for batches, as a moving average
 * over the batches: while it has time to spare, the worker compresses pages itself
 * (`parquet_chunk_compressor.ts`) instead of leaving them to the main thread.
 *
 * A cycle runs from one batch handed to the encoder to the next. Within it the worker is busy
 * while the encoder works (until it asks for the next batch) and while it compresses; the rest
 * it waits for the main thread.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { IdleShare } from "./encoder_idle.ts";
 *
 * const idle = new IdleShare();
 * idle.handed(0);
 * idle.asked(30); // encoded for 30 ms
 * idle.busy(10); // compressed for 10 ms
 * idle.handed(100); // waited 60 ms of the 100
 * assert.ok(Math.abs(idle.share - 0.6 * 0.3) < 1e-9);
 * ```
 *
 * @module
 */

/** Weight of the latest cycle in the average: a few batches decide where pages go. */
const WEIGHT = 0.3;

/** The encoder worker's share of time spent waiting, averaged over recent batches. */
export class IdleShare {
  #share = 0;
  #handedAt: number | undefined;
  #askedAt: number | undefined;
  #busy = 0;

  /** The moving average, from 0 (never waits) to 1. */
  get share(): number {
    return this.#share;
  }

  /** The worker spent `ms` on work of its own besides encoding (compressing pages). */
  busy(ms: number): void {
    this.#busy += ms;
  }

  /** The encoder asked for its next batch at `now` (ms): it worked until then. */
  asked(now: number): void {
    this.#askedAt ??= now;
  }

  /** A batch was handed to the encoder at `now` (ms): a cycle ends and the next begins. */
  handed(now: number): void {
    if (this.#handedAt !== undefined && now > this.#handedAt) {
      const elapsed = now - this.#handedAt;
      const busy = (this.#askedAt ?? now) - this.#handedAt + this.#busy;
      const idle = Math.max(0, elapsed - busy) / elapsed;
      this.#share = (1 - WEIGHT) * this.#share + WEIGHT * idle;
    }
    this.#handedAt = now;
    this.#askedAt = undefined;
    this.#busy = 0;
  }
}
