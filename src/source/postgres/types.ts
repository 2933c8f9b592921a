/**
 * PostgreSQL result columns (type OID + typmod) resolved to the exact Arrow representation.
 *
 * Built-in types are known by OID; anything else (enums, domains, ranges, multiranges, composites,
 * geometric types, money, extension types such as citext or hstore, arrays of those) is looked up
 * in `pg_type` once per query. A type without a dedicated Arrow mapping is exported as the server's
 * own text output, which its type's input function reads back exactly (the contract `pg_dump`
 * relies on). What no Arrow type holds (an array of arrays) fails the query before any row is
 * read, naming the column and a cast that works.
 *
 * @module
 */
import { TypeMappingError } from "../../errors.ts";
import { DECIMAL128_MAX_PRECISION } from "../../arrow/decimal.ts";
import { displayIdent } from "./dialect.ts";

/** How a value is decoded, and into which builder. */
export type ScalarKind =
  | "bool"
  | "int16"
  | "int32"
  | "int64"
  | "oid"
  | "float32"
  | "float64"
  | "decimal"
  | "text"
  | "uuid"
  | "bytea"
  | "date"
  | "timestamp"
  | "timestamptz"
  | "time";

/** A resolved scalar (a column's type, or an array column's element type). */
export interface PgScalar {
  kind: ScalarKind;
  /** Decimal128 precision and scale (kind `decimal` only). */
  precision: number;
  scale: number;
  /** Annotation recorded in the Arrow field metadata. */
  logical?: "json" | "decimal";
  /**
   * The COPY query casts this column to text: its binary format is not its text (interval, inet,
   * unconstrained numeric, ...), while PostgreSQL's text output is exact.
   */
  castText: boolean;
}

/** One result column, resolved. */
export interface PgColumn {
  name: string;
  /** `rivet.source_type`: the PostgreSQL type name, with its modifier (`numeric(38,10)`, `_int4`). */
  sourceType: string;
  scalar: PgScalar;
  /** A one-dimensional array of `scalar` (List in Arrow). */
  isArray: boolean;
  /** The array text's element separator (`typdelim`): `;` for box, `,` for other built-ins. */
  delimiter: string;
}

/** The part of a RowDescription field this module needs. */
export interface PgField {
  name: string;
  dataTypeID: number;
  dataTypeModifier: number;
}

/** A `pg_type` row, for types not built in. */
export interface PgTypeRow {
  oid: number;
  name: string;
  /** `typtype`: b base, c composite, d domain, e enum, m multirange, p pseudo, r range. */
  type: string;
  /**
   * The element type of an array printed as array text, else 0. Not plain `typelem`: point's is
   * float8 (point subscripts) and int2vector's is int2, yet they print as `(1,2)` and `1 2`.
   */
  elem: number;
  /** `typbasetype` (domain base) or 0. */
  base: number;
  /** `typtypmod` (a domain's modifier) or -1. */
  typmod: number;
  /** `typdelim`: what separates this type's values in array text. */
  delimiter: string;
}

type Builtin = [name: string, kind: ScalarKind, castText?: boolean, logical?: "json"];

/** Built-in scalar types by OID (src/include/catalog/pg_type.dat). Numeric is handled apart. */
const BUILTIN: Record<number, Builtin> = {
  16: ["bool", "bool"],
  17: ["bytea", "bytea"],
  18: ["char", "text", true],
  19: ["name", "text"],
  20: ["int8", "int64"],
  21: ["int2", "int16"],
  23: ["int4", "int32"],
  24: ["regproc", "text", true],
  25: ["text", "text"],
  26: ["oid", "oid"],
  27: ["tid", "text", true],
  28: ["xid", "text", true],
  29: ["cid", "text", true],
  114: ["json", "text", false, "json"],
  142: ["xml", "text", true],
  650: ["cidr", "text", true],
  700: ["float4", "float32"],
  701: ["float8", "float64"],
  705: ["unknown", "text"],
  774: ["macaddr8", "text", true],
  829: ["macaddr", "text", true],
  869: ["inet", "text", true],
  1042: ["bpchar", "text"],
  1043: ["varchar", "text"],
  1082: ["date", "date"],
  1083: ["time", "time"],
  1114: ["timestamp", "timestamp"],
  1184: ["timestamptz", "timestamptz"],
  1186: ["interval", "text", true],
  1266: ["timetz", "text", true],
  1560: ["bit", "text", true],
  1562: ["varbit", "text", true],
  2202: ["regprocedure", "text", true],
  2203: ["regoper", "text", true],
  2204: ["regoperator", "text", true],
  2205: ["regclass", "text", true],
  2206: ["regtype", "text", true],
  2950: ["uuid", "uuid"],
  3220: ["pg_lsn", "text", true],
  3614: ["tsvector", "text", true],
  3615: ["tsquery", "text", true],
  3734: ["regconfig", "text", true],
  3802: ["jsonb", "text", true, "json"],
  4089: ["regnamespace", "text", true],
  4096: ["regrole", "text", true],
  5069: ["xid8", "text", true],
};

const NUMERIC = 1700;

/** Built-in array types: array OID -> element OID. */
const BUILTIN_ARRAYS: Record<number, number> = {
  1000: 16,
  1001: 17,
  1002: 18,
  1003: 19,
  1016: 20,
  1005: 21,
  1007: 23,
  1008: 24,
  1009: 25,
  1028: 26,
  1010: 27,
  1011: 28,
  1012: 29,
  199: 114,
  143: 142,
  651: 650,
  1021: 700,
  1022: 701,
  775: 774,
  1040: 829,
  1041: 869,
  1014: 1042,
  1015: 1043,
  1182: 1082,
  1183: 1083,
  1115: 1114,
  1185: 1184,
  1187: 1186,
  1270: 1266,
  1561: 1560,
  1563: 1562,
  1231: 1700,
  2207: 2202,
  2208: 2203,
  2209: 2204,
  2210: 2205,
  2211: 2206,
  2951: 2950,
  3221: 3220,
  3643: 3614,
  3645: 3615,
  3735: 3734,
  3807: 3802,
  4090: 4089,
  4097: 4096,
  271: 5069,
};

/** Extension base types whose text and binary forms are both plain text. */
const TEXT_EXTENSION_TYPES = new Set(["citext"]);

/** True when `oid` needs a `pg_type` lookup to be resolved. */
export function needsLookup(oid: number): boolean {
  return !(oid in BUILTIN) && !(oid in BUILTIN_ARRAYS) && oid !== NUMERIC;
}

/** The SQL that fetches `pg_type` rows for the OIDs in `$1` and everything they refer to. */
export const PG_TYPE_LOOKUP_SQL = `WITH RECURSIVE t(oid) AS (
  SELECT unnest($1::oid[])
  UNION
  SELECT x FROM pg_type p JOIN t ON p.oid = t.oid, LATERAL (VALUES (p.typelem), (p.typbasetype)) v(x)
  WHERE x <> 0
)
SELECT p.oid, p.typname, p.typtype,
  CASE WHEN p.typoutput = 'array_out'::regproc THEN p.typelem ELSE 0 END,
  p.typbasetype, p.typtypmod, p.typdelim
FROM pg_type p JOIN t ON p.oid = t.oid`;

/** Parses the text rows of {@link PG_TYPE_LOOKUP_SQL}. */
export function parseTypeRows(rows: (string | null)[][]): Map<number, PgTypeRow> {
  const catalog = new Map<number, PgTypeRow>();
  for (const r of rows) {
    const row: PgTypeRow = {
      oid: Number(r[0]),
      name: r[1] ?? "",
      type: r[2] ?? "",
      elem: Number(r[3]),
      base: Number(r[4]),
      typmod: Number(r[5]),
      delimiter: r[6] ?? ",",
    };
    catalog.set(row.oid, row);
  }
  return catalog;
}

/** Decodes numeric's typmod: precision and (since PostgreSQL 15, possibly negative) scale. */
function numericTypmod(typmod: number): { precision: number; scale: number } | undefined {
  if (typmod < 4) return undefined;
  const packed = typmod - 4;
  return { precision: (packed >> 16) & 0xffff, scale: ((packed & 0x7ff) ^ 1024) - 1024 };
}

/** The type name with its modifier, as `rivet.source_type` shows it. */
function withModifier(name: string, oid: number, typmod: number): string {
  if (typmod < 0) return name;
  switch (oid) {
    case NUMERIC: {
      const n = numericTypmod(typmod);
      return n === undefined ? name : `${name}(${n.precision},${n.scale})`;
    }
    case 1042:
    case 1043:
      return typmod >= 4 ? `${name}(${typmod - 4})` : name;
    case 1560:
    case 1562:
    case 1083:
    case 1114:
    case 1184:
    case 1266:
      return `${name}(${typmod})`;
  }
  return name;
}

function numericScalar(typmod: number): PgScalar {
  const n = numericTypmod(typmod);
  if (n !== undefined) {
    // Negative scale (numeric(5,-2)): the values are integers of precision - scale digits.
    const precision = n.scale < 0 ? n.precision - n.scale : Math.max(n.precision, n.scale);
    const scale = Math.max(n.scale, 0);
    if (precision <= DECIMAL128_MAX_PRECISION) {
      return { kind: "decimal", precision, scale, castText: false };
    }
  }
  // Wider than Decimal128 or unconstrained: the exact digits as text, never a double.
  return { kind: "text", precision: 0, scale: 0, logical: "decimal", castText: true };
}

interface Resolved {
  scalar: PgScalar;
  isArray: boolean;
  /** The array text's element separator (`,` when not an array: never used). */
  delimiter: string;
}

function single(scalar: PgScalar): Resolved {
  return { scalar, isArray: false, delimiter: "," };
}

/** The server's text; `castText` when the binary form is something else. */
function serverText(castText: boolean): Resolved {
  return single({ kind: "text", precision: 0, scale: 0, castText });
}

/** Resolves `oid` to a scalar or an array of one; follows domains. */
function resolve(
  oid: number,
  typmod: number,
  catalog: ReadonlyMap<number, PgTypeRow>,
  depth = 0,
): Resolved | { unsupported: string } {
  if (oid === NUMERIC) return single(numericScalar(typmod));
  const builtin = BUILTIN[oid];
  if (builtin !== undefined) {
    const [, kind, castText = false, logical] = builtin;
    return single({ kind, precision: 0, scale: 0, castText, logical });
  }
  const elemOid = BUILTIN_ARRAYS[oid];
  const row = catalog.get(oid);
  const arrayElem = elemOid ?? (row !== undefined && row.elem !== 0 ? row.elem : undefined);
  if (arrayElem !== undefined) {
    const elem = resolve(arrayElem, typmod, catalog, depth + 1);
    if (!("scalar" in elem) || elem.isArray) {
      return { unsupported: "unsupported" in elem ? `${elem.unsupported}[]` : "nested array" };
    }
    const delimiter = catalog.get(arrayElem)?.delimiter ?? ",";
    return { scalar: elem.scalar, isArray: true, delimiter };
  }
  if (row === undefined || depth > 16) return { unsupported: `type OID ${oid}` };
  switch (row.type) {
    case "d":
      return resolve(row.base, typmod >= 0 ? typmod : row.typmod, catalog, depth + 1);
    case "e":
      return serverText(false);
    case "b":
      if (TEXT_EXTENSION_TYPES.has(row.name)) return serverText(false);
  }
  // Geometric types, money, ranges, multiranges, composites, extension and pseudo types.
  return serverText(true);
}

/** The display name of `oid` (domain and enum names as declared; arrays as `_elem`). */
function typeName(oid: number, typmod: number, catalog: ReadonlyMap<number, PgTypeRow>): string {
  if (oid === NUMERIC) return withModifier("numeric", oid, typmod);
  const builtin = BUILTIN[oid];
  if (builtin !== undefined) return withModifier(builtin[0], oid, typmod);
  const elem = BUILTIN_ARRAYS[oid];
  if (elem !== undefined) return `_${typeName(elem, typmod, catalog)}`;
  return catalog.get(oid)?.name ?? `oid ${oid}`;
}

/**
 * Resolves every field; throws one {@link TypeMappingError} listing every column that has no exact
 * Arrow representation (an array of a domain over an array, a type missing from `pg_type`), with a
 * cast that fixes it.
 */
export function resolveColumns(
  fields: readonly PgField[],
  catalog: ReadonlyMap<number, PgTypeRow>,
): PgColumn[] {
  const columns: PgColumn[] = [];
  const problems: string[] = [];
  for (const f of fields) {
    const sourceType = typeName(f.dataTypeID, f.dataTypeModifier, catalog);
    const resolved = resolve(f.dataTypeID, f.dataTypeModifier, catalog);
    if ("scalar" in resolved) {
      columns.push({
        name: f.name,
        sourceType,
        scalar: resolved.scalar,
        isArray: resolved.isArray,
        delimiter: resolved.delimiter,
      });
    } else {
      const n = displayIdent(f.name);
      problems.push(
        `column ${n} has PostgreSQL type ${sourceType}, which has no exact Arrow mapping; ` +
          `cast it in the query, e.g. SELECT ${n}::text AS ${n}`,
      );
    }
  }
  if (problems.length > 0) throw new TypeMappingError(problems.join("; "));
  return columns;
}
