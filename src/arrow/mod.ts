/**
 * Fast Arrow column builders shared by the database sources.
 *
 * Fill one builder per column with typed `append*` calls, then {@link finishBatch} once per batch.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Field, Int32, Schema, Utf8 } from "apache-arrow";
 *
 * const schema = new Schema([new Field("id", new Int32(), true), new Field("name", new Utf8(), true)]);
 * const id = int32Builder();
 * const name = new Utf8Builder();
 * id.append(1);
 * name.append(null);
 * const batch = finishBatch(schema, [id, name]);
 * assert.equal(batch.numRows, 1);
 * assert.equal(batch.getChild("name")?.get(0), null);
 * ```
 *
 * @module
 */
export {
  batchTooLarge,
  type ColumnBuilder,
  type FinishedBuffers,
  grow,
  MAX_OFFSET,
  Validity,
  wrapData,
} from "./builder.ts";
export {
  BoolBuilder,
  date32Builder,
  float32Builder,
  float64Builder,
  int16Builder,
  int32Builder,
  NumberBuilder,
} from "./fixed.ts";
export {
  durationBuilder,
  Int64Builder,
  int64Builder,
  time64Builder,
  timestampBuilder,
} from "./int64.ts";
export { UInt64Builder } from "./uint64.ts";
export { DECIMAL128_MAX_PRECISION, Decimal128Builder } from "./decimal.ts";
export { BinaryBuilder, Utf8Builder } from "./utf8.ts";
export { ListBuilder } from "./list.ts";
export { finishBatch, pendingBytes } from "./batch.ts";
export { DAYS_1970_TO_2000, daysFromCivil, SECONDS_PER_DAY } from "./temporal.ts";
export { METADATA } from "./metadata.ts";
