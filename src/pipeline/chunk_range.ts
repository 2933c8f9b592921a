/**
 * Reads the chunk column's range over the export query (one aggregate statement on the run's
 * snapshot) and renders window bounds back into exact, typed values.
 *
 * @module
 */
import { type Data, DataType, DateUnit, TimeUnit } from "apache-arrow";
import { TypeMappingError } from "../errors.ts";
import type { ChunkRange } from "../plan/chunks.ts";
import { rangeQuery } from "../plan/chunks.ts";
import type { Dialect, TypedValue } from "../sql.ts";
import type { Source } from "../source/source.ts";
import { dateText, timeText } from "../writer/text.ts";

const MICROS_PER_DAY = 86_400_000_000n;

/**
 * The range of `chunkColumn` over `base`, or `undefined` when the query has no non-NULL value in
 * it (nothing to export).
 */
export async function readChunkRange(
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

/**
 * A window bound of `unit` as the typed value bound to the query: digits, `YYYY-MM-DD`, or ISO
 * 8601 with microseconds (plus `Z` for time-zoned columns).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 *
 * assert.deepEqual(renderBound("date", 19_723n), { kind: "date", text: "2024-01-01" });
 * assert.deepEqual(renderBound("timestamptz", 1_704_067_200_000_001n), {
 *   kind: "timestamptz",
 *   text: "2024-01-01T00:00:00.000001Z",
 * });
 * ```
 */
export function renderBound(unit: ChunkRange["unit"], value: bigint): TypedValue {
  switch (unit) {
    case "int":
      return { kind: "int", text: String(value) };
    case "date":
      return { kind: "date", text: dateText(Number(value)) };
    case "timestamp":
    case "timestamptz": {
      let days = value / MICROS_PER_DAY;
      if (value < 0n && days * MICROS_PER_DAY !== value) days -= 1n;
      const micros = Number(value - days * MICROS_PER_DAY);
      const text = `${dateText(Number(days))}T${timeText(micros)}`;
      return unit === "timestamp" ? { kind: unit, text } : { kind: unit, text: `${text}Z` };
    }
  }
}
