/**
 * An in-memory {@link Source} for pipeline tests: serves fixed record batches, can fail on a
 * chosen attempt, and records the queries it was asked to run.
 *
 * @module
 */
import { RecordBatch, type Schema, Table, tableFromIPC, tableToIPC } from "apache-arrow";
import type { Config } from "../../src/config/types.ts";
import type { ResultStream, Source, StreamOptions } from "../../src/source/source.ts";
import type { SqlQuery } from "../../src/sql.ts";

/** What the fake does on each attempt (1-based); missing entries succeed. */
export interface FakePlan {
  schema: Schema;
  batches: RecordBatch[];
  /** Throw this error instead of the batch with this index, on the given attempts. */
  failures?: { attempt: number; beforeBatch: number; error: Error }[];
  /** What `estimateRows` answers. */
  estimate?: number;
  /** What `primaryKey` answers, for any table. */
  primaryKey?: string[];
}

/** A factory usable as `RunOptions.openSource`, with counters. */
export class FakeSourceFactory {
  attempts = 0;
  closed = 0;
  queries: SqlQuery[] = [];
  /** Every batch handed out, in order. */
  yielded: RecordBatch[] = [];

  constructor(private readonly plan: FakePlan) {}

  open = (_config: Config["source"]): Promise<Source> => {
    const attempt = ++this.attempts;
    const plan = this.plan;
    const queries = this.queries;
    const yielded = this.yielded;
    const onClose = () => this.closed++;
    const source: Source = {
      query(query: SqlQuery, _options: StreamOptions): Promise<ResultStream> {
        queries.push(query);
        async function* batches() {
          for (const [i, batch] of plan.batches.entries()) {
            const failure = plan.failures?.find((f) =>
              f.attempt === attempt && f.beforeBatch === i
            );
            if (failure) throw failure.error;
            await Promise.resolve();
            // A copy, as a real source's batch is its own: the pipeline frees each one it wrote.
            const copy = copyOf(batch);
            yielded.push(copy);
            yield copy;
          }
        }
        return Promise.resolve({ schema: plan.schema, batches: batches() });
      },
      pinSnapshot() {
        return Promise.resolve(undefined);
      },
      estimateRows() {
        return Promise.resolve(plan.estimate);
      },
      explain() {
        return Promise.resolve({ rows: plan.estimate, scans: [], sorts: false });
      },
      primaryKey() {
        return Promise.resolve(plan.primaryKey);
      },
      stats() {
        return { longestStatementMs: 0, longestTransactionMs: 0 };
      },
      close() {
        onClose();
        return Promise.resolve();
      },
    };
    return Promise.resolve(source);
  };
}

/** `batch` with buffers of its own, under the very same schema object. */
function copyOf(batch: RecordBatch): RecordBatch {
  const copied = tableFromIPC(tableToIPC(new Table([batch]), "stream")).batches[0];
  return new RecordBatch(batch.schema, copied.data);
}
