/**
 * The bench's datasets: each table's columns on both engines, the SQL that generates its rows and
 * the figures that prove an export of it complete and exact.
 *
 * - `lineitem`: the shape of TPC-H's `lineitem` (decimal(15,2), dates, short fixed and variable
 *   text), 6 M rows by default (TPC-H scale factor 1).
 * - `texty`: 300 K rows of about 2 KB of text (MD5 hex and words) and a JSON document each.
 * - `wide`: 1 M rows mixing every common type, about one value in ten NULL in every column but `id`.
 * - `wide_small`: `wide` at a tenth of its rows, to show peak memory does not grow with rows.
 *
 * @module
 */
import { type Dialect, pick, prefix, rnd, tenthNull, WORDS } from "./generator_sql.ts";
import type { Engine } from "./servers.ts";

/** The name of a dataset, which is also its table's. */
export type DatasetName = "lineitem" | "texty" | "wide" | "wide_small";

/** One column: its type on each engine and the expression generating its value from row `g`. */
export interface Column {
  name: string;
  type: Record<Engine, string>;
  value(d: Dialect): string;
}

/**
 * A figure computed over the source table and over every exported file, which must be equal:
 * the exact sum of a numeric column, the count of a column's non-NULL values, or the sum of a text
 * column's lengths in characters.
 */
export type Check =
  | {
    kind: "sum";
    column: string;
    /**
     * The DuckDB type a CSV field is cast to before summing: the column's own, since a cast to a
     * 128-bit type (HUGEINT, DECIMAL(38,s)) makes DuckDB's pass over the file some 20x slower.
     */
    csvType: string;
  }
  | { kind: "count"; column: string }
  | { kind: "length"; column: string };

/** One table the bench exports. */
export interface Dataset {
  name: DatasetName;
  /** Rows at scale 1. */
  defaultRows: number;
  columns: Column[];
  checks: Check[];
}

/** A column holding the same SQL type name on both engines. */
function same(name: string, type: string, value: (d: Dialect) => string): Column {
  return { name, type: { postgres: type, mariadb: type }, value };
}

/** `count` words joined by spaces, each picked with its own salt from `salt` on. */
function words(salt: number, count: number): string {
  const picked = Array.from({ length: count }, (_, i) => pick(salt + i, WORDS));
  return `CONCAT(${picked.join(", ' ', ")})`;
}

const SHIP_INSTRUCTIONS = ["DELIVER IN PERSON", "COLLECT COD", "NONE", "TAKE BACK RETURN"];
const SHIP_MODES = ["REG AIR", "AIR", "RAIL", "SHIP", "TRUCK", "MAIL", "FOB"];

// TPC-H: an order's line items ship 1..121 days after the order date (1992-01-01 + 0..2405 days),
// are committed 30..90 days after it and received 1..30 days after shipping.
const ORDER_DAY = rnd(20, 2406);
const SHIP_DAY = `${ORDER_DAY} + 1 + ${rnd(21, 121)}`;

const lineitem: Dataset = {
  name: "lineitem",
  defaultRows: 6_000_000,
  columns: [
    same("l_orderkey", "bigint", () => `((g - 1) - (g - 1) % 4) / 4 + 1`),
    same("l_partkey", "int", () => `1 + ${rnd(1, 200000)}`),
    same("l_suppkey", "int", () => `1 + ${rnd(2, 10000)}`),
    same("l_linenumber", "int", () => `(g - 1) % 4 + 1`),
    same("l_quantity", "decimal(15,2)", () => `1 + ${rnd(3, 50)}`),
    same(
      "l_extendedprice",
      "decimal(15,2)",
      () => `(1 + ${rnd(3, 50)}) * (90000 + ${rnd(4, 110001)}) * 0.01`,
    ),
    same("l_discount", "decimal(15,2)", () => `${rnd(5, 11)} * 0.01`),
    same("l_tax", "decimal(15,2)", () => `${rnd(6, 9)} * 0.01`),
    same("l_returnflag", "char(1)", () => pick(7, ["R", "A", "N"])),
    same("l_linestatus", "char(1)", () => pick(8, ["O", "F"])),
    same("l_shipdate", "date", (d) => d.addDays("1992-01-01", SHIP_DAY)),
    same(
      "l_commitdate",
      "date",
      (d) => d.addDays("1992-01-01", `${ORDER_DAY} + 30 + ${rnd(22, 61)}`),
    ),
    same(
      "l_receiptdate",
      "date",
      (d) => d.addDays("1992-01-01", `${SHIP_DAY} + 1 + ${rnd(23, 30)}`),
    ),
    same("l_shipinstruct", "char(25)", () => pick(9, SHIP_INSTRUCTIONS)),
    same("l_shipmode", "char(10)", () => pick(10, SHIP_MODES)),
    // 10..43 characters of words, as TPC-H's comments.
    same("l_comment", "varchar(44)", () => prefix(words(11, 5), `10 + ${rnd(16, 34)}`)),
  ],
  checks: [
    { kind: "sum", column: "l_extendedprice", csvType: "DECIMAL(15,2)" },
    { kind: "sum", column: "l_quantity", csvType: "DECIMAL(15,2)" },
    { kind: "sum", column: "l_orderkey", csvType: "BIGINT" },
  ],
};

/** About 2 KB (1,700..2,399 characters) of MD5 hex and words, different in every row. */
function body(d: Dialect): string {
  const blocks = Array.from(
    { length: 60 },
    // One CONCAT per block: PostgreSQL takes at most 100 arguments to a function.
    (_, k) => `CONCAT(${d.md5(`g * 64 + ${k}`)}, ' ', ${pick(30 + k, WORDS)}, ' ')`,
  );
  return prefix(`CONCAT(${blocks.join(", ")})`, `1700 + ${rnd(29, 700)}`);
}

const texty: Dataset = {
  name: "texty",
  defaultRows: 300_000,
  columns: [
    same("id", "bigint", () => "g"),
    same("title", "varchar(200)", () => `CONCAT(${words(1, 6)}, ' #', g)`),
    { name: "body", type: { postgres: "text", mariadb: "mediumtext" }, value: body },
    {
      name: "doc",
      type: { postgres: "jsonb", mariadb: "json" },
      value: (d) =>
        d.jsonObject([
          ["id", "g"],
          [
            "author",
            d.jsonObject([["name", `CONCAT('user_', ${rnd(7, 50000)})`], [
              "karma",
              rnd(8, 100000),
            ]]),
          ],
          ["tags", d.jsonArray([pick(9, WORDS), pick(10, WORDS), pick(11, WORDS)])],
          ["score", `${rnd(12, 100000)} * 0.01`],
          ["published", `${rnd(13, 2)} = 0`],
          ["summary", d.md5("g")],
        ]),
    },
  ],
  checks: [
    { kind: "sum", column: "id", csvType: "BIGINT" },
    { kind: "length", column: "body" },
    { kind: "count", column: "doc" },
  ],
};

const HOSTS = ["shop", "docs", "api", "cdn", "blog", "mail", "static", "news"];

const wideColumns: Column[] = [
  same("id", "bigint NOT NULL", () => "g"),
  same("c_smallint", "smallint", () => tenthNull(101, `${rnd(1, 65536)} - 32768`)),
  same("c_int", "int", () => tenthNull(102, `${rnd(2, 2147483587)} - 1073741824`)),
  same(
    "c_bigint",
    "bigint",
    () => tenthNull(103, `(${rnd(3, 2000000000)} - 1000000000) * 4611686`),
  ),
  same("c_bool", "boolean", () => tenthNull(104, `${rnd(4, 2)} = 0`)),
  {
    name: "c_real",
    type: { postgres: "real", mariadb: "float" },
    value: () => tenthNull(105, `(${rnd(5, 2000000)} - 1000000) * 0.001`),
  },
  {
    name: "c_double",
    type: { postgres: "double precision", mariadb: "double" },
    value: () => tenthNull(106, `(${rnd(6, 2000000000)} - 1000000000) * 0.000001`),
  },
  same(
    "c_numeric",
    "decimal(18,6)",
    () => tenthNull(107, `(${rnd(7, 2000000000)} - 1000000000) * 0.000997`),
  ),
  same(
    "c_label",
    "varchar(64)",
    () => tenthNull(108, `CONCAT(${pick(8, WORDS)}, '-', ${pick(9, WORDS)}, '-', g)`),
  ),
  {
    name: "c_url",
    type: { postgres: "text", mariadb: "varchar(512)" },
    value: (d) =>
      tenthNull(
        109,
        `CONCAT('https://', ${pick(10, HOSTS)}, '.example.com/', ${pick(11, WORDS)}, '/', ` +
          `${prefix(d.md5("g"), `8 + ${rnd(12, 25)}`)}, '?id=', g)`,
      ),
  },
  same("c_date", "date", (d) => tenthNull(110, d.addDays("1970-01-01", rnd(13, 25000)))),
  {
    name: "c_timestamp",
    type: { postgres: "timestamp", mariadb: "datetime(6)" },
    value: (d) =>
      tenthNull(
        111,
        d.addMicros("2000-01-01 00:00:00", `${rnd(14, 800000000)} * 1000000 + ${rnd(15, 1000000)}`),
      ),
  },
  {
    name: "c_timestamptz",
    type: { postgres: "timestamptz", mariadb: "timestamp(6) NULL" },
    value: (d) =>
      tenthNull(
        112,
        d.addMicrosUtc(
          "2000-01-01 00:00:00",
          `${rnd(16, 800000000)} * 1000000 + ${rnd(17, 1000000)}`,
        ),
      ),
  },
  {
    name: "c_time",
    type: { postgres: "time", mariadb: "time(6)" },
    value: (d) => tenthNull(113, d.timeOfDay(`${rnd(18, 86400)} * 1000000 + ${rnd(19, 1000000)}`)),
  },
  {
    name: "c_uuid",
    type: { postgres: "uuid", mariadb: "char(36)" },
    value: (d) => tenthNull(114, d.uuid(d.md5("g + 7777777777"))),
  },
  {
    name: "c_bytes",
    type: { postgres: "bytea", mariadb: "blob" },
    value: (d) =>
      tenthNull(
        115,
        d.bytes(prefix(`CONCAT(${d.md5("g")}, ${d.md5("g + 1")})`, `2 + 2 * ${rnd(20, 16)}`)),
      ),
  },
  {
    name: "c_json",
    type: { postgres: "jsonb", mariadb: "json" },
    value: (d) =>
      tenthNull(
        116,
        d.jsonObject([["k", pick(21, WORDS)], ["n", rnd(22, 1000000)], [
          "ok",
          `${rnd(23, 2)} = 0`,
        ]]),
      ),
  },
];

const wideChecks: Check[] = [
  { kind: "sum", column: "c_bigint", csvType: "BIGINT" },
  { kind: "sum", column: "c_int", csvType: "INTEGER" },
  { kind: "sum", column: "c_numeric", csvType: "DECIMAL(18,6)" },
  { kind: "count", column: "c_url" },
];

const wide: Dataset = {
  name: "wide",
  defaultRows: 1_000_000,
  columns: wideColumns,
  checks: wideChecks,
};

const wideSmall: Dataset = { ...wide, name: "wide_small", defaultRows: 100_000 };

/** Every dataset, in the order the bench measures them. */
export const DATASETS: readonly Dataset[] = [lineitem, texty, wide, wideSmall];

/** The dataset called `name`. */
export function datasetNamed(name: DatasetName): Dataset {
  const found = DATASETS.find((dataset) => dataset.name === name);
  if (!found) throw new Error(`no dataset '${name}'`);
  return found;
}

/** Rows of `dataset` at `scale`, at least one. */
export function rowsAt(dataset: Dataset, scale: number): number {
  return Math.max(1, Math.round(dataset.defaultRows * scale));
}
