/**
 * `rivet run`: runs the config's exports and prints a summary per export.
 *
 * @module
 */
import { Command } from "commander";
import { loadConfig } from "../config/load.ts";
import { ConfigError } from "../errors.ts";
import { slackNotifier } from "../notify/slack.ts";
import { type EventListener, safeListener } from "../pipeline/events.ts";
import { runExports, selectExports } from "../pipeline/run.ts";
import { formatSummary } from "../pipeline/summary.ts";
import { log } from "../util/log.ts";
import { collect, configOption, type SetExit } from "./options.ts";
import { summaryJson } from "./json_output.ts";
import { printErr, printOut } from "./output.ts";
import { ProgressDisplay, progressStyle } from "./progress_display.ts";

/** Options of `rivet run`. */
export interface RunCommandOptions {
  /** Path of the config file. */
  config: string;
  /** Only these exports. */
  export?: string[];
  /** `--validate`: re-read each file before delivery. */
  validate?: boolean;
  /** `--resume`: continue interrupted chunked runs. */
  resume?: boolean;
  /** `--reconcile`: prove each file matches the source column by column. */
  reconcile?: boolean;
  /** `--param key=value` pairs. */
  param?: Record<string, string>;
  /** `--json`: one JSON summary per line on stdout instead of the text blocks. */
  json?: boolean;
  /** `--quiet`: no progress output. */
  quiet?: boolean;
}

/** Parses repeated `--param key=value` flags. */
export function collectParam(
  value: string,
  previous: Record<string, string> = {},
): Record<string, string> {
  const eq = value.indexOf("=");
  if (eq <= 0) {
    throw new ConfigError(`--param expects key=value, got '${value}'`);
  }
  return { ...previous, [value.slice(0, eq)]: value.slice(eq + 1) };
}

/** The `run` command. */
export function runCommand(setExit: SetExit): Command {
  return new Command("run")
    .description("run all exports (or the ones named with --export)")
    .addOption(configOption())
    .option("-e, --export <name>", "run only this export (repeatable)", collect)
    .option("--validate", "re-read each file before upload and compare row counts")
    .option(
      "--resume",
      "continue interrupted chunked runs: deliver only the windows not yet delivered",
    )
    .option(
      "--reconcile",
      "before delivery, check each file against per-column aggregates computed by the database",
    )
    .option(
      "-p, --param <key=value>",
      "value for ${key} placeholders (repeatable; wins over env)",
      (v: string, prev: Record<string, string>) => collectParam(v, prev),
    )
    .option("--json", "print each summary as one JSON object per line on stdout")
    .option("-q, --quiet", "no progress output (the live line on a terminal, periodic log lines)")
    .action(async (opts: RunCommandOptions) => setExit(await run(opts)));
}

/** One listener that hands each event to every one of `listeners`, each failing alone. */
function fanOut(listeners: (EventListener | undefined)[]): EventListener {
  const safe = listeners.filter((l) => l !== undefined).map(safeListener);
  return (event) => {
    for (const listener of safe) listener(event);
  };
}

/** Runs the command; resolves to the process exit code. */
async function run(options: RunCommandOptions): Promise<number> {
  const config = await loadConfig(options.config, { params: options.param });
  const selected = selectExports(config, options.export);
  const toStdout = selected.find((e) => e.destination.type === "stdout");
  if (options.json && toStdout) {
    throw new ConfigError(
      `--json prints the summaries on stdout, where export '${toStdout.name}' writes its file; drop --json or run that export without it`,
    );
  }
  // File bytes own stdout when an export writes there; summaries move to stderr.
  const print = toStdout ? printErr : printOut;
  const render = options.json ? summaryJson : formatSummary;
  const slack = config.notifications?.slack && slackNotifier(config.notifications.slack);
  const controller = new AbortController();
  const onSignal = (signal: Deno.Signal) => () => {
    log.warn(`received ${signal}: stopping; the current export fails and leaves state unchanged`);
    controller.abort(new Error(`interrupted by ${signal}`));
  };
  const handlers = (["SIGINT", "SIGTERM"] as const).map((s) => [s, onSignal(s)] as const);
  for (const [s, h] of handlers) Deno.addSignalListener(s, h);
  const progress = new ProgressDisplay(progressStyle(options.quiet ?? false));
  try {
    const result = await runExports(config, {
      exports: options.export,
      validate: options.validate,
      resume: options.resume,
      reconcile: options.reconcile,
      signal: controller.signal,
      onSummary: (s) => print(render(s)),
      onEvent: fanOut([progress.listener, slack?.listener]),
    });
    return result.exitCode;
  } finally {
    progress.stop();
    // The process exits right after this returns: messages still in flight would be lost.
    await slack?.flush();
    for (const [s, h] of handlers) Deno.removeSignalListener(s, h);
  }
}
