/**
 * What the bench times on each dataset and engine: the server's own bulk export (the baselines)
 * and rivet through its real CLI (`deno run ... cli.ts run --config <generated config>`), each rivet
 * run a full export into a fresh directory with a fresh state database, checked and then deleted.
 *
 * @module
 */
import { join } from "node:path";
import { RUNTIME_FLAGS } from "../src/preflight/runtime_flags.ts";
import type { Dataset } from "./datasets.ts";
import { type Command, measure, type Measurement } from "./measure.ts";
import type { SourceFacts } from "./prepare.ts";
import type { Server } from "./servers.ts";
import type { Format, Verifier } from "./verify.ts";

/** The repository root, where `cli.ts` is. */
export const ROOT: string = new URL("..", import.meta.url).pathname;

/** Where rivet runs write, one directory per run, removed after the run is checked. */
export const SCRATCH: string = join(ROOT, "bench", "out");

/** One timed run. */
export interface Run extends Measurement {
  /** Bytes of every file a rivet run wrote (absent for baselines, which write to /dev/null). */
  outputBytes?: number;
  /** How the output disagrees with the source; empty when correct (always empty for baselines). */
  problems: string[];
  /** Seconds the output's checks took (rivet runs only; not part of the measurement). */
  verifySeconds?: number;
}

/** Something timed: a baseline or a rivet export. */
export interface Contender {
  /** Its label in the report, e.g. `psql \copy text` or `rivet parquet`. */
  what: string;
  /** For a rivet export: its format and the label of the baseline its wall time is divided by. */
  rivet?: { format: Format; baseline: string };
  /** Runs it once; `label` names the run's scratch directory. */
  run(label: string): Promise<Run>;
}

/** The baseline that measures the source bytes: PostgreSQL's text COPY, or `mariadb --quick`. */
export function primaryBaseline(server: Server, dataset: Dataset): Command {
  return baselines(server, dataset)[0].command;
}

function baselines(server: Server, dataset: Dataset): { what: string; command: Command }[] {
  const { cmd, args, env } = server.client;
  const select = `SELECT * FROM ${dataset.name}`;
  if (server.engine === "postgres") {
    return [
      {
        what: "psql \\copy text",
        command: { cmd, args: [...args, "-c", `\\copy (${select}) TO STDOUT`], env },
      },
      {
        what: "psql \\copy csv",
        command: { cmd, args: [...args, "-c", `\\copy (${select}) TO STDOUT (FORMAT csv)`], env },
      },
    ];
  }
  return [{
    what: "mariadb --quick",
    command: { cmd, args: [...args, "--quick", "-N", "-e", select], env },
  }];
}

/**
 * The permissions of the `rivet` task in deno.json, which also passes rivet's runtime flags: rivet
 * runs as users run it.
 */
const RIVET_PERMISSIONS = [
  "--allow-net",
  "--allow-env",
  "--allow-read",
  "--allow-write",
  "--allow-sys=osRelease,networkInterfaces",
];

/** Rivet's CLI with `cliArgs` (e.g. `run --config <path>`), run from source as the task runs it. */
export function rivetCommand(cliArgs: string[]): Command {
  return {
    cmd: Deno.execPath(),
    args: ["run", ...RIVET_PERMISSIONS, ...RUNTIME_FLAGS, join(ROOT, "cli.ts"), ...cliArgs],
    cwd: ROOT,
  };
}

function config(server: Server, dataset: Dataset, format: Format): string {
  return [
    "source:",
    `  type: ${server.engine === "postgres" ? "postgres" : "mysql"}`,
    `  url: ${JSON.stringify(server.url)}`,
    "  tuning: { profile: fast }",
    "exports:",
    `  - name: ${dataset.name}`,
    `    query: "SELECT * FROM ${dataset.name}"`,
    `    format: ${format}`,
    ...(format === "parquet" ? ["    compression: zstd"] : []),
    "    destination: { type: local, path: ./files }",
    "",
  ].join("\n");
}

async function filesUnder(dir: string): Promise<{ path: string; bytes: number }[]> {
  const found: { path: string; bytes: number }[] = [];
  for await (const entry of Deno.readDir(dir)) {
    const path = join(dir, entry.name);
    if (entry.isDirectory) found.push(...await filesUnder(path));
    else if (entry.isFile) found.push({ path, bytes: (await Deno.stat(path)).size });
  }
  return found;
}

function rivetExport(
  server: Server,
  dataset: Dataset,
  format: Format,
  baseline: string,
  facts: SourceFacts,
  verifier: Verifier,
): Contender {
  return {
    what: `rivet ${format}`,
    rivet: { format, baseline },
    async run(label) {
      const dir = join(SCRATCH, `${dataset.name}-${server.engine}-${format}-${label}`);
      await Deno.remove(dir, { recursive: true }).catch(() => {});
      await Deno.mkdir(dir, { recursive: true });
      try {
        const configPath = join(dir, "rivet.yaml");
        await Deno.writeTextFile(configPath, config(server, dataset, format));
        const measured = await measure(rivetCommand(["run", "--config", configPath]));
        const files = await filesUnder(join(dir, "files"));
        const data = files.filter((f) => f.path.endsWith(`.${format}`)).map((f) => f.path);
        const verifyStarted = performance.now();
        const problems = await verifier.problems(data, format, dataset, facts);
        return {
          ...measured,
          outputBytes: files.reduce((sum, f) => sum + f.bytes, 0),
          problems,
          verifySeconds: (performance.now() - verifyStarted) / 1000,
        };
      } finally {
        await Deno.remove(dir, { recursive: true });
      }
    },
  };
}

/** Every contender on `dataset` and `server`: the baselines first, then rivet's two formats. */
export function contenders(
  server: Server,
  dataset: Dataset,
  facts: SourceFacts,
  verifier: Verifier,
): Contender[] {
  const bases = baselines(server, dataset);
  // On PostgreSQL each format has its own baseline; MariaDB's client has one output form.
  const csvBaseline = bases.at(-1)!.what;
  return [
    ...bases.map(({ what, command }): Contender => ({
      what,
      run: async () => ({ ...await measure(command), problems: [] }),
    })),
    rivetExport(server, dataset, "parquet", bases[0].what, facts, verifier),
    rivetExport(server, dataset, "csv", csvBaseline, facts, verifier),
  ];
}
