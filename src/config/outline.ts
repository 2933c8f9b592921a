/**
 * A lenient read of a config for inspection commands (`state`, `metrics`): they need only the
 * state database location and the export names, and must work where the credentials or `${VAR}`s
 * of the full config are not available.
 *
 * @module
 */
import { parse } from "yaml";
import { ConfigError, errorMessage } from "../errors.ts";
import { statePathFor } from "../state/store.ts";
import { requireExportNames } from "./select.ts";

/** The state database path and export names of a config file. */
export interface ConfigOutline {
  /** The config path as given. */
  path: string;
  /** The state database beside the config. */
  statePath: string;
  /** The names of the config's exports, in order. */
  exportNames: string[];
}

/**
 * Reads the outline of the config at `path`; when `exportName` is given, it must be one of the
 * config's exports.
 */
export async function readOutline(path: string, exportName?: string): Promise<ConfigOutline> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) {
      throw new ConfigError(`config file not found: ${path}`);
    }
    throw new ConfigError(`cannot read config file ${path}: ${errorMessage(err)}`);
  }
  let data: unknown;
  try {
    data = parse(text);
  } catch (err) {
    throw new ConfigError(`${path}: YAML syntax error: ${errorMessage(err).split("\n")[0]}`);
  }
  const exports = (data as { exports?: unknown } | null)?.exports;
  const exportNames = Array.isArray(exports)
    ? exports.map((e) => (e as { name?: unknown } | null)?.name).filter((n): n is string =>
      typeof n === "string"
    )
    : [];
  if (exportName !== undefined) requireExportNames(exportNames, [exportName], path);
  return { path, statePath: statePathFor(path), exportNames };
}
