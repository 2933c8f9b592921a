/**
 * `rivet schema`: prints the JSON Schema of `rivet.yaml` — the very schema the config loader
 * validates with — so that editors (the YAML language server) can complete and check configs.
 *
 * @module
 */
import { Command } from "commander";
import { CONFIG_SCHEMA } from "../config/schema.ts";
import { ExitCode } from "../errors.ts";
import type { SetExit } from "./options.ts";
import { printOut } from "./output.ts";

/** The `schema` command. */
export function schemaCommand(setExit: SetExit): Command {
  return new Command("schema")
    .description("print the JSON Schema of rivet.yaml (for editor completion and validation)")
    .action(() => {
      printOut(`${JSON.stringify(CONFIG_SCHEMA, null, 2)}\n`);
      setExit(ExitCode.Ok);
    });
}
