/**
 * Reads a CSV file back with csv-parse, an RFC 4180 parser independent of the writer, keeping the
 * difference between an empty unquoted field (NULL, returned as `null`) and `""` (empty string).
 *
 * @module
 */
import { parse } from "csv-parse";

/** One CSV record: its fields, `null` for an empty unquoted field. */
export type CsvRecord = (string | null)[];

/**
 * Parses the whole CSV file at `path` into records, the header first. Strict: every record must
 * have the header's width.
 */
export async function readCsv(path: string): Promise<CsvRecord[]> {
  const text = await Deno.readTextFile(path);
  return await new Promise<CsvRecord[]>((resolve, reject) => {
    parse(
      text,
      {
        cast: (value, context) => (value === "" && !context.quoting ? null : value),
        relax_column_count: false,
        skip_empty_lines: false,
      },
      (err, output: CsvRecord[] | undefined) => err ? reject(err) : resolve(output ?? []),
    );
  });
}
