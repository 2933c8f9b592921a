/**
 * `rivet run`: runs the config's exports and prints a summary per export.
 *
 * @module
 */
import { loadConfig } from "../config/load.ts";
import { runExports, selectExports } from "../pipeline/run.ts";
import { formatSummary } from "../pipeline/summary.ts";
import { ConfigError } from "../errors.ts";
import { log } from "../util/log.ts";
import { printErr, printOut } from "./output.ts";

/** Options of `rivet run`. */
export interface RunCommandOptions {
  config: string;
  export?: string[];
  validate?: boolean;
  param?: Record<string, string>;
}

/** Parses repeated `--param key=value` flags. */
export function collectParam(value: string, previous: Record<string, string> = {}) {
  const eq = value.indexOf("=");
  if (eq <= 0) {
    throw new ConfigError(`--param expects key=value, got '${value}'`);
  }
  return { ...previous, [value.slice(0, eq)]: value.slice(eq + 1) };
}

/** Runs the command; resolves to the process exit code. */
export async function runCommand(options: RunCommandOptions): Promise<number> {
  const config = await loadConfig(options.config, { params: options.param });
  const selected = selectExports(config, options.export);
  // File bytes own stdout when an export writes there; summaries move to stderr.
  const print = selected.some((e) => e.destination.type === "stdout") ? printErr : printOut;
  const controller = new AbortController();
  const onSignal = (signal: Deno.Signal) => () => {
    log.warn(`received ${signal}: stopping; the current export fails and leaves state unchanged`);
    controller.abort(new Error(`interrupted by ${signal}`));
  };
  const handlers = (["SIGINT", "SIGTERM"] as const).map((s) => [s, onSignal(s)] as const);
  for (const [s, h] of handlers) Deno.addSignalListener(s, h);
  try {
    const result = await runExports(config, {
      exports: options.export,
      validate: options.validate,
      signal: controller.signal,
      onSummary: (s) => print(formatSummary(s)),
    });
    return result.exitCode;
  } finally {
    for (const [s, h] of handlers) Deno.removeSignalListener(s, h);
  }
}
