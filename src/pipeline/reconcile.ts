/**
 * `--reconcile`: before a piece is delivered, prove its file matches the source column by column,
 * not only by row count. The database computes, in the piece's own snapshot (its connection is
 * pinned: the same transaction the rows were read in), per column: the count of non-NULL values,
 * and for integer and decimal columns their exact sum, for dates, times and timestamps their MIN
 * and MAX, for text and binary columns the MIN and MAX of their length in bytes. The same figures
 * are computed from the batches as they are written. Any difference fails the export before
 * delivery, naming the column and both values.
 *
 * Columns without an exact aggregate (floats, booleans, lists, geometries) are checked by their
 * non-NULL count only. The cost is one aggregate scan of each piece's rows on the source.
 *
 * @module
 */
import {
  type Data,
  DataType,
  type Field,
  makeData,
  type RecordBatch,
  type Schema,
} from "apache-arrow";
import { METADATA } from "../arrow/metadata.ts";
import { rendererFor } from "../arrow/text.ts";
import type { ExportConfig } from "../config/types.ts";
import { ConfigError, DataIntegrityError } from "../errors.ts";
import type { Piece } from "../plan/plan.ts";
import { dialectFor } from "../source/dialect.ts";
import type { Source } from "../source/source.ts";
import { log } from "../util/log.ts";
import type { ExportContext } from "./context.ts";
import type { PieceGate } from "./gate.ts";

/** What is compared for one column. */
type Measure = "sum" | "range" | "length";

/** The running figures of one column, from the written batches. */
interface ColumnTally {
  field: Field;
  index: number;
  measure?: Measure;
  count: number;
  sum: bigint;
  /** Decimal scale of `sum`. */
  scale: number;
  /** Extremes: raw values (range: days or microseconds) or byte lengths (length). */
  min?: number | bigint;
  max?: number | bigint;
}

/**
 * Refuses `--reconcile` for exports read by keyset paging, before anything runs: the comparison
 * needs the piece's rows and its aggregates from one snapshot, and keyset pages each have their own.
 */
export function refuseReconcileWithKeyset(exports: readonly ExportConfig[]): void {
  const keyset = exports.filter((e) => e.keyColumns);
  if (keyset.length === 0) return;
  throw new ConfigError(
    `--reconcile cannot check ${
      keyset.map((e) => `export '${e.name}'`).join(", ")
    }: key_column reads each page in its own snapshot, and reconciling needs one; select other exports with --export, or drop --reconcile`,
    { key: "key_column" },
  );
}

/** The reconcile gate of `piece`; its rows have `schema`. */
export function reconcileGate(ctx: ExportContext, piece: Piece, schema: Schema): PieceGate {
  const names = schema.fields.map((f) => f.name);
  const columns: ColumnTally[] = [];
  schema.fields.forEach((field, index) => {
    if (names.indexOf(field.name) !== index || names.lastIndexOf(field.name) !== index) {
      log.warn(
        `export '${ctx.exp.name}': column '${field.name}' appears more than once; --reconcile skips it`,
      );
      return;
    }
    columns.push({
      field,
      index,
      measure: measureOf(field),
      count: 0,
      sum: 0n,
      scale: scaleOf(field),
    });
  });
  return {
    name: "reconciled",
    observe(batch: RecordBatch): void {
      for (const c of columns) tallyColumn(c, batch.getChildAt(c.index)!.data[0]);
    },
    async verify(source: Source): Promise<void> {
      const dialect = dialectFor(ctx.config.source.type);
      const isPostgres = ctx.config.source.type === "postgres";
      const exprs: string[] = [];
      for (const c of columns) {
        const col = `_rivet_r.${dialect.quoteIdent(c.field.name)}`;
        exprs.push(`COUNT(${col})`);
        if (c.measure === "sum") exprs.push(`SUM(${col})`);
        if (c.measure === "range") exprs.push(`MIN(${col})`, `MAX(${col})`);
        if (c.measure === "length") {
          const len = byteLength(col, c.field, isPostgres);
          exprs.push(`MIN(${len})`, `MAX(${len})`);
        }
      }
      if (exprs.length === 0) return;
      const { schema: result, batches } = await source.query({
        text: `SELECT ${
          exprs.map((e, i) => `${e} AS r${i}`).join(", ")
        } FROM (${piece.query.text}\n) AS _rivet_r`,
        params: piece.query.params,
      }, { batchRows: 1, throttleMs: 0, signal: ctx.signal });
      let row: RecordBatch | undefined;
      for await (const batch of batches) row ??= batch;
      const server = (k: number): string => {
        const data = row?.getChildAt(k)?.data[0];
        if (!data || data.nullCount > 0) return "NULL";
        return rendererFor(result.fields[k])(data)(0);
      };
      const mismatches: string[] = [];
      let k = 0;
      for (const c of columns) {
        const compare = (what: string, file: string, same = (a: string, b: string) => a === b) => {
          const db = server(k++);
          if (!same(db, file)) {
            mismatches.push(
              `column '${c.field.name}': ${what} ${db} in the source, ${file} in the file`,
            );
          }
        };
        compare("non-NULL count", String(c.count));
        if (c.measure === "sum") {
          compare("sum", c.count === 0 ? "NULL" : decimalString(c.sum, c.scale), sameNumber);
        }
        if (c.measure === "range" || c.measure === "length") {
          const text = (e: ColumnTally["min"]) =>
            e === undefined ? "NULL" : c.measure === "length" ? String(e) : renderRaw(c.field, e);
          compare(
            c.measure === "length" ? "shortest value (bytes)" : "minimum",
            text(c.min),
            sameNumber,
          );
          compare(
            c.measure === "length" ? "longest value (bytes)" : "maximum",
            text(c.max),
            sameNumber,
          );
        }
      }
      if (mismatches.length > 0) {
        for (const m of mismatches) log.error(`export '${ctx.exp.name}': reconcile: ${m}`);
        throw new DataIntegrityError(`reconcile failed: ${mismatches.join("; ")}`);
      }
    },
  };
}

function measureOf(field: Field): Measure | undefined {
  const type = field.type;
  const logical = field.metadata.get(METADATA.logicalType);
  if (DataType.isInt(type) || DataType.isDecimal(type)) return "sum";
  if (DataType.isUtf8(type) && logical === "decimal") return "sum";
  if (DataType.isDate(type) || DataType.isTimestamp(type) || DataType.isTime(type)) return "range";
  if (DataType.isDuration(type)) return "range";
  if (DataType.isUtf8(type)) return "length";
  if (DataType.isBinary(type) && logical !== "wkb") return "length";
  return undefined;
}

function scaleOf(field: Field): number {
  return DataType.isDecimal(field.type) ? field.type.scale : 0;
}

/**
 * The byte length of a column's value as rivet writes it: PostgreSQL's `octet_length` of the
 * value itself for text and `bytea` (`char(n)` keeps its padding, as rivet does), and of its text
 * for types rivet exports as the server's text; MySQL's `LENGTH` (bytes).
 */
function byteLength(col: string, field: Field, isPostgres: boolean): string {
  if (!isPostgres) return `LENGTH(${col})`;
  const source = field.metadata.get(METADATA.sourceType) ?? "";
  const native = /^(text|varchar|bpchar|char|character|name|bytea|citext)\b/.test(source) ||
    DataType.isBinary(field.type);
  return native ? `octet_length(${col})` : `octet_length(${col}::text)`;
}

function tallyColumn(c: ColumnTally, data: Data): void {
  const n = data.length;
  const nulls = data.nullCount > 0 ? data.nullBitmap : undefined;
  const valid = (i: number) =>
    !nulls || (nulls[(data.offset + i) >> 3] & (1 << ((data.offset + i) & 7))) !== 0;
  for (let i = 0; i < n; i++) {
    if (!valid(i)) continue;
    c.count++;
    if (c.measure === "sum") c.sum += sumTerm(c, data, i);
    // sumTerm may have found the column has no exact sum; the loop goes on counting.
    else if (c.measure === "range") extremes(c, rawValue(data, i));
    else if (c.measure === "length") {
      const offsets = data.valueOffsets as Int32Array;
      extremes(c, offsets[i + 1] - offsets[i]);
    }
  }
}

function extremes(c: ColumnTally, value: number | bigint): void {
  if (c.min === undefined || value < c.min) c.min = value;
  if (c.max === undefined || value > c.max) c.max = value;
}

/**
 * A raw temporal value rendered as rivet writes it, through a one-value column of the field's
 * type (extremes keep only the number, never the batch it came from).
 */
function renderRaw(field: Field, value: number | bigint): string {
  const values = typeof value === "bigint" ? BigInt64Array.of(value) : Int32Array.of(value);
  const data = makeData({ type: field.type, length: 1, nullCount: 0, data: values } as never);
  return rendererFor(field)(data as Data)(0);
}

function rawValue(data: Data, i: number): number | bigint {
  return (data.values as ArrayLike<number | bigint>)[i];
}

/** The unscaled value of row `i` of an integer or decimal column, at the column's scale. */
function sumTerm(c: ColumnTally, data: Data, i: number): bigint {
  const type = c.field.type;
  if (DataType.isInt(type)) {
    const v = rawValue(data, i);
    return typeof v === "bigint" ? v : BigInt(v);
  }
  if (DataType.isDecimal(type)) {
    const words = data.values as Uint32Array;
    const stride = type.bitWidth / 32;
    let v = 0n;
    for (let k = stride - 1; k >= 0; k--) v = (v << 32n) | BigInt(words[i * stride + k]);
    return BigInt.asIntN(type.bitWidth, v);
  }
  // Exact decimal text of unknown scale: rescale the running sum to the larger scale.
  const text = rendererFor(c.field)(data)(i);
  if (!DECIMAL_TEXT.test(text)) {
    // NaN or ±Infinity (unconstrained numeric): no exact sum exists; compare the count only.
    c.measure = undefined;
    return 0n;
  }
  const { unscaled, scale } = parseDecimal(text);
  if (scale > c.scale) {
    c.sum *= 10n ** BigInt(scale - c.scale);
    c.scale = scale;
    return unscaled;
  }
  return unscaled * 10n ** BigInt(c.scale - scale);
}

/** A finite decimal as rivet writes it. */
const DECIMAL_TEXT = /^[-+]?\d+(\.\d+)?$/;

/** `12.50` → 1250n at scale 2. */
function parseDecimal(text: string): { unscaled: bigint; scale: number } {
  const negative = text.startsWith("-");
  const body = negative || text.startsWith("+") ? text.slice(1) : text;
  const [whole, fraction = ""] = body.split(".");
  const unscaled = BigInt(`${whole || "0"}${fraction}`);
  return { unscaled: negative ? -unscaled : unscaled, scale: fraction.length };
}

function decimalString(unscaled: bigint, scale: number): string {
  if (scale === 0) return String(unscaled);
  const negative = unscaled < 0n;
  const digits = String(negative ? -unscaled : unscaled).padStart(scale + 1, "0");
  return `${negative ? "-" : ""}${digits.slice(0, -scale)}.${digits.slice(-scale)}`;
}

/** Equal texts, or equal decimal numbers written at different scales (`5` and `5.00`). */
function sameNumber(a: string, b: string): boolean {
  if (a === b) return true;
  if (!DECIMAL_TEXT.test(a) || !DECIMAL_TEXT.test(b)) return false;
  const x = parseDecimal(a);
  const y = parseDecimal(b);
  const scale = Math.max(x.scale, y.scale);
  return x.unscaled * 10n ** BigInt(scale - x.scale) ===
    y.unscaled * 10n ** BigInt(scale - y.scale);
}
