/**
 * Honouring an AbortSignal while streaming.
 *
 * @module
 */

/** Calls `onAbort` once if `signal` aborts; returns the unsubscribe function. */
export function onAbort(signal: AbortSignal | undefined, onAbort: () => void): () => void {
  if (signal === undefined) return () => {};
  signal.addEventListener("abort", onAbort, { once: true });
  return () => signal.removeEventListener("abort", onAbort);
}
