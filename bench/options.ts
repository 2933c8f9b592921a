/**
 * The bench's options: command-line flags, each falling back to an environment variable, then to
 * the default.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { type DatasetName, DATASETS } from "./datasets.ts";
import { type Engine, ENGINES } from "./servers.ts";

/** How one bench run is set up. */
export interface BenchOptions {
  /** Multiplies every dataset's row count. */
  scale: number;
  /** Timed runs of every contender. */
  runs: number;
  datasets: DatasetName[];
  engines: Engine[];
  /** Drop and generate the datasets even when the tables are present and complete. */
  regenerate: boolean;
  /** URL of the PostgreSQL bench database (created through the `postgres` database). */
  postgresUrl: string;
  /** URL of the MariaDB bench database, as rivet's `mysql` source takes it. */
  mariadbUrl: string;
}

/** The usage text `--help` prints. */
export const USAGE = `deno task bench [options]

  --scale N         multiply every dataset's rows by N (default 1; env BENCH_SCALE)
  --dataset NAMES   comma-separated: lineitem,texty,wide,wide_small (default all;
                    wide brings wide_small along; env BENCH_DATASETS)
  --engine NAMES    comma-separated: postgres,mariadb (default both; env BENCH_ENGINES)
  --runs N          timed runs of each contender, alternating (default 3; env BENCH_RUNS)
  --regenerate      drop and generate the datasets again (env BENCH_REGENERATE=1)
  --help            this text

  env BENCH_PG_URL       default postgresql://postgres@127.0.0.1:5432/rivet_bench
  env BENCH_MARIADB_URL  default mysql://root@127.0.0.1:3306/rivet_bench`;

function list<T extends string>(
  text: string,
  allowed: readonly T[],
  what: string,
): T[] {
  const names = text.split(",").map((s) => s.trim()).filter((s) => s !== "");
  for (const name of names) {
    if (!(allowed as readonly string[]).includes(name)) {
      throw new Error(`unknown ${what} '${name}' (one of ${allowed.join(", ")})`);
    }
  }
  return allowed.filter((name) => names.includes(name));
}

function positive(text: string, what: string, integer: boolean): number {
  const n = Number(text);
  if (!Number.isFinite(n) || n <= 0 || (integer && !Number.isInteger(n))) {
    throw new Error(`${what} must be a positive ${integer ? "integer" : "number"}, not '${text}'`);
  }
  return n;
}

/** Parses `args` (and the environment); `undefined` when `--help` was asked for. */
export function parseOptions(args: string[]): BenchOptions | undefined {
  const { values } = parseArgs({
    args,
    options: {
      scale: { type: "string" },
      dataset: { type: "string" },
      engine: { type: "string" },
      runs: { type: "string" },
      regenerate: { type: "boolean" },
      help: { type: "boolean" },
    },
  });
  if (values.help) return undefined;
  const env = (name: string) => Deno.env.get(name);
  const datasets = list(
    values.dataset ?? env("BENCH_DATASETS") ?? DATASETS.map((d) => d.name).join(","),
    DATASETS.map((d) => d.name),
    "dataset",
  );
  return {
    scale: positive(values.scale ?? env("BENCH_SCALE") ?? "1", "--scale", false),
    runs: positive(values.runs ?? env("BENCH_RUNS") ?? "3", "--runs", true),
    // The peak RSS flatness check compares wide with wide_small: wide brings its small twin along.
    datasets: datasets.includes("wide") && !datasets.includes("wide_small")
      ? [...datasets, "wide_small"]
      : datasets,
    engines: list(values.engine ?? env("BENCH_ENGINES") ?? ENGINES.join(","), ENGINES, "engine"),
    regenerate: values.regenerate ?? env("BENCH_REGENERATE") === "1",
    postgresUrl: env("BENCH_PG_URL") ?? "postgresql://postgres@127.0.0.1:5432/rivet_bench",
    mariadbUrl: env("BENCH_MARIADB_URL") ?? "mysql://root@127.0.0.1:3306/rivet_bench",
  };
}
