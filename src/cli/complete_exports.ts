/**
 * `rivet __complete-exports --config <path>`: the export names of a config, one a line, for the
 * completion scripts to offer after `--export`. Hidden from `--help`. It reads the config
 * leniently, like `state` and `metrics` do: no `${VAR}` needs to be set and nothing is contacted,
 * so pressing Tab is instant and safe.
 *
 * @module
 */
import { Command } from "commander";
import { readOutline } from "../config/outline.ts";
import { ExitCode } from "../errors.ts";
import { configOption, type SetExit } from "./options.ts";
import { printOut } from "./output.ts";

/** The hidden `__complete-exports` command. */
export function completeExportsCommand(setExit: SetExit): Command {
  return new Command("__complete-exports")
    .description("print the export names of a config, one a line (used by shell completion)")
    .addOption(configOption())
    .action(async (options: { config: string }) => {
      const outline = await readOutline(options.config);
      printOut(outline.exportNames.map((name) => `${name}\n`).join(""));
      setExit(ExitCode.Ok);
    });
}
