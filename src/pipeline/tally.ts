/**
 * The counters one export's pieces share: retries, rows, the longest statement and transaction
 * any of its connections held on the server, and the verdicts of its checks. The export's summary
 * is its tally (`run_export.ts`), so what the pieces count is what the run reports.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { recordSession, type Tally } from "./tally.ts";
 *
 * const tally: Tally = { retries: 0, rows: 0, longestStatementMs: 120, longestTransactionMs: 300 };
 * recordSession(tally, { longestStatementMs: 80, longestTransactionMs: 900 });
 * assert.equal(tally.longestStatementMs, 120);
 * assert.equal(tally.longestTransactionMs, 900);
 * ```
 *
 * @module
 */
import type { SessionStats } from "../source/source.ts";

/** Counters shared by the pieces of one export. */
export interface Tally {
  /** Retry attempts so far. */
  retries: number;
  /** Rows extracted so far (counted before delivery, so a failed delivery still reports them). */
  rows: number;
  /** The longest statement any connection of the export ran, in ms. */
  longestStatementMs: number;
  /** The longest transaction any connection of the export held, in ms. */
  longestTransactionMs: number;
  /** Whether every file passed `--validate` (unset without it). */
  validated?: boolean;
  /** Whether every piece passed its quality gate (unset without quality rules). */
  quality?: boolean;
  /** Whether every piece reconciled with the source (unset without `--reconcile`). */
  reconciled?: boolean;
}

/** Folds what a closed connection held on the server into the export's tally. */
export function recordSession(tally: Tally, stats: SessionStats): void {
  tally.longestStatementMs = Math.max(tally.longestStatementMs, stats.longestStatementMs);
  tally.longestTransactionMs = Math.max(tally.longestTransactionMs, stats.longestTransactionMs);
}
