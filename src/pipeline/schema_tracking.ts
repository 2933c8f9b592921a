/**
 * Schema tracking: the columns of each run are compared with the previous run's.
 *
 * @module
 */
import { type DataType, type Schema, Type } from "apache-arrow";
import type { ColumnInfo } from "../state/store.ts";

/** The differences between two column lists (column order is ignored). */
export interface SchemaDiff {
  added: string[];
  removed: string[];
  retyped: { name: string; from: string; to: string }[];
}

/** A stable, readable name for an Arrow type (apache-arrow prints decimals as `Decimal[10e+2]`). */
export function typeName(type: DataType): string {
  if (type.typeId === Type.Decimal) {
    const d = type as unknown as { precision: number; scale: number; bitWidth: number };
    return `Decimal${d.bitWidth}(${d.precision}, ${d.scale})`;
  }
  return String(type);
}

/** The columns of an Arrow schema as stored in state. */
export function columnsOf(schema: Schema): ColumnInfo[] {
  return schema.fields.map((f) => ({ name: f.name, type: typeName(f.type) }));
}

/** Compares the stored columns with the current ones; `undefined` when nothing changed. */
export function diffSchemas(
  previous: ColumnInfo[],
  current: ColumnInfo[],
): SchemaDiff | undefined {
  const before = new Map(previous.map((c) => [c.name, c.type]));
  const after = new Map(current.map((c) => [c.name, c.type]));
  const diff: SchemaDiff = {
    added: current.filter((c) => !before.has(c.name)).map((c) => c.name),
    removed: previous.filter((c) => !after.has(c.name)).map((c) => c.name),
    retyped: current.filter((c) => before.has(c.name) && before.get(c.name) !== c.type).map((
      c,
    ) => ({ name: c.name, from: before.get(c.name)!, to: c.type })),
  };
  return diff.added.length + diff.removed.length + diff.retyped.length > 0 ? diff : undefined;
}
