/**
 * An abortable sleep, for throttles and retry backoff: a stopped run must not sit out a long wait.
 *
 * @module
 */

/**
 * Resolves after `ms`, or rejects with the abort reason as soon as `signal` aborts.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 *
 * const controller = new AbortController();
 * const waiting = sleep(60_000, controller.signal);
 * controller.abort(new Error("stopped"));
 * await assert.rejects(waiting, /stopped/);
 * ```
 */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}
