/**
 * Reads a Parquet file back with DuckDB, an implementation independent of the writer's
 * (arrow-rs), returning exact values plus what the footer says about schema and codecs.
 *
 * Values are normalised so that tests can compare them exactly:
 * decimals are strings with exactly `scale` fraction digits, dates are days since 1970-01-01,
 * timestamps and times are bigint microseconds, binary is bytes, 64-bit integers are bigints,
 * lists are arrays.
 *
 * @module
 */
import {
  DuckDBBlobValue,
  DuckDBDateValue,
  DuckDBDecimalValue,
  DuckDBInstance,
  DuckDBListValue,
  DuckDBTimestampTZValue,
  DuckDBTimestampValue,
  DuckDBTimeValue,
  type DuckDBValue,
} from "@duckdb/node-api";

/** One value read back, normalised (see the module doc). */
export type ParquetValue =
  | null
  | boolean
  | number
  | bigint
  | string
  | Uint8Array
  | ParquetValue[];

/** One element of the Parquet schema, as DuckDB's `parquet_schema()` reports it. */
export interface ParquetSchemaElement {
  name: string;
  /** Physical type, e.g. `INT64`; null for groups. */
  type: string | null;
  convertedType: string | null;
  /** Thrift rendering, e.g. `TimestampType(isAdjustedToUTC=1, ...)`. */
  logicalType: string | null;
}

/** A Parquet file as DuckDB sees it. */
export interface ParquetReadback {
  /** Column names and DuckDB types, e.g. `DECIMAL(38,10)`, `TIMESTAMP WITH TIME ZONE`. */
  columns: { name: string; type: string }[];
  /** Rows in file order, keyed by column name. */
  rows: Record<string, ParquetValue>[];
  schema: ParquetSchemaElement[];
  /** Distinct codec names per column path (e.g. `l, list, item`), over all row groups. */
  codecs: Map<string, Set<string>>;
  /** Rows in each row group, in file order. */
  rowGroupRows: number[];
}

let instance: Promise<DuckDBInstance> | undefined;

async function connect() {
  instance ??= DuckDBInstance.create(":memory:");
  return await (await instance).connect();
}

/** Quotes `path` as a DuckDB string literal. */
export function sqlPath(path: string): string {
  return `'${path.replaceAll("'", "''")}'`;
}

/** Runs one DuckDB query (e.g. over `read_csv(...)`) and returns its rows, normalised. */
export async function queryDuckDB(sql: string): Promise<Record<string, ParquetValue>[]> {
  const connection = await connect();
  try {
    const result = await connection.runAndReadAll(sql);
    const names = result.columnNames();
    return result.getRows().map((row) =>
      Object.fromEntries(row.map((value, i) => [names[i], normalise(value)]))
    );
  } finally {
    connection.closeSync();
  }
}

/** Reads every row and the footer description of the Parquet file at `path`. */
export async function readParquet(path: string): Promise<ParquetReadback> {
  const connection = await connect();
  try {
    const file = sqlPath(path);
    const data = await connection.runAndReadAll(`SELECT * FROM read_parquet(${file})`);
    const columns = data.columnNames().map((name, i) => ({
      name,
      type: String(data.columnTypes()[i]),
    }));
    const names = data.columnNames();
    const rows = data.getRows().map((row) =>
      Object.fromEntries(row.map((value, i) => [names[i], normalise(value)]))
    );

    const schemaRows = await connection.runAndReadAll(
      `SELECT name, type, converted_type, logical_type FROM parquet_schema(${file})`,
    );
    const schema = schemaRows.getRows().map(([name, type, convertedType, logicalType]) => ({
      name: String(name),
      type: nullableText(type),
      convertedType: nullableText(convertedType),
      logicalType: nullableText(logicalType),
    }));

    const meta = await connection.runAndReadAll(
      `SELECT row_group_id, row_group_num_rows, path_in_schema, compression
       FROM parquet_metadata(${file}) ORDER BY row_group_id`,
    );
    const codecs = new Map<string, Set<string>>();
    const groups = new Map<number, number>();
    for (const [group, groupRows, columnPath, codec] of meta.getRows()) {
      groups.set(Number(group), Number(groupRows));
      const set = codecs.get(String(columnPath)) ?? new Set<string>();
      set.add(String(codec));
      codecs.set(String(columnPath), set);
    }
    return { columns, rows, schema, codecs, rowGroupRows: [...groups.values()] };
  } finally {
    connection.closeSync();
  }
}

function nullableText(value: DuckDBValue): string | null {
  return value === null ? null : String(value);
}

function normalise(value: DuckDBValue): ParquetValue {
  if (
    value === null || typeof value === "boolean" || typeof value === "number" ||
    typeof value === "bigint" || typeof value === "string"
  ) {
    return value;
  }
  if (value instanceof DuckDBDecimalValue) return decimalText(value.value, value.scale);
  if (value instanceof DuckDBBlobValue) return new Uint8Array(value.bytes);
  if (value instanceof DuckDBDateValue) return value.days;
  if (value instanceof DuckDBTimestampValue || value instanceof DuckDBTimestampTZValue) {
    return value.micros;
  }
  if (value instanceof DuckDBTimeValue) return value.micros;
  if (value instanceof DuckDBListValue) return value.items.map(normalise);
  throw new Error(`read_parquet: no normalisation for ${value.constructor.name}`);
}

function decimalText(unscaled: bigint, scale: number): string {
  const negative = unscaled < 0n;
  const digits = (negative ? -unscaled : unscaled).toString().padStart(scale + 1, "0");
  const point = digits.length - scale;
  const text = scale > 0 ? `${digits.slice(0, point)}.${digits.slice(point)}` : digits;
  return negative ? `-${text}` : text;
}
