/**
 * Object keys in a bucket (S3, GCS): the configured prefix, then the file name.
 *
 * @module
 */

/**
 * The key of `fileName` under `prefix`: exactly one `/` between them whether or not the prefix
 * ends in one (`exports` and `exports/` mean the same folder); an empty prefix is the bucket's top.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 *
 * assert.equal(objectKey("exports/daily", "a.parquet"), "exports/daily/a.parquet");
 * assert.equal(objectKey("exports/daily/", "a.parquet"), "exports/daily/a.parquet");
 * assert.equal(objectKey("", "a.parquet"), "a.parquet");
 * ```
 */
export function objectKey(prefix: string, fileName: string): string {
  if (prefix === "") return fileName;
  return prefix.endsWith("/") ? `${prefix}${fileName}` : `${prefix}/${fileName}`;
}
