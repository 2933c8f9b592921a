/**
 * `--validate` (spec "Validation semantics"): the staged file is read back before delivery and
 * its row count compared with the rows received from the source. Parquet is counted from its
 * footer, CSV with a real CSV parser (quoted newlines are not rows).
 *
 * @module
 */
import type { FormatName } from "../config/types.ts";
import { DataIntegrityError } from "../errors.ts";
import { csvRowCount, parquetRowCount } from "../writer/verify.ts";

/**
 * Throws a {@link DataIntegrityError} unless the file at `path` holds exactly `expected` rows.
 */
export async function validateRowCount(
  format: FormatName,
  path: string,
  expected: number,
): Promise<void> {
  const counted = format === "parquet" ? await parquetRowCount(path) : await csvRowCount(path);
  if (counted !== expected) {
    throw new DataIntegrityError(
      `validation failed: expected ${expected} rows, the file holds ${counted}`,
    );
  }
}
