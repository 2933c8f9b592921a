/**
 * The incremental cursor: where a run resumes (the stored value, refused when it belongs to another
 * column) and where the next one will (the last non-null value of the cursor column, read from the
 * exported rows, which arrive ordered by it), typed so the next run resumes exactly.
 *
 * @module
 */
import type { DataType, RecordBatch } from "apache-arrow";
import type { ExportConfig } from "../config/types.ts";
import { RivetError, TypeMappingError } from "../errors.ts";
import type { TypedValue } from "../sql.ts";
import type { StateStore } from "../state/store.ts";
import { log } from "../util/log.ts";
import { boundKind, valueReader } from "./typed_value.ts";

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
    if (!boundKind(field)) {
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
    const read = valueReader(batch.schema.fields[index], batch.getChildAt(index)!.data[0]);
    for (let i = batch.numRows - 1; i >= 0; i--) {
      const value = read(i);
      if (value !== undefined) {
        this.last = value;
        return;
      }
    }
  }
}
