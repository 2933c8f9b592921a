/**
 * A lenient read of a config for inspection commands (`state`, `metrics`): they need only the
 * state database location and the export names, and must work where the credentials or `${VAR}`s
 * of the full config are not available.
 *
 * @module
 */
import { dirname, join, resolve } from "node:path";
import { parse } from "yaml";
import { ConfigError } from "../errors.ts";
import { STATE_FILE } from "../state/store.ts";

/** The state database path and export names of a config file. */
export interface ConfigOutline {
  statePath: string;
  exportNames: string[];
}

/** Reads the outline of the config at `path`. */
export async function readOutline(path: string): Promise<ConfigOutline> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) {
      throw new ConfigError(`config file not found: ${path}`);
    }
    throw new ConfigError(`cannot read config file ${path}: ${(err as Error).message}`);
  }
  let data: unknown;
  try {
    data = parse(text);
  } catch (err) {
    throw new ConfigError(`${path}: YAML syntax error: ${(err as Error).message.split("\n")[0]}`);
  }
  const exports = (data as { exports?: unknown } | null)?.exports;
  const exportNames = Array.isArray(exports)
    ? exports.map((e) => (e as { name?: unknown } | null)?.name).filter((n): n is string =>
      typeof n === "string"
    )
    : [];
  return { statePath: join(dirname(resolve(path)), STATE_FILE), exportNames };
}

/** Throws a {@link ConfigError} unless `name` is an export of the config. */
export function requireExport(outline: ConfigOutline, name: string, path: string): void {
  if (!outline.exportNames.includes(name)) {
    throw new ConfigError(
      `unknown export '${name}' (exports in ${path}: ${outline.exportNames.join(", ") || "none"})`,
    );
  }
}
