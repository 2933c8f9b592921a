/**
 * Measures how a source spaces its batches, for the throttle tests of both engines.
 *
 * @module
 */
import assert from "node:assert/strict";
import type { RecordBatch } from "apache-arrow";

/**
 * How far below the throttle a gap may measure: timers and `performance.now()` round differently,
 * by well under a millisecond, never by more than this.
 */
export const TIMER_SLACK_MS = 2;

/** Row counts and arrival times (`performance.now()`) of every batch, in order. */
export interface Arrivals {
  rows: number[];
  times: number[];
}

/** Reads every batch, noting the time each one arrives before doing anything else with it. */
export async function timeBatches(batches: AsyncIterable<RecordBatch>): Promise<Arrivals> {
  const rows: number[] = [];
  const times: number[] = [];
  for await (const batch of batches) {
    times.push(performance.now());
    rows.push(batch.numRows);
  }
  return { rows, times };
}

/**
 * Asserts that every gap between consecutive batches is at least `throttleMs` (less
 * {@link TIMER_SLACK_MS}), and that the run, from `started` to the last batch, took at least
 * (batches - 1) x `throttleMs`.
 */
export function assertThrottled(arrivals: Arrivals, started: number, throttleMs: number): void {
  const { times } = arrivals;
  assert.ok(times.length >= 3, `only ${times.length} batches: no spacing to measure`);
  const gaps = times.slice(1).map((t, k) => t - times[k]);
  const shown = gaps.map((g) => g.toFixed(1)).join(", ");
  for (const gap of gaps) {
    assert.ok(gap >= throttleMs - TIMER_SLACK_MS, `gaps ${shown} ms; throttle ${throttleMs} ms`);
  }
  const run = times[times.length - 1] - started;
  const least = (times.length - 1) * throttleMs;
  assert.ok(run >= least - TIMER_SLACK_MS, `the run took ${run.toFixed(1)} ms, least ${least} ms`);
}
