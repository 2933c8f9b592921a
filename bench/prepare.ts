/**
 * Makes a dataset's table ready on a server and reads the source's own figures for it.
 *
 * A table is reused when the `bench_datasets` marker table records the fingerprint of exactly this
 * definition (columns, generator SQL and row count) and `COUNT(*)` agrees; otherwise, or when asked,
 * it is dropped and generated again. The marker is written last, so a generation that was
 * interrupted is never taken for a finished one.
 *
 * @module
 */
import type { Check, Dataset } from "./datasets.ts";
import { dialectOf } from "./generator_sql.ts";
import type { Server } from "./servers.ts";

/** What the source says about a dataset's table, to compare every export with. */
export interface SourceFacts {
  rows: number;
  /** Each check's exact figure, keyed by {@link checkLabel}, in {@link normaliseFigure} form. */
  figures: Record<string, string>;
  /** The table's size on disk: `pg_total_relation_size`, or InnoDB data plus index length. */
  relationBytes: number;
  /** Whether this bench run generated the table (false: reused). */
  generated: boolean;
}

/** Rows per `INSERT ... SELECT`, so that no transaction grows with the dataset. */
const INSERT_ROWS = 100_000;

/** A check's name in reports and in {@link SourceFacts.figures}, e.g. `sum(l_quantity)`. */
export function checkLabel(check: Check): string {
  return `${check.kind}(${check.column})`;
}

/**
 * A figure in one spelling for every reader: no trailing fraction zeros, no `-0`, so that
 * `12.50` (PostgreSQL) and `12.5` (another reader) compare equal while staying exact.
 */
export function normaliseFigure(text: string | null): string {
  if (text === null || text === "" || text === "NULL" || text === "\\N") return "NULL";
  const trimmed = text.includes(".") ? text.replace(/0+$/, "").replace(/\.$/, "") : text;
  return trimmed === "-0" ? "0" : trimmed;
}

function sourceFigure(server: Server, check: Check): string {
  const column = check.column;
  const sql = check.kind === "sum"
    ? `SUM(${column})`
    : check.kind === "count"
    ? `COUNT(${column})`
    : `SUM(CHAR_LENGTH(${column}))`;
  return server.engine === "postgres" ? `(${sql})::text` : `CAST(${sql} AS CHAR)`;
}

async function fingerprint(server: Server, dataset: Dataset, rows: number): Promise<string> {
  const dialect = dialectOf(server.engine);
  const definition = JSON.stringify({
    rows,
    columns: dataset.columns.map((c) => [c.name, c.type[server.engine], c.value(dialect)]),
  });
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(definition));
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

async function generate(server: Server, dataset: Dataset, rows: number): Promise<void> {
  const dialect = dialectOf(server.engine);
  const table = dataset.name;
  const names = dataset.columns.map((c) => c.name).join(", ");
  const values = dataset.columns.map((c) => c.value(dialect)).join(",\n  ");
  await server.query(
    `DELETE FROM bench_datasets WHERE name = '${table}';
     DROP TABLE IF EXISTS ${table};
     CREATE TABLE ${table} (${
      dataset.columns.map((c) => `${c.name} ${c.type[server.engine]}`).join(", ")
    });`,
  );
  const started = performance.now();
  for (let from = 1; from <= rows; from += INSERT_ROWS) {
    const to = Math.min(rows, from + INSERT_ROWS - 1);
    await server.query(
      `INSERT INTO ${table} (${names})\nSELECT\n  ${values}\nFROM ${dialect.series(from, to)};`,
    );
    const seconds = (performance.now() - started) / 1000;
    console.error(
      `  ${server.engine} ${table}: ${to.toLocaleString("en-US")} rows (${seconds.toFixed(0)} s)`,
    );
  }
  // Frozen and analysed, so no export pays for setting hint bits or planning blind.
  await server.query(
    server.engine === "postgres" ? `VACUUM (FREEZE, ANALYZE) ${table};` : `ANALYZE TABLE ${table};`,
  );
}

async function readFacts(
  server: Server,
  dataset: Dataset,
  generated: boolean,
): Promise<SourceFacts> {
  const figures = dataset.checks.map((check) => sourceFigure(server, check));
  const [row] = await server.query(
    `SELECT ${["COUNT(*)", ...figures].join(", ")} FROM ${dataset.name};`,
  );
  const [[bytes]] = await server.query(
    server.engine === "postgres"
      ? `SELECT pg_total_relation_size('${dataset.name}');`
      : `SELECT data_length + index_length FROM information_schema.tables
         WHERE table_schema = DATABASE() AND table_name = '${dataset.name}';`,
  );
  return {
    rows: Number(row[0]),
    figures: Object.fromEntries(
      dataset.checks.map((check, i) => [checkLabel(check), normaliseFigure(row[i + 1])]),
    ),
    relationBytes: Number(bytes),
    generated,
  };
}

/**
 * Makes `dataset`'s table hold `rows` generated rows on `server` (reusing it when it already
 * does, unless `regenerate`), and returns the source's figures for it.
 */
export async function prepareDataset(
  server: Server,
  dataset: Dataset,
  rows: number,
  regenerate: boolean,
): Promise<SourceFacts> {
  await server.query(
    `CREATE TABLE IF NOT EXISTS bench_datasets (
       name varchar(64) PRIMARY KEY, fingerprint char(64) NOT NULL);`,
  );
  const wanted = await fingerprint(server, dataset, rows);
  const [marker] = await server.query(
    `SELECT fingerprint FROM bench_datasets WHERE name = '${dataset.name}';`,
  );
  if (!regenerate && marker?.[0] === wanted) {
    const facts = await readFacts(server, dataset, false);
    if (facts.rows === rows) return facts;
    console.error(
      `  ${server.engine} ${dataset.name}: ${facts.rows} rows, not ${rows}: generating`,
    );
  }
  console.error(
    `  ${server.engine} ${dataset.name}: generating ${rows.toLocaleString("en-US")} rows`,
  );
  await generate(server, dataset, rows);
  await server.query(
    `INSERT INTO bench_datasets (name, fingerprint) VALUES ('${dataset.name}', '${wanted}');`,
  );
  return await readFacts(server, dataset, true);
}
