/**
 * Retry policy (spec "Retry semantics"): which failures are retried and how long to wait.
 *
 * @module
 */
import type { Tuning } from "../config/types.ts";
import { type RetryClass, SourceError } from "../errors.ts";

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
 * backoffMs(tuning, 2, "deadlock"); // balanced: 2000 * 2 + 1000 = 5000
 * ```
 */
export function backoffMs(tuning: Tuning, attempt: number, retryClass: RetryClass): number {
  return tuning.retryBackoffMs * 2 ** (attempt - 1) + (EXTRA_DELAY_MS[retryClass] ?? 0);
}
