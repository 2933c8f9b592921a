/**
 * The range of a column (MIN and MAX) over a query, read through any source in one aggregate
 * statement, as exact integers in the column's unit: chunked runs cut their windows from it and
 * `rivet check` reports it.
 *
 * @module
 */
import { type Data, DataType, DateUnit, TimeUnit } from "apache-arrow";
import { TypeMappingError } from "../errors.ts";
import type { ChunkRange } from "../plan/chunks.ts";
import { rangeQuery } from "../plan/chunks.ts";
import type { Dialect } from "../sql.ts";
import type { Source } from "./source.ts";

/**
 * The range of `chunkColumn` (any integer, date or timestamp column) over `base`, or `undefined` when the query has no non-NULL value in
 * it (nothing to export).
 */
export async function readColumnRange(
  source: Source,
  base: string,
  chunkColumn: string,
  dialect: Dialect,
  signal?: AbortSignal,
): Promise<ChunkRange | undefined> {
  const { schema, batches } = await source.query(rangeQuery(base, chunkColumn, dialect), {
    batchRows: 1,
    throttleMs: 0,
    signal,
  });
  let lo: Data | undefined;
  let hi: Data | undefined;
  for await (const batch of batches) {
    lo = batch.getChildAt(0)?.data[0];
    hi = batch.getChildAt(1)?.data[0];
  }
  const type = schema.fields[0].type;
  const unit = unitOf(type);
  if (unit === undefined) {
    throw new TypeMappingError(
      `chunk_column '${chunkColumn}' has type ${
        String(type)
      }; chunked mode needs an integer, date or timestamp column`,
    );
  }
  if (!lo || !hi || lo.nullCount > 0 || hi.nullCount > 0) return undefined;
  return { unit, min: valueAt(lo), max: valueAt(hi) };
}

function unitOf(type: DataType): ChunkRange["unit"] | undefined {
  if (DataType.isInt(type)) return "int";
  if (DataType.isDate(type) && type.unit === DateUnit.DAY) return "date";
  if (DataType.isTimestamp(type) && type.unit === TimeUnit.MICROSECOND) {
    return type.timezone ? "timestamptz" : "timestamp";
  }
  return undefined;
}

/** The first value of an integer, Date32 or Timestamp(us) column, exactly, as a bigint. */
function valueAt(data: Data): bigint {
  const v = (data.values as ArrayLike<number | bigint>)[data.offset];
  return typeof v === "bigint" ? v : BigInt(v);
}
