/**
 * Commands the spec defines that a later release implements. They are hidden from `--help` but
 * answer with a clear "not available yet" instead of commander's "unknown command".
 *
 * @module
 */
import { Command } from "commander";
import { RivetError } from "../errors.ts";

/** The spec's commands still to come. */
const PLANNED = ["completions"];

/**
 * One placeholder command per planned command, with `parent`'s settings (output, exit override)
 * but accepting any arguments, so that every invocation gets the clear message.
 */
export function plannedCommands(parent: Command): Command[] {
  return PLANNED.map((name) =>
    new Command(name)
      .copyInheritedSettings(parent)
      .allowUnknownOption()
      .allowExcessArguments()
      .action(() => {
        throw new RivetError(`'rivet ${name}' is not available in this release yet`);
      })
  );
}
