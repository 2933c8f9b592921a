/**
 * The command-line interface: assembles the commands (one file each) and turns every outcome into
 * one clear line on stderr and a documented exit code.
 *
 * @module
 */
import { Command, CommanderError } from "commander";
import meta from "../../deno.json" with { type: "json" };
import { errorMessage, ExitCode, RivetError } from "../errors.ts";
import { log } from "../util/log.ts";
import { missingPermission, permissionLine } from "../util/permission_error.ts";
import { redact } from "../util/secrets.ts";
import { checkCommand } from "./check.ts";
import { completeExportsCommand } from "./complete_exports.ts";
import { completionsCommand } from "./completions.ts";
import { doctorCommand } from "./doctor.ts";
import { metricsCommand } from "./metrics.ts";
import type { SetExit } from "./options.ts";
import { printErr } from "./output.ts";
import { permissionsCommand } from "./permissions.ts";
import { runCommand } from "./run.ts";
import { schemaCommand } from "./schema.ts";
import { stateCommand } from "./state.ts";

/** The package version printed by `--version`. */
export const VERSION: string = meta.version;

/** Builds the program; `setExit` receives each command's exit code. */
function buildProgram(setExit: SetExit): Command {
  const program = new Command("rivet")
    .description("Export query results from PostgreSQL and MySQL to Parquet/CSV files")
    .version(VERSION, "-V, --version")
    .showHelpAfterError("(run with --help for usage)")
    .exitOverride()
    .configureOutput({ writeErr: (s) => printErr(s) });
  program.addCommand(runCommand(setExit));
  program.addCommand(stateCommand(setExit));
  program.addCommand(metricsCommand(setExit));
  program.addCommand(doctorCommand(setExit));
  program.addCommand(checkCommand(setExit));
  program.addCommand(permissionsCommand(setExit));
  program.addCommand(schemaCommand(setExit));
  program.addCommand(completionsCommand(setExit));
  program.addCommand(completeExportsCommand(setExit), { hidden: true });
  inheritSettings(program, program);
  return program;
}

/**
 * Gives every subcommand the program's output and error handling (commander copies them only to
 * commands created with `.command()`), and `--version` after any command, like `--help`.
 */
function inheritSettings(program: Command, command: Command): void {
  for (const sub of command.commands) {
    sub.copyInheritedSettings(program);
    sub.version(VERSION, "-V, --version");
    inheritSettings(program, sub);
  }
}

/**
 * Runs the CLI with `args` (without the program name) and returns the exit code.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { main } from "@rivet/cli";
 *
 * assert.equal(await main(["--version"]), 0);
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
    const missing = missingPermission(err);
    if (missing) {
      printErr(`error: ${redact(permissionLine(missing, configArg(args)))}\n`);
      return ExitCode.Usage;
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

/** The value of `--config` / `-c` in `args`, for hints; `undefined` when absent. */
function configArg(args: readonly string[]): string | undefined {
  for (const [i, arg] of args.entries()) {
    if (arg === "--config" || arg === "-c") return args[i + 1];
    if (arg.startsWith("--config=")) return arg.slice("--config=".length);
  }
  return undefined;
}
