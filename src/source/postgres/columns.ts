/**
 * Resolved columns -> Arrow schema and one typed builder ("sink") per column. Both streaming paths
 * fill the same sinks, which is what makes their output identical.
 *
 * @module
 */
import { Field, Schema } from "apache-arrow";
import type { ColumnBuilder } from "../../arrow/builder.ts";
import { Decimal128Builder } from "../../arrow/decimal.ts";
import {
  BoolBuilder,
  date32Builder,
  float32Builder,
  float64Builder,
  int16Builder,
  int32Builder,
  type NumberBuilder,
} from "../../arrow/fixed.ts";
import {
  type Int64Builder,
  int64Builder,
  time64Builder,
  timestampBuilder,
} from "../../arrow/int64.ts";
import { ListBuilder } from "../../arrow/list.ts";
import { BinaryBuilder, Utf8Builder } from "../../arrow/utf8.ts";
import { TypeMappingError } from "../../errors.ts";
import { displayIdent } from "./dialect.ts";
import type { PgColumn, PgScalar } from "./types.ts";
import { METADATA } from "../../arrow/metadata.ts";

/** A scalar kind paired with the builder it fills. */
export type ScalarSink =
  | { kind: "bool"; b: BoolBuilder }
  | { kind: "int16" | "int32" | "float32" | "float64" | "date"; b: NumberBuilder }
  | { kind: "int64" | "oid" | "time" | "timestamp" | "timestamptz"; b: Int64Builder }
  | { kind: "decimal"; b: Decimal128Builder }
  | { kind: "text" | "uuid"; b: Utf8Builder }
  | { kind: "bytea"; b: BinaryBuilder };

/**
 * A column's sink: a scalar, or a list whose elements go to `element` (`delimiter` separates them
 * in the array's text).
 */
export type ColumnSink = ScalarSink | {
  kind: "list";
  b: ListBuilder;
  element: ScalarSink;
  delimiter: string;
};

function scalarSink(scalar: PgScalar): ScalarSink {
  switch (scalar.kind) {
    case "bool":
      return { kind: "bool", b: new BoolBuilder() };
    case "int16":
      return { kind: "int16", b: int16Builder() };
    case "int32":
      return { kind: "int32", b: int32Builder() };
    case "float32":
      return { kind: "float32", b: float32Builder() };
    case "float64":
      return { kind: "float64", b: float64Builder() };
    case "date":
      return { kind: "date", b: date32Builder() };
    case "int64":
    case "oid":
      return { kind: scalar.kind, b: int64Builder() };
    case "time":
      return { kind: "time", b: time64Builder() };
    case "timestamp":
    case "timestamptz":
      return { kind: scalar.kind, b: timestampBuilder(scalar.kind === "timestamptz") };
    case "decimal":
      return { kind: "decimal", b: new Decimal128Builder(scalar.precision, scalar.scale) };
    case "text":
    case "uuid":
      return { kind: scalar.kind, b: new Utf8Builder() };
    case "bytea":
      return { kind: "bytea", b: new BinaryBuilder() };
  }
}

function jsonMetadata(scalar: PgScalar): Map<string, string> | undefined {
  return scalar.logical === "json" ? new Map([[METADATA.extensionName, "arrow.json"]]) : undefined;
}

/** Builds the Arrow schema and the sinks for `columns` (all fields nullable). */
export function createSinks(columns: readonly PgColumn[]): { schema: Schema; sinks: ColumnSink[] } {
  const fields: Field[] = [];
  const sinks: ColumnSink[] = [];
  for (const column of columns) {
    const metadata = new Map<string, string>([[METADATA.sourceType, column.sourceType]]);
    if (column.scalar.logical === "decimal") metadata.set(METADATA.logicalType, "decimal");
    let sink: ColumnSink;
    if (column.isArray) {
      const element = scalarSink(column.scalar);
      const b = new ListBuilder(element.b, jsonMetadata(column.scalar));
      sink = { kind: "list", b, element, delimiter: column.delimiter };
    } else {
      sink = scalarSink(column.scalar);
      if (column.scalar.logical === "json") metadata.set(METADATA.extensionName, "arrow.json");
    }
    fields.push(new Field(column.name, sink.b.type, true, metadata));
    sinks.push(sink);
  }
  return { schema: new Schema(fields), sinks };
}

/** The builders of `sinks`, in order, for `finishBatch`. */
export function buildersOf(sinks: readonly ColumnSink[]): ColumnBuilder[] {
  return sinks.map((s) => s.b);
}

/** A value that has no Arrow representation, e.g. `infinity` in a date column. */
export function unrepresentable(what: string): TypeMappingError {
  return new TypeMappingError(`${what}, which has no exact Arrow representation`);
}

/** Prefixes a value-level error with the column it happened in, plus a cast that avoids it. */
export function inColumn(error: unknown, column: PgColumn): unknown {
  if (!(error instanceof TypeMappingError)) return error;
  const n = displayIdent(column.name);
  return new TypeMappingError(
    `column ${n} (${column.sourceType}): ${error.message}; cast it in the query, e.g. ` +
      `SELECT ${n}::text AS ${n}`,
    { cause: error },
  );
}
