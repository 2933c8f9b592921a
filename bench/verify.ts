/**
 * Checks one export's files against the source with readers independent of rivet's writers: the
 * Parquet footers' row counts through hyparquet, every other figure (CSV records, exact sums,
 * non-NULL counts, text lengths) through DuckDB over all the files at once.
 *
 * @module
 */
import { DuckDBInstance } from "@duckdb/node-api";
import { asyncBufferFromFile, parquetMetadataAsync } from "hyparquet";
import type { Check, Dataset } from "./datasets.ts";
import { checkLabel, normaliseFigure, type SourceFacts } from "./prepare.ts";

/** An output format rivet writes. */
export type Format = "parquet" | "csv";

function literal(path: string): string {
  return `'${path.replaceAll("'", "''")}'`;
}

/** DuckDB's reading of the files; CSV as text, NULL only for an empty unquoted field (docs/types.md). */
function reader(files: string[], format: Format): string {
  const list = `[${files.map(literal).join(", ")}]`;
  return format === "parquet" ? `read_parquet(${list})` : `read_csv(${list}, header = true,
      delim = ',', quote = '"', escape = '"', all_varchar = true, allow_quoted_nulls = false,
      strict_mode = true)`;
}

function figure(check: Check, format: Format): string {
  const column = `"${check.column}"`;
  const value = check.kind === "sum" && format === "csv"
    ? `CAST(${column} AS ${check.csvType})`
    : column;
  const sql = check.kind === "sum"
    ? `SUM(${value})`
    : check.kind === "count"
    ? `COUNT(${value})`
    : `SUM(length(${value}))`;
  return `CAST(${sql} AS VARCHAR)`;
}

async function footerRows(files: string[]): Promise<number> {
  let rows = 0;
  for (const file of files) {
    const metadata = await parquetMetadataAsync(await asyncBufferFromFile(file));
    rows += Number(metadata.num_rows);
  }
  return rows;
}

/** Verifies export outputs; holds one DuckDB instance for the whole bench. */
export class Verifier {
  private constructor(private readonly duck: DuckDBInstance) {}

  /** Opens DuckDB in memory, bounded so that it does not crowd the measured processes. */
  static async open(): Promise<Verifier> {
    return new Verifier(
      await DuckDBInstance.create(":memory:", { memory_limit: "2GB", threads: "2" }),
    );
  }

  /**
   * Every way `files` (one export of `dataset`, in `format`) disagrees with the source's `facts`;
   * empty when the export is complete and exact as far as the checks see.
   */
  async problems(
    files: string[],
    format: Format,
    dataset: Dataset,
    facts: SourceFacts,
  ): Promise<string[]> {
    if (files.length === 0) return ["no output file"];
    const problems: string[] = [];
    const connection = await this.duck.connect();
    try {
      const selected = [
        "CAST(COUNT(*) AS VARCHAR)",
        ...dataset.checks.map((check) => figure(check, format)),
      ];
      const result = await connection.runAndReadAll(
        `SELECT ${selected.join(", ")} FROM ${reader(files, format)}`,
      );
      const [row] = result.getRows();
      const read = row.map((value) => (value === null ? null : String(value)));
      const rows = format === "parquet" ? await footerRows(files) : Number(read[0]);
      if (rows !== facts.rows) problems.push(`rows: source ${facts.rows}, output ${rows}`);
      if (format === "parquet" && Number(read[0]) !== facts.rows) {
        problems.push(`rows read by DuckDB: source ${facts.rows}, output ${read[0]}`);
      }
      dataset.checks.forEach((check, i) => {
        const label = checkLabel(check);
        const got = normaliseFigure(read[i + 1]);
        if (got !== facts.figures[label]) {
          problems.push(`${label}: source ${facts.figures[label]}, output ${got}`);
        }
      });
    } catch (error) {
      problems.push(`output unreadable: ${error instanceof Error ? error.message : error}`);
    } finally {
      connection.closeSync();
    }
    return problems;
  }

  /** Releases DuckDB. */
  close(): void {
    this.duck.closeSync();
  }
}
