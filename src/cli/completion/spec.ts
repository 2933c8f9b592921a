/**
 * The command tree as shell completion sees it, read from the commander definitions that also
 * produce `--help`: a command added or an option renamed changes both, with nothing to keep in
 * step by hand. Hidden commands and options stay hidden here too.
 *
 * @module
 */
import type { Command, Option } from "commander";

/**
 * What the word after an option, or a positional argument, can be:
 * - `config`: a config file (`*.yaml`, `*.yml`, or a directory on the way to one);
 * - `export`: an export name of the config given with `--config`, asked of `rivet` itself;
 * - `choice`: one of a fixed list;
 * - `text`: anything (nothing to offer).
 */
export type ValueKind =
  | { kind: "config" }
  | { kind: "export" }
  | { kind: "choice"; choices: readonly string[] }
  | { kind: "text" };

/** One option: every spelling, its help text, and its value if it takes one. */
export interface OptionSpec {
  /** `-c`, `--config`. */
  flags: string[];
  /** The `--help` text. */
  description: string;
  /** Absent for a switch (`--validate`). */
  value?: ValueKind;
}

/** One command, with what may follow it. */
export interface CommandSpec {
  /** The words that reach it: `["rivet", "state", "reset"]`. */
  path: string[];
  /** The `--help` summary. */
  description: string;
  /** Its visible subcommands. */
  commands: CommandSpec[];
  /** Its visible options, `--help` included. */
  options: OptionSpec[];
  /** Values of its positional arguments when they are a fixed list (`completions <shell>`). */
  argumentChoices: string[];
}

/**
 * Options whose values rivet itself can list: they are named by their long flag, the same in
 * every command that has them.
 */
const VALUE_KINDS: Readonly<Record<string, ValueKind>> = {
  "--config": { kind: "config" },
  "--export": { kind: "export" },
};

/**
 * Reads `program`'s visible commands and options, recursively.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Command } from "commander";
 *
 * const program = new Command("tool");
 * program.command("run").option("-c, --config <path>", "the config").option("--dry", "dry run");
 * const spec = commandSpec(program);
 * assert.deepEqual(spec.commands.map((c) => c.path.join(" ")), ["tool run", "tool help"]);
 * assert.deepEqual(spec.commands[0].options[0], {
 *   flags: ["-c", "--config"],
 *   description: "the config",
 *   value: { kind: "config" },
 * });
 * ```
 */
export function commandSpec(program: Command, path: string[] = [program.name()]): CommandSpec {
  const help = program.createHelp();
  return {
    path,
    description: help.subcommandDescription(program),
    commands: help.visibleCommands(program).map((sub) => commandSpec(sub, [...path, sub.name()])),
    options: help.visibleOptions(program).map(optionSpec),
    argumentChoices: program.registeredArguments.flatMap((a) => a.argChoices ?? []),
  };
}

function optionSpec(option: Option): OptionSpec {
  const flags = [option.short, option.long].filter((f): f is string => f !== undefined);
  const spec: OptionSpec = { flags, description: option.description };
  if (!option.required && !option.optional) return spec;
  const known = option.long === undefined ? undefined : VALUE_KINDS[option.long];
  const value: ValueKind = option.argChoices
    ? { kind: "choice", choices: option.argChoices }
    : known ?? { kind: "text" };
  return { ...spec, value };
}

/** Every command of the tree, the root first. */
export function allCommands(root: CommandSpec): CommandSpec[] {
  return [root, ...root.commands.flatMap(allCommands)];
}
