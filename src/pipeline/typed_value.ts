/**
 * A cell as a typed value to bind to a later query (an incremental cursor, a keyset page's last
 * key): its kind from the Arrow type, its text exact, so that the server compares it with the
 * stored rows exactly as it compared the original.
 *
 * @module
 */
import { type Data, type DataType, type Field, Precision, Type } from "apache-arrow";
import { METADATA } from "../arrow/metadata.ts";
import type { TypedValue } from "../sql.ts";
import { isNullAt, nullBitmap, rendererFor } from "../arrow/text.ts";

/** The bound kind of a column, or `undefined` when its values cannot be compared exactly. */
export function boundKind(field: Pick<Field, "type" | "metadata">): TypedValue["kind"] | undefined {
  const type: DataType = field.type;
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
      return field.metadata.get(METADATA.logicalType) === "decimal" ? "decimal" : "text";
    default:
      return undefined;
  }
}

/**
 * Reads typed values out of one column's data; `undefined` for NULL. The column must have a
 * {@link boundKind}.
 */
export function valueReader(field: Field, data: Data): (i: number) => TypedValue | undefined {
  const kind = boundKind(field)!;
  const bitmap = nullBitmap(data);
  // Floats: the exact double (a float32 widened), not the shortest float32 text, which the
  // server would read back as a slightly different value. Everything else: the CSV renderer's
  // text is exact (digits, ISO 8601 with microseconds).
  const text = kind === "float"
    ? (i: number) => String((data.values as Float32Array | Float64Array)[i])
    : rendererFor(field)(data);
  return (i) => bitmap && isNullAt(bitmap, data.offset, i) ? undefined : { kind, text: text(i) };
}

/**
 * The typed value of a cell given as its CSV text (a column with a {@link boundKind}): the same
 * value {@link valueReader} reads from the cell's Arrow data.
 */
export function csvValue(field: Field, text: string): TypedValue {
  const kind = boundKind(field)!;
  if (kind !== "float") return { kind, text };
  // As valueReader: the exact double, a float32 widened (the CSV text is the float32's shortest).
  const value = Number(text);
  const single = (field.type as { precision?: Precision }).precision === Precision.SINGLE;
  return { kind, text: String(single ? Math.fround(value) : value) };
}
