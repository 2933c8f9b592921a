/**
 * Retry policy (spec "Retry semantics"): which failures are retried, how long to wait, and the loop
 * that applies both to one unit of work.
 *
 * @module
 */
import type { Tuning } from "../config/types.ts";
import { type RetryClass, SourceError } from "../errors.ts";
import { sleep } from "../util/sleep.ts";

/** Extra delay per class, on top of the exponential backoff. */
const EXTRA_DELAY_MS: Partial<Record<RetryClass, number>> = { capacity: 15_000, deadlock: 1_000 };
const RETRYABLE: ReadonlySet<RetryClass> = new Set([
  "network",
  "disconnect",
  "timeout",
  "capacity",
  "deadlock",
]);

/** True when `err` is a source failure worth another attempt. */
export function isRetryable(err: unknown): err is SourceError {
  return err instanceof SourceError && RETRYABLE.has(err.retryClass);
}

/**
 * Delay before retry number `attempt` (1-based): `retry_backoff_ms * 2^(attempt-1) + extra`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 *
 * import { resolveTuning } from "../config/profiles.ts";
 *
 * const balanced = resolveTuning({ profile: "balanced" });
 * assert.equal(backoffMs(balanced, 2, "deadlock"), 2000 * 2 + 1000);
 * ```
 */
export function backoffMs(tuning: Tuning, attempt: number, retryClass: RetryClass): number {
  return tuning.retryBackoffMs * 2 ** (attempt - 1) + (EXTRA_DELAY_MS[retryClass] ?? 0);
}

/** What a caller of {@link withRetries} learns about each retry before it waits. */
export interface RetryNotice {
  /** 1-based number of the retry about to happen. */
  attempt: number;
  /** The wait before it. */
  delayMs: number;
  /** The failure that caused it. */
  error: SourceError;
}

/**
 * Runs `attempt` until it succeeds, a failure is not retryable, `tuning.maxRetries` retries are
 * spent, or `signal` aborts; waits {@link backoffMs} between attempts. Each call of `attempt` must
 * start from scratch (a fresh connection): nothing of a failed attempt is reused.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { resolveTuning } from "../config/profiles.ts";
 * import { SourceError } from "../errors.ts";
 *
 * let calls = 0;
 * const tuning = resolveTuning({ retry_backoff_ms: 1, max_retries: 3 });
 * const result = await withRetries(() => {
 *   calls++;
 *   if (calls < 3) throw new SourceError("connection reset", "network");
 *   return Promise.resolve("done");
 * }, { tuning, onRetry: () => {} });
 * assert.equal(result, "done");
 * assert.equal(calls, 3);
 * ```
 */
export async function withRetries<T>(
  attempt: () => Promise<T>,
  options: { tuning: Tuning; signal?: AbortSignal; onRetry: (notice: RetryNotice) => void },
): Promise<T> {
  const { tuning, signal } = options;
  for (let retry = 1;; retry++) {
    try {
      return await attempt();
    } catch (err) {
      if (!isRetryable(err) || retry > tuning.maxRetries || signal?.aborted) throw err;
      const delayMs = backoffMs(tuning, retry, err.retryClass);
      options.onRetry({ attempt: retry, delayMs, error: err });
      await sleep(delayMs, signal);
    }
  }
}
