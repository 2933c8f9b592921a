/**
 * Assembles finished column builders into one Arrow RecordBatch, and measures the batch being
 * filled.
 *
 * @module
 */
import { makeData, RecordBatch, type Schema, Struct } from "apache-arrow";
import type { ColumnBuilder } from "./builder.ts";

/** Bytes of column data the builders hold for the batch being filled. */
export function pendingBytes(builders: readonly ColumnBuilder[]): number {
  let bytes = 0;
  for (const b of builders) bytes += b.byteLength;
  return bytes;
}

/**
 * Finishes every builder (which resets it for the next batch) and wraps the columns, zero-copy,
 * as a RecordBatch of `schema`. Builders must be in schema field order and of equal length.
 */
export function finishBatch(schema: Schema, builders: readonly ColumnBuilder[]): RecordBatch {
  const length = builders.length > 0 ? builders[0].length : 0;
  for (const b of builders) {
    if (b.length !== length) {
      throw new Error(`column builders disagree on the row count (${b.length} vs ${length})`);
    }
  }
  const children = builders.map((b) => b.finish());
  const data = makeData({ type: new Struct(schema.fields), length, nullCount: 0, children });
  return new RecordBatch(schema, data);
}
