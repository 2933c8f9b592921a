/**
 * The command-line interface: argument parsing (commander) and dispatch. Every failure ends as one
 * clear line on stderr and a documented exit code.
 *
 * @module
 */
import { Command, CommanderError, InvalidArgumentError, Option } from "commander";
import meta from "../../deno.json" with { type: "json" };
import { errorMessage, ExitCode, RivetError } from "../errors.ts";
import { log } from "../util/log.ts";
import { redact } from "../util/secrets.ts";
import { metricsCommand } from "./metrics.ts";
import { printErr } from "./output.ts";
import { collectParam, runCommand } from "./run.ts";
import { stateFiles, stateReset, stateShow } from "./state.ts";

/** The package version printed by `--version`. */
export const VERSION: string = meta.version;

/** Commands the spec defines that later releases implement. */
const PLANNED = ["check", "doctor", "completions"];

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError("expected a positive integer");
  return n;
}

function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

function configOption(): Option {
  return new Option("-c, --config <path>", "path to rivet.yaml").makeOptionMandatory();
}

/** Builds the program; `setExit` receives each command's exit code. */
function buildProgram(setExit: (code: number) => void): Command {
  const program = new Command("rivet")
    .description("Export query results from PostgreSQL and MySQL to Parquet/CSV files")
    .version(VERSION, "-V, --version")
    .showHelpAfterError("(run with --help for usage)")
    .exitOverride()
    .configureOutput({ writeErr: (s) => printErr(s) });

  program.command("run")
    .description("run all exports (or the ones named with --export)")
    .addOption(configOption())
    .option("-e, --export <name>", "run only this export (repeatable)", collect)
    .option("--validate", "re-read each file before upload and compare row counts")
    .option(
      "-p, --param <key=value>",
      "value for ${key} placeholders (repeatable; wins over env)",
      (v: string, prev: Record<string, string>) => collectParam(v, prev),
    )
    .action(async (opts) => setExit(await runCommand(opts)));

  const state = program.command("state").description("inspect or reset incremental state");
  state.command("show")
    .description("show the cursor of each incremental export")
    .addOption(configOption())
    .action(async (opts) => setExit(await stateShow(opts)));
  state.command("reset")
    .description("forget an export's cursor so the next run exports from scratch")
    .addOption(configOption())
    .requiredOption("-e, --export <name>", "the export to reset")
    .action(async (opts) => setExit(await stateReset(opts)));
  state.command("files")
    .description("show the file manifest (which run created which files)")
    .addOption(configOption())
    .option("-e, --export <name>", "only this export")
    .option("-l, --last <n>", "newest N files", positiveInt, 50)
    .action(async (opts) => setExit(await stateFiles(opts)));

  program.command("metrics")
    .description("show export run history")
    .addOption(configOption())
    .option("-e, --export <name>", "only this export")
    .option("-l, --last <n>", "newest N runs", positiveInt, 20)
    .action(async (opts) => setExit(await metricsCommand(opts)));

  // `--version` works after any command too (`rivet state show --version`), like `--help`.
  const addVersion = (command: Command): void => {
    for (const sub of command.commands) {
      sub.version(VERSION, "-V, --version");
      addVersion(sub);
    }
  };
  addVersion(program);

  for (const name of PLANNED) {
    program.command(name, { hidden: true })
      .allowUnknownOption()
      .allowExcessArguments()
      .action(() => {
        throw new RivetError(`'rivet ${name}' is not available in this release yet`);
      });
  }
  return program;
}

/**
 * Runs the CLI with `args` (without the program name) and returns the exit code.
 *
 * @example
 * ```ts
 * const code = await main(["run", "--config", "rivet.yaml"]);
 * ```
 */
export async function main(args: string[]): Promise<number> {
  let exitCode: number = ExitCode.Ok;
  const program = buildProgram((code) => exitCode = code);
  try {
    await program.parseAsync(args, { from: "user" });
    return exitCode;
  } catch (err) {
    if (err instanceof CommanderError) {
      // Help and version end with a "commander.helpDisplayed"/"commander.version" pseudo-error.
      return err.exitCode === 0 ? ExitCode.Ok : ExitCode.Usage;
    }
    if (err instanceof RivetError) {
      printErr(`error: ${redact(err.message)}\n`);
      return ExitCode.Usage;
    }
    printErr(`error: ${redact(errorMessage(err))}\n`);
    if (err instanceof Error && err.stack) log.debug(err.stack);
    return ExitCode.ExportFailed;
  }
}
