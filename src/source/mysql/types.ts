/**
 * MySQL/MariaDB result columns (the field packets' type code, flags, character set, length and
 * decimals) resolved to their exact Arrow representation.
 *
 * | MySQL                              | Arrow                                              |
 * |------------------------------------|----------------------------------------------------|
 * | TINYINT(1) [UNSIGNED]              | Bool (a value other than 0/1 fails the read)       |
 * | TINYINT [UNSIGNED], SMALLINT, YEAR | Int16                                              |
 * | SMALLINT UNSIGNED, MEDIUMINT [U], INT | Int32                                           |
 * | INT UNSIGNED, BIGINT               | Int64                                              |
 * | BIGINT UNSIGNED                    | UInt64                                             |
 * | FLOAT / DOUBLE                     | Float32 (read widened: floats.ts) / Float64        |
 * | DECIMAL(p,s), p <= 38              | Decimal128(p,s)                                    |
 * | DECIMAL(p,s), p > 38               | Utf8, exact digits, `rivet.logical_type=decimal`   |
 * | CHAR, VARCHAR, TEXT, ENUM, SET     | Utf8                                               |
 * | JSON (MySQL)                       | Utf8, `ARROW:extension:name=arrow.json`            |
 * | BINARY, VARBINARY, BLOB (charset 63) | Binary                                           |
 * | DATE                               | Date32                                             |
 * | DATETIME(0..6)                     | Timestamp(us)                                      |
 * | TIMESTAMP(0..6)                    | Timestamp(us, "UTC") (the session time zone is UTC) |
 * | TIME(0..6)                         | Duration(us): the whole -838:59:59.999999..838:59:59.999999 |
 * | BIT(1) / BIT(2..63) / BIT(64)      | Bool / Int64 / UInt64                              |
 * | NULL (an untyped `SELECT NULL`)    | Utf8, every value NULL                             |
 * | GEOMETRY, POINT, ..., GEOMETRYCOLLECTION | Binary, WKB or EWKB (geometry.ts), `rivet.logical_type=wkb` |
 * | VECTOR, anything else              | TypeMappingError before any row is read            |
 *
 * Values with no exact Arrow form (zero dates, `2024-00-10`, TINYINT(1) = 5) fail the read with the
 * column, the value and a cast that works; nothing is clamped or nulled.
 *
 * @module
 */
import { TypeMappingError } from "../../errors.ts";
import { DECIMAL128_MAX_PRECISION } from "../../arrow/mod.ts";
import { displayIdent } from "./dialect.ts";

/** How a column is decoded, and into which builder. */
export type MysqlKind =
  | "bool"
  | "int16"
  | "int32"
  | "int64"
  | "uint64"
  | "float32"
  | "float64"
  | "decimal"
  | "text"
  | "binary"
  | "date"
  | "datetime"
  | "timestamp"
  | "time"
  | "bit"
  | "geometry"
  | "null";

/** One result column, resolved. */
export interface MysqlColumn {
  name: string;
  /** `rivet.source_type`: the MySQL type name, e.g. `decimal(10,2)`, `bigint unsigned`. */
  sourceType: string;
  kind: MysqlKind;
  /** Decimal precision and scale (kind `decimal`), or the BIT width (kind `bit`). */
  precision: number;
  scale: number;
  /** Annotation recorded in the Arrow field metadata. */
  logical?: "json" | "decimal" | "wkb";
  /**
   * A FLOAT the query reads as `col * 1e0`: the server sends its exact value as DOUBLE text, which
   * is decoded back to the single-precision value (kind `float32`).
   */
  widened?: boolean;
}

/** The part of a mysql2 column definition packet this module needs. */
export interface MysqlField {
  name: string;
  columnType?: number;
  flags: number | string[];
  characterSet?: number;
  columnLength?: number;
  decimals: number;
  /**
   * MariaDB's name for the column's type (e.g. `point`), sent as extended metadata when the client
   * negotiates it (mysql2 does); MySQL sends nothing.
   */
  extendedTypeName?: string;
}

/** Protocol type codes (MySQL `enum_field_types`). */
const T = {
  DECIMAL: 0,
  TINY: 1,
  SHORT: 2,
  LONG: 3,
  FLOAT: 4,
  DOUBLE: 5,
  NULL: 6,
  TIMESTAMP: 7,
  LONGLONG: 8,
  INT24: 9,
  DATE: 10,
  TIME: 11,
  DATETIME: 12,
  YEAR: 13,
  NEWDATE: 14,
  VARCHAR: 15,
  BIT: 16,
  TIMESTAMP2: 17,
  DATETIME2: 18,
  TIME2: 19,
  VECTOR: 242,
  JSON: 245,
  NEWDECIMAL: 246,
  ENUM: 247,
  SET: 248,
  TINY_BLOB: 249,
  MEDIUM_BLOB: 250,
  LONG_BLOB: 251,
  BLOB: 252,
  VAR_STRING: 253,
  STRING: 254,
  GEOMETRY: 255,
} as const;

const UNSIGNED_FLAG = 32;
const ENUM_FLAG = 256;
const SET_FLAG = 2048;
/** The `binary` character set: the bytes are not text. */
const BINARY_CHARSET = 63;
/** Spatial type names a GEOMETRY column may be declared with. */
const SPATIAL_TYPES = new Set([
  "geometry",
  "point",
  "linestring",
  "polygon",
  "multipoint",
  "multilinestring",
  "multipolygon",
  "geometrycollection",
]);

type Resolved = Omit<MysqlColumn, "name">;

function scalar(sourceType: string, kind: MysqlKind): Resolved {
  return { sourceType, kind, precision: 0, scale: 0 };
}

/** DECIMAL precision from the display length (`my_decimal_length_to_precision`). */
function decimalPrecision(length: number, scale: number, unsigned: boolean): number {
  return length - (scale > 0 ? 1 : 0) - (unsigned || length === 0 ? 0 : 1);
}

/** Fractional-second digits of a temporal column (31 means "not fixed": none was declared). */
function fsp(decimals: number): number {
  return decimals >= 1 && decimals <= 6 ? decimals : 0;
}

function withFsp(name: string, decimals: number): string {
  return fsp(decimals) > 0 ? `${name}(${fsp(decimals)})` : name;
}

/** Resolves one field, or returns a reason it cannot be exported exactly. */
function resolve(f: MysqlField): Resolved | { unsupported: string; cast: string } {
  const flags = typeof f.flags === "number" ? f.flags : 0;
  const unsigned = (flags & UNSIGNED_FLAG) !== 0;
  const u = unsigned ? " unsigned" : "";
  const binary = f.characterSet === BINARY_CHARSET;
  const length = f.columnLength ?? 0;
  switch (f.columnType) {
    case T.TINY:
      return length === 1 ? scalar(`tinyint(1)${u}`, "bool") : scalar(`tinyint${u}`, "int16");
    case T.SHORT:
      return scalar(`smallint${u}`, unsigned ? "int32" : "int16");
    case T.INT24:
      return scalar(`mediumint${u}`, "int32");
    case T.LONG:
      return scalar(`int${u}`, unsigned ? "int64" : "int32");
    case T.LONGLONG:
      return scalar(`bigint${u}`, unsigned ? "uint64" : "int64");
    case T.YEAR:
      return scalar("year", "int16");
    case T.FLOAT:
      return scalar(`float${u}`, "float32");
    case T.DOUBLE:
      return scalar(`double${u}`, "float64");
    case T.DECIMAL:
    case T.NEWDECIMAL: {
      const scale = f.decimals;
      const precision = decimalPrecision(length, scale, unsigned);
      const sourceType = `decimal(${precision},${scale})${u}`;
      if (precision >= 1 && precision <= DECIMAL128_MAX_PRECISION && scale <= precision) {
        return { sourceType, kind: "decimal", precision, scale };
      }
      return { ...scalar(sourceType, "text"), logical: "decimal" };
    }
    case T.DATE:
    case T.NEWDATE:
      return scalar("date", "date");
    case T.DATETIME:
    case T.DATETIME2:
      return scalar(withFsp("datetime", f.decimals), "datetime");
    case T.TIMESTAMP:
    case T.TIMESTAMP2:
      return scalar(withFsp("timestamp", f.decimals), "timestamp");
    case T.TIME:
    case T.TIME2:
      return scalar(withFsp("time", f.decimals), "time");
    case T.BIT:
      if (length <= 1) return scalar("bit(1)", "bool");
      return { sourceType: `bit(${length})`, kind: "bit", precision: length, scale: 0 };
    case T.NULL:
      return scalar("null", "null");
    case T.JSON:
      return { ...scalar("json", "text"), logical: "json" };
    case T.ENUM:
      return scalar("enum", "text");
    case T.SET:
      return scalar("set", "text");
    case T.STRING:
      if ((flags & ENUM_FLAG) !== 0) return scalar("enum", "text");
      if ((flags & SET_FLAG) !== 0) return scalar("set", "text");
      return binary ? scalar("binary", "binary") : scalar("char", "text");
    case T.VARCHAR:
    case T.VAR_STRING:
      return binary ? scalar("varbinary", "binary") : scalar("varchar", "text");
    case T.TINY_BLOB:
    case T.MEDIUM_BLOB:
    case T.LONG_BLOB:
    case T.BLOB:
      return binary ? scalar("blob", "binary") : scalar("text", "text");
    case T.GEOMETRY: {
      // The protocol has one type code for every spatial type; only MariaDB names the declared one.
      const name = f.extendedTypeName?.toLowerCase() ?? "";
      return { ...scalar(SPATIAL_TYPES.has(name) ? name : "geometry", "geometry"), logical: "wkb" };
    }
    case T.VECTOR:
      return { unsupported: "vector", cast: "VECTOR_TO_STRING(%)" };
    default:
      return { unsupported: `type code ${f.columnType}`, cast: "CAST(% AS CHAR)" };
  }
}

/**
 * How a non-NULL value of a column travels in the binary protocol (the rows of a prepared
 * statement; `binary_row.ts`): a little-endian integer of 1, 2, 4 or 8 bytes, signed (`i`) or not
 * (`u`); a float32 or float64; a length byte then packed date and time fields (`datetime`, for
 * DATE, DATETIME and TIMESTAMP) or duration fields (`time`); or a length-encoded string holding
 * the same bytes as the text protocol (`bytes`: DECIMAL, strings, BLOB, JSON, BIT, ENUM, SET,
 * GEOMETRY).
 */
export type BinaryWire =
  | "i8"
  | "u8"
  | "i16"
  | "u16"
  | "i32"
  | "u32"
  | "i64"
  | "u64"
  | "f32"
  | "f64"
  | "datetime"
  | "time"
  | "bytes";

/** The {@link BinaryWire} of `f`'s values. */
export function binaryWire(f: MysqlField): BinaryWire {
  const unsigned = typeof f.flags === "number" && (f.flags & UNSIGNED_FLAG) !== 0;
  switch (f.columnType) {
    case T.TINY:
      return unsigned ? "u8" : "i8";
    case T.SHORT:
    case T.YEAR:
      return unsigned || f.columnType === T.YEAR ? "u16" : "i16";
    case T.INT24:
    case T.LONG:
      return unsigned ? "u32" : "i32";
    case T.LONGLONG:
      return unsigned ? "u64" : "i64";
    case T.FLOAT:
      return "f32";
    case T.DOUBLE:
      return "f64";
    case T.DATE:
    case T.NEWDATE:
    case T.DATETIME:
    case T.DATETIME2:
    case T.TIMESTAMP:
    case T.TIMESTAMP2:
      return "datetime";
    case T.TIME:
    case T.TIME2:
      return "time";
    default:
      return "bytes";
  }
}

/** True for a single-precision FLOAT column (`FLOAT(p)` with p > 24 is reported as DOUBLE). */
export function isSingleFloat(f: MysqlField): boolean {
  return f.columnType === T.FLOAT;
}

/** Resolves one field as it was described, or undefined when it has no exact Arrow mapping. */
export function resolveField(f: MysqlField): MysqlColumn | undefined {
  const resolved = resolve(f);
  return "kind" in resolved ? { name: f.name, ...resolved } : undefined;
}

/**
 * Resolves every field; throws one {@link TypeMappingError} listing every column that has no exact
 * Arrow representation, each with a conversion that fixes it.
 *
 * `widened` holds, by position, the FLOAT definitions of the columns the query reads as
 * `col * 1e0`: such a column arrives as DOUBLE and is resolved as the FLOAT it is (Float32,
 * `rivet.source_type` `float`). Should it arrive as anything else, it is resolved as what it is.
 */
export function resolveColumns(
  fields: readonly MysqlField[],
  widened: ReadonlyMap<number, MysqlField> = new Map(),
): MysqlColumn[] {
  const columns: MysqlColumn[] = [];
  const problems: string[] = [];
  for (const [i, f] of fields.entries()) {
    const declared = widened.get(i);
    if (declared !== undefined && isSingleFloat(declared) && f.columnType === T.DOUBLE) {
      columns.push({ name: f.name, ...resolve(declared) as Resolved, widened: true });
      continue;
    }
    const resolved = resolve(f);
    if ("kind" in resolved) {
      columns.push({ name: f.name, ...resolved });
    } else {
      const n = displayIdent(f.name);
      problems.push(
        `column ${n} has MySQL type ${resolved.unsupported}, which has no exact Arrow mapping; ` +
          `convert it in the query, e.g. SELECT ${resolved.cast.replaceAll("%", n)} AS ${n}`,
      );
    }
  }
  if (problems.length > 0) throw new TypeMappingError(problems.join("; "));
  return columns;
}
