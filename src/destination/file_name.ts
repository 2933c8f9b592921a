/**
 * Output file and run-id naming (UTC): `<export>_<YYYYMMDD_HHMMSS_mmm>[_chunk<i>][_part<n>].<ext>`
 * and `<export>_<YYYYMMDDTHHMMSS.mmm>`.
 *
 * @module
 */

function parts(at: Date) {
  const iso = at.toISOString(); // 2026-03-29T12:51:09.336Z
  return {
    date: iso.slice(0, 10).replaceAll("-", ""),
    time: iso.slice(11, 19).replaceAll(":", ""),
    ms: iso.slice(20, 23),
  };
}

/**
 * The file name for an export's output; `tags` name the piece and part (`chunk3`, `part0`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 *
 * const at = new Date("2026-03-29T12:52:00.123Z");
 * assert.equal(fileNameFor("orders", at, "parquet"), "orders_20260329_125200_123.parquet");
 * assert.equal(
 *   fileNameFor("orders", at, "csv", ["chunk3", "part1"]),
 *   "orders_20260329_125200_123_chunk3_part1.csv",
 * );
 * ```
 */
export function fileNameFor(
  exportName: string,
  at: Date,
  ext: string,
  tags: readonly string[] = [],
): string {
  const p = parts(at);
  const suffix = tags.map((t) => `_${t}`).join("");
  return `${exportName}_${p.date}_${p.time}_${p.ms}${suffix}.${ext}`;
}

/**
 * The run id linking a summary, its metrics row and its files.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 *
 * const at = new Date("2026-03-29T12:51:09.336Z");
 * assert.equal(runIdFor("orders", at), "orders_20260329T125109.336");
 * ```
 */
export function runIdFor(exportName: string, at: Date): string {
  const p = parts(at);
  return `${exportName}_${p.date}T${p.time}.${p.ms}`;
}

/** How many names to try for one file when names are taken (two runs in the same millisecond). */
export const MAX_NAME_ATTEMPTS = 1000;

/**
 * The names a file may be published under, in order: its own, then `stem_2.ext`, `stem_3.ext`...
 * Destinations never overwrite: they take the first free one.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 *
 * const names = candidateNames("orders.csv");
 * assert.deepEqual([names.next().value, names.next().value], ["orders.csv", "orders_2.csv"]);
 * ```
 */
export function* candidateNames(fileName: string): Generator<string> {
  const dot = fileName.lastIndexOf(".");
  const [stem, ext] = dot > 0 ? [fileName.slice(0, dot), fileName.slice(dot)] : [fileName, ""];
  yield fileName;
  for (let i = 2; i <= MAX_NAME_ATTEMPTS; i++) yield `${stem}_${i}${ext}`;
}
