/**
 * `rivet completions <shell>`: prints a completion script for bash, zsh, fish or PowerShell,
 * generated from the program's own command definitions, so it completes exactly the commands
 * and options `--help` shows (and export names, through `rivet __complete-exports`).
 *
 * @module
 */
import { Argument, Command } from "commander";
import { ExitCode } from "../errors.ts";
import { bashScript } from "./completion/bash.ts";
import { fishScript } from "./completion/fish.ts";
import { powershellScript } from "./completion/powershell.ts";
import { type CommandSpec, commandSpec } from "./completion/spec.ts";
import { zshScript } from "./completion/zsh.ts";
import type { SetExit } from "./options.ts";
import { printOut } from "./output.ts";

/** The script generator of each supported shell. */
const SHELLS: Readonly<Record<string, (spec: CommandSpec) => string>> = {
  bash: bashScript,
  zsh: zshScript,
  fish: fishScript,
  powershell: powershellScript,
};

/** The `completions` command. */
export function completionsCommand(setExit: SetExit): Command {
  return new Command("completions")
    .description("print a shell completion script (bash, zsh, fish or powershell)")
    .addArgument(new Argument("<shell>", "the shell").choices(Object.keys(SHELLS)))
    .action((shell: string, _options: unknown, command: Command) => {
      printOut(SHELLS[shell](commandSpec(rootOf(command))));
      setExit(ExitCode.Ok);
    });
}

function rootOf(command: Command): Command {
  let root = command;
  while (root.parent) root = root.parent;
  return root;
}
