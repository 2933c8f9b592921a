/**
 * The incremental cursor: where a run resumes (the stored value, refused when it belongs to another
 * column) and where the next one will (the last non-null value of the cursor column, read from the
 * exported rows, which arrive ordered by it), typed so the next run resumes exactly.
 *
 * @module
 */
import { type DataType, type RecordBatch, Type } from "apache-arrow";
import type { ExportConfig } from "../config/types.ts";
import { RivetError, TypeMappingError } from "../errors.ts";
import { METADATA } from "../arrow/metadata.ts";
import type { TypedValue } from "../sql.ts";
import type { StateStore } from "../state/store.ts";
import { log } from "../util/log.ts";
import { isNullAt, nullBitmap, rendererFor } from "../writer/text.ts";

/**
 * The stored cursor an incremental export resumes after; `undefined` for other modes and on the
 * first run. A cursor stored for another `cursor_column` is refused: inheriting it would silently
 * skip or repeat rows.
 */
export function resumeCursor(store: StateStore, exp: ExportConfig): TypedValue | undefined {
  if (exp.mode.kind !== "incremental") return undefined;
  const column = exp.mode.cursorColumn;
  const state = store.cursor(exp.name);
  if (!state?.value) return undefined;
  if (state.column !== null && state.column !== column) {
    throw new RivetError(
      `cursor_column changed from '${state.column}' to '${column}' since the stored cursor (${state.value.text}); run 'rivet state reset --export ${exp.name}' to export from the beginning`,
    );
  }
  log.info(`export '${exp.name}': resuming after ${column} = ${state.value.text}`);
  return state.value;
}

/** Tracks the cursor column across batches. */
export class CursorTracker {
  private last: TypedValue | undefined;

  constructor(private readonly column: string) {}

  /** The value to store after a successful export, if any row had a non-null cursor. */
  get value(): TypedValue | undefined {
    return this.last;
  }

  /** Fails early (before any row is written) if the column is missing or has no exact cursor form. */
  check(fields: readonly { name: string; type: DataType; metadata: Map<string, string> }[]): void {
    const field = fields.find((f) => f.name === this.column);
    if (!field) {
      throw new TypeMappingError(
        `cursor_column '${this.column}' is not a column of the query result (columns: ${
          fields.map((f) => f.name).join(", ")
        })`,
      );
    }
    if (!cursorKind(field.type, field.metadata)) {
      throw new TypeMappingError(
        `cursor_column '${this.column}' has type ${
          String(field.type)
        }, which cannot be used as an incremental cursor (use an integer, decimal, date, timestamp or text column)`,
      );
    }
  }

  /** Notes the last non-null cursor value in `batch`. */
  observe(batch: RecordBatch): void {
    const index = batch.schema.fields.findIndex((f) => f.name === this.column);
    const field = batch.schema.fields[index];
    const data = batch.getChildAt(index)!.data[0];
    const bitmap = nullBitmap(data);
    for (let i = data.length - 1; i >= 0; i--) {
      if (bitmap && isNullAt(bitmap, data.offset, i)) continue;
      const kind = cursorKind(field.type, field.metadata)!;
      // Floats: the exact double (a float32 widened), not the shortest float32 text, which the
      // server would read back as a slightly different value and re-export the last row.
      // Everything else: the CSV renderer's text is exact (digits, ISO 8601 with µs).
      const text = kind === "float"
        ? String((data.values as Float32Array | Float64Array)[i])
        : rendererFor(field)(data)(i);
      this.last = { kind, text };
      return;
    }
  }
}

function cursorKind(type: DataType, metadata: Map<string, string>): TypedValue["kind"] | undefined {
  switch (type.typeId) {
    case Type.Int:
      return "int";
    case Type.Float:
      return "float";
    case Type.Decimal:
      return "decimal";
    case Type.Date:
      return "date";
    case Type.Timestamp:
      return (type as unknown as { timezone?: string | null }).timezone
        ? "timestamptz"
        : "timestamp";
    case Type.Utf8:
    case Type.LargeUtf8:
      return metadata.get(METADATA.logicalType) === "decimal" ? "decimal" : "text";
    default:
      return undefined;
  }
}
