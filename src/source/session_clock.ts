/**
 * Client-side timing of what one connection holds on the server, for {@link SessionStats}.
 *
 * Both engines feed it the same events: a statement starts when it is sent and ends when its last
 * row has been read or it fails; a transaction starts when it is opened and ends when it commits,
 * rolls back or its connection ends. Times are `performance.now()` on the client, so a statement
 * includes the network and the time a consumer holds a stream paused: the server holds the
 * statement open that long. A statement outside an explicit transaction is a transaction of its
 * own (autocommit on MySQL, an implicit transaction on PostgreSQL), so it counts as both.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 *
 * const clock = new SessionClock();
 * clock.beginTransaction();
 * await clock.time(() => new Promise((resolve) => setTimeout(resolve, 5)));
 * clock.stop();
 * const { longestStatementMs, longestTransactionMs } = clock.stats();
 * assert.ok(longestStatementMs >= 4 && longestTransactionMs >= longestStatementMs);
 * ```
 *
 * @module
 */
import type { SessionStats } from "./source.ts";

/** The longest statement and transaction of one connection, measured on the client. */
export class SessionClock {
  #longestStatement = 0;
  #longestTransaction = 0;
  /** Start times of the statements not ended yet. */
  readonly #running = new Set<{ start: number }>();
  /** Start time of the open explicit transaction. */
  #transactionStart: number | undefined;

  /** A statement is sent now; the returned function ends it (later calls do nothing). */
  statement(): () => void {
    const span = { start: performance.now() };
    this.#running.add(span);
    return () => {
      if (this.#running.delete(span)) this.#record(span.start, performance.now());
    };
  }

  /** Times `body` as one statement. */
  async time<T>(body: () => Promise<T>): Promise<T> {
    const end = this.statement();
    try {
      return await body();
    } finally {
      end();
    }
  }

  /** An explicit transaction opens now (it is sent with the statement that follows). */
  beginTransaction(): void {
    this.#transactionStart ??= performance.now();
  }

  /** The open transaction, if any, has ended. */
  endTransaction(): void {
    if (this.#transactionStart === undefined) return;
    const held = performance.now() - this.#transactionStart;
    this.#transactionStart = undefined;
    this.#longestTransaction = Math.max(this.#longestTransaction, held);
  }

  /** The connection is gone: whatever it still held on the server ends now. */
  stop(): void {
    const now = performance.now();
    for (const span of this.#running) this.#record(span.start, now);
    this.#running.clear();
    this.endTransaction();
  }

  /** The longest statement and transaction so far, those still open counted up to now. */
  stats(): SessionStats {
    const now = performance.now();
    let statement = this.#longestStatement;
    for (const span of this.#running) statement = Math.max(statement, now - span.start);
    const open = this.#transactionStart;
    const transaction = Math.max(
      this.#longestTransaction,
      open === undefined ? statement : now - open,
    );
    return { longestStatementMs: statement, longestTransactionMs: transaction };
  }

  #record(start: number, end: number): void {
    const held = end - start;
    this.#longestStatement = Math.max(this.#longestStatement, held);
    if (this.#transactionStart === undefined) {
      this.#longestTransaction = Math.max(this.#longestTransaction, held);
    }
  }
}
