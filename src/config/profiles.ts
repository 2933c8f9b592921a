/**
 * Tuning profiles and their defaults (spec "Profile Defaults").
 *
 * @module
 */
import type { ProfileName, Tuning } from "./types.ts";

/** Default values of each profile. */
export const PROFILES: Readonly<Record<ProfileName, Readonly<Tuning>>> = {
  fast: {
    profile: "fast",
    batchSize: 50_000,
    throttleMs: 0,
    statementTimeoutS: 0,
    maxRetries: 1,
    retryBackoffMs: 1_000,
    lockTimeoutS: 0,
  },
  balanced: {
    profile: "balanced",
    batchSize: 10_000,
    throttleMs: 50,
    statementTimeoutS: 300,
    maxRetries: 3,
    retryBackoffMs: 2_000,
    lockTimeoutS: 30,
  },
  safe: {
    profile: "safe",
    batchSize: 2_000,
    throttleMs: 500,
    statementTimeoutS: 120,
    maxRetries: 5,
    retryBackoffMs: 5_000,
    lockTimeoutS: 10,
  },
};

/** The YAML keys of `source.tuning` that override a profile field. */
export interface TuningOverrides {
  profile?: ProfileName;
  batch_size?: number;
  throttle_ms?: number;
  statement_timeout_s?: number;
  max_retries?: number;
  retry_backoff_ms?: number;
  lock_timeout_s?: number;
  batch_size_memory_mb?: number;
}

/**
 * Applies overrides on top of the named profile (`balanced` when none).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 *
 * const tuning = resolveTuning({ profile: "safe", batch_size: 5000 });
 * assert.equal(tuning.batchSize, 5000); // overridden
 * assert.equal(tuning.throttleMs, 500); // from the profile
 * ```
 */
export function resolveTuning(overrides: TuningOverrides = {}): Tuning {
  const base = PROFILES[overrides.profile ?? "balanced"];
  return {
    profile: base.profile,
    batchSize: overrides.batch_size ?? base.batchSize,
    throttleMs: overrides.throttle_ms ?? base.throttleMs,
    statementTimeoutS: overrides.statement_timeout_s ?? base.statementTimeoutS,
    maxRetries: overrides.max_retries ?? base.maxRetries,
    retryBackoffMs: overrides.retry_backoff_ms ?? base.retryBackoffMs,
    lockTimeoutS: overrides.lock_timeout_s ?? base.lockTimeoutS,
    ...(overrides.batch_size_memory_mb === undefined
      ? {}
      : { batchSizeMemoryMb: overrides.batch_size_memory_mb }),
  };
}
