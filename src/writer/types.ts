/**
 * The Arrow types the writers accept: what rivet's sources produce, and nothing else.
 *
 * Both formats check the schema against this list before writing a byte. For Parquet this is also
 * a safety net: some types (e.g. unions) make the WASM encoder panic, which kills the process
 * instead of raising an error.
 *
 * @module
 */
import { DataType, DateUnit, type Field, Precision, TimeUnit } from "apache-arrow";
import { TypeMappingError } from "../errors.ts";

/**
 * True for Bool, Int8..Int64, UInt8..UInt64, Float32/64, Decimal128/256, Utf8, Binary, Date32,
 * Timestamp(us) with or without a time zone, Time64(us), Duration(us), and List or Dictionary of any
 * of these (Arrow JS's own helpers such as `tableFromArrays` make dictionary-encoded strings).
 */
function isSupportedType(type: DataType): boolean {
  if (DataType.isList(type)) return isSupportedType(type.children[0].type);
  if (DataType.isDictionary(type)) return isSupportedType(type.dictionary);
  return DataType.isBool(type) || DataType.isInt(type) ||
    (DataType.isFloat(type) && type.precision !== Precision.HALF) ||
    DataType.isDecimal(type) || DataType.isUtf8(type) || DataType.isBinary(type) ||
    (DataType.isDate(type) && type.unit === DateUnit.DAY) ||
    (DataType.isTimestamp(type) && type.unit === TimeUnit.MICROSECOND) ||
    (DataType.isTime(type) && type.unit === TimeUnit.MICROSECOND) ||
    (DataType.isDuration(type) && type.unit === TimeUnit.MICROSECOND);
}

/**
 * Checks every field of a schema.
 *
 * @throws {TypeMappingError} naming the first field whose type is not supported.
 */
export function assertSupportedFields(fields: readonly Field[], format: string): void {
  for (const field of fields) {
    if (!isSupportedType(field.type)) {
      throw new TypeMappingError(
        `column "${field.name}": ${format} output does not support Arrow type ${field.type}`,
      );
    }
  }
}
