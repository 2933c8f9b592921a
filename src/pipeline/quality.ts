/**
 * The quality gate (spec "Data quality checks"): the export's `quality` rules, measured on the rows
 * as they are written and judged before anything is delivered. A failed rule fails the export with
 * a `DataIntegrityError` (exit code 3): nothing is delivered and the cursor stays.
 *
 * Measuring costs no query: rows and NULLs are counted, and each non-NULL value of a unique column
 * is hashed with XXH64 (seed 0) into a set of hashes, so memory depends on the number of distinct
 * values, never on their size. The hashed bytes are the value's own bytes for Binary and Utf8
 * columns and the UTF-8 of its CSV text (`arrow/text.ts`) for every other type, so two values
 * are the same exactly when they would be written the same. NULLs are not values: they never
 * repeat.
 *
 * Two different values share a 64-bit hash with odds of about d² / 2^65 over d distinct values
 * (3 in a million at {@link UNIQUE_VALUES_CAP}), which would report a repeat that is not there;
 * the error log says so. Past the cap a column's new values are still checked against the values
 * kept but no longer kept themselves, so a repeat among them alone goes unnoticed (warned once).
 *
 * @module
 */
import { type Data, DataType, type RecordBatch, type Schema } from "apache-arrow";
import { isNullAt, nullBitmap, type Renderer, rendererFor } from "../arrow/text.ts";
import type { ConfigSite, QualityConfig } from "../config/types.ts";
import { ConfigError, DataIntegrityError } from "../errors.ts";
import type { Source } from "../source/source.ts";
import { log } from "../util/log.ts";
import type { PieceGate } from "./gate.ts";
import { xxHash64 } from "./hashers.ts";

/**
 * Distinct values kept per `unique_columns` column. Each takes 8 bytes in a table at most 3/4 full,
 * so one column at the cap holds a 128 MiB table (192 MiB for a moment while the table doubles).
 */
export const UNIQUE_VALUES_CAP = 10_000_000;

// `observe` is synchronous, so concurrent pieces can never interleave on the shared hasher (nor on
// the scratch buffer below).

/** Below this length a hand-written ASCII loop beats `encodeInto`'s call overhead. */
const ASCII_FAST_PATH = 64;
const encoder = new TextEncoder();
/** A value's UTF-8 text; grows to the longest text seen. */
let scratch = new Uint8Array(256);

/** The UTF-8 of `text`, in the scratch buffer (valid until the next call). */
function utf8Of(text: string): Uint8Array {
  const n = text.length;
  // A UTF-16 code unit never needs more than 3 UTF-8 bytes.
  if (scratch.length < n * 3) scratch = new Uint8Array(n * 3);
  if (n <= ASCII_FAST_PATH) {
    let i = 0;
    for (; i < n; i++) {
      const c = text.charCodeAt(i);
      if (c >= 0x80) break;
      scratch[i] = c;
    }
    if (i === n) return scratch.subarray(0, n);
  }
  return scratch.subarray(0, encoder.encodeInto(text, scratch).written);
}

/** The quality gate of export `exportName` with `rules`, for rows of `schema`. */
export function qualityGate(exportName: string, rules: QualityConfig, schema: Schema): PieceGate {
  return new QualityGate(exportName, rules, schema);
}

/** NULLs counted in one `null_ratio_max` column. */
interface NullCount {
  column: string;
  index: number;
  max: number;
  nulls: number;
}

/** What one `unique_columns` column has seen. */
interface Uniqueness {
  column: string;
  index: number;
  /** Text of a value of any type but Binary and Utf8, whose stored bytes are hashed instead. */
  render: Renderer | undefined;
  hashes: HashSet64;
  values: number;
  /** Values whose hash was seen before. */
  repeats: number;
  /** A value arrived when the set was full, so `repeats` is a lower bound. */
  capped: boolean;
}

/** The `quality` rules of one export, measured over one piece's rows. */
export class QualityGate implements PieceGate {
  /** Reported in the summary as `quality: pass|FAIL`. */
  readonly name = "quality";
  readonly #exportName: string;
  readonly #rules: QualityConfig;
  readonly #uniqueCap: number;
  readonly #nulls: NullCount[];
  readonly #unique: Uniqueness[];
  #rows = 0;

  /**
   * Prepares the `rules` of export `exportName` for rows of `schema`, keeping at most
   * `uniqueCap` distinct values per unique column.
   *
   * @throws {ConfigError} when a rule names a column the query does not return.
   */
  constructor(
    exportName: string,
    rules: QualityConfig,
    schema: Schema,
    uniqueCap: number = UNIQUE_VALUES_CAP,
  ) {
    this.#exportName = exportName;
    this.#rules = rules;
    this.#uniqueCap = uniqueCap;
    this.#nulls = Object.entries(rules.nullRatioMax).map(([column, max]) => ({
      column,
      index: columnIndex(schema, column, rules.sites.nullRatioMax[column]),
      max,
      nulls: 0,
    }));
    this.#unique = rules.uniqueColumns.map((column, k) => {
      const index = columnIndex(schema, column, rules.sites.uniqueColumns[k]);
      const field = schema.fields[index];
      const raw = DataType.isBinary(field.type) || DataType.isUtf8(field.type);
      return {
        column,
        index,
        render: raw ? undefined : rendererFor(field),
        hashes: new HashSet64(),
        values: 0,
        repeats: 0,
        capped: false,
      };
    });
  }

  /** Counts the batch's rows and NULLs and remembers its unique columns' values. */
  observe(batch: RecordBatch): void {
    this.#rows += batch.numRows;
    const columns = batch.data.children;
    for (const count of this.#nulls) count.nulls += columns[count.index].nullCount;
    for (const unique of this.#unique) this.#observeUnique(unique, columns[unique.index]);
  }

  /** Judges every rule on what was observed (no query: `source` is not used). */
  verify(_source: Source): Promise<void> {
    const failed = this.#failedChecks();
    const label = `export '${this.#exportName}': quality`;
    if (failed.length === 0) {
      log.info(`${label} checks passed on ${this.#rows} rows`);
      return Promise.resolve();
    }
    for (const check of failed) log.error(`${label} check failed: ${check.detail}`);
    return Promise.reject(
      new DataIntegrityError(
        `quality checks failed: ${failed.map((c) => c.summary).join("; ")}`,
      ),
    );
  }

  #observeUnique(unique: Uniqueness, data: Data): void {
    const hasher = xxHash64();
    const bitmap = nullBitmap(data);
    const text = unique.render?.(data);
    const offsets = data.valueOffsets as Int32Array;
    const bytes = data.values as Uint8Array;
    for (let i = 0; i < data.length; i++) {
      if (bitmap && isNullAt(bitmap, data.offset, i)) continue;
      hasher.init();
      // hash-wasm would turn a string into a fresh `Buffer` per value; the scratch bytes are reused.
      hasher.update(text ? utf8Of(text(i)) : bytes.subarray(offsets[i], offsets[i + 1]));
      const hex = hasher.digest("hex");
      const hi = parseInt(hex.substring(0, 8), 16) | 0;
      const lo = parseInt(hex.substring(8, 16), 16) | 0;
      unique.values++;
      const keep = unique.hashes.size < this.#uniqueCap;
      if (unique.hashes.seen(hi, lo, keep)) {
        unique.repeats++;
      } else if (!keep && !unique.capped) {
        unique.capped = true;
        log.warn(
          `export '${this.#exportName}': quality: column '${unique.column}' has more than ${this.#uniqueCap} distinct values; its uniqueness is checked on the first ${this.#uniqueCap} only (later values are compared with those, not with each other)`,
        );
      }
    }
  }

  #failedChecks(): { summary: string; detail: string }[] {
    const failed: { summary: string; detail: string }[] = [];
    const rows = this.#rows;
    const { rowCountMin, rowCountMax } = this.#rules;
    if (rowCountMin !== undefined && rows < rowCountMin) {
      const summary = `row_count ${rows} below minimum ${rowCountMin}`;
      failed.push({ summary, detail: summary });
    }
    if (rowCountMax !== undefined && rows > rowCountMax) {
      const summary = `row_count ${rows} above maximum ${rowCountMax}`;
      failed.push({ summary, detail: summary });
    }
    for (const { column, max, nulls } of this.#nulls) {
      // No rows, no NULLs: an empty result is judged by row_count_min alone.
      const ratio = rows === 0 ? 0 : nulls / rows;
      if (ratio > max) {
        const summary = `column '${column}': null ratio ${ratio.toFixed(4)} above ${
          max.toFixed(4)
        }`;
        failed.push({ summary, detail: `${summary} (${nulls} NULLs in ${rows} rows)` });
      }
    }
    for (const u of this.#unique) {
      if (u.repeats === 0) continue;
      const count = `${u.capped ? "at least " : ""}${u.repeats} repeated value${
        u.repeats === 1 ? "" : "s"
      }`;
      const odds = (u.hashes.size ** 2 / 2 ** 65).toExponential(1);
      failed.push({
        summary: `column '${u.column}': ${count}`,
        detail:
          `column '${u.column}': ${count} among ${u.values} non-NULL values, so at least one value repeats (values are compared by 64-bit hash: the odds that a hash collision alone caused this are about ${odds})`,
      });
    }
    return failed;
  }
}

/**
 * The position of `column` in `schema`, or a `ConfigError` naming where the rule names it (file,
 * line, key) and the columns there are.
 */
function columnIndex(schema: Schema, column: string, site: ConfigSite): number {
  const index = schema.fields.findIndex((f) => f.name === column);
  if (index < 0) {
    throw new ConfigError(
      `${site.key}: the query returns no column '${column}' (its columns: ${
        schema.fields.map((f) => f.name).join(", ")
      })`,
      site,
    );
  }
  return index;
}

/**
 * A set of 64-bit hashes, each stored as two 32-bit halves in one typed array (8 bytes a slot,
 * open addressing with linear probing): a JS `Set` of bigints takes about 55 bytes an entry.
 */
class HashSet64 {
  /** `hi, lo` pairs as int32 (kept small integers, which V8 compares fastest); `0, 0`: empty. */
  #slots = new Int32Array(2 * 1024);
  #mask = 1023;
  /** The hash 0 itself, which an empty slot could not tell apart. */
  #zero = false;
  /** Hashes held. */
  size = 0;

  /** Whether the hash `hi, lo` is held; when it is not and `keep` is set, it is added. */
  seen(hi: number, lo: number, keep: boolean): boolean {
    if (hi === 0 && lo === 0) {
      if (this.#zero) return true;
      if (keep) {
        this.#zero = true;
        this.size++;
      }
      return false;
    }
    const slots = this.#slots;
    const slot = 2 * find(slots, this.#mask, hi, lo);
    if (slots[slot] !== 0 || slots[slot + 1] !== 0) return true;
    if (keep) {
      slots[slot] = hi;
      slots[slot + 1] = lo;
      if (++this.size * 4 > (this.#mask + 1) * 3) this.#grow();
    }
    return false;
  }

  #grow(): void {
    const old = this.#slots;
    const mask = 2 * (this.#mask + 1) - 1;
    const slots = new Int32Array(2 * (mask + 1));
    for (let k = 0; k < old.length; k += 2) {
      const hi = old[k];
      const lo = old[k + 1];
      if (hi === 0 && lo === 0) continue;
      const slot = 2 * find(slots, mask, hi, lo);
      slots[slot] = hi;
      slots[slot + 1] = lo;
    }
    this.#slots = slots;
    this.#mask = mask;
  }
}

/** The slot of `slots` holding `hi, lo`, or the empty slot where it would go. */
function find(slots: Int32Array, mask: number, hi: number, lo: number): number {
  // XXH64's bits are evenly spread, so its low bits are a fine start.
  let k = lo & mask;
  while (true) {
    const h = slots[2 * k];
    const l = slots[2 * k + 1];
    if ((h === hi && l === lo) || (h === 0 && l === 0)) return k;
    k = (k + 1) & mask;
  }
}
