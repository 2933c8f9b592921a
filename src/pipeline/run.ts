/**
 * Runs the selected exports of a config, one after another, and decides the exit code.
 *
 * @module
 */
import { join } from "node:path";
import type { Config, ExportConfig } from "../config/types.ts";
import { removeStagingDir } from "../destination/staging.ts";
import { openSource as defaultOpenSource } from "../source/open.ts";
import type { Source } from "../source/source.ts";
import { STATE_FILE, StateStore } from "../state/store.ts";
import { ConfigError, ExitCode } from "../errors.ts";
import { runExport } from "./run_export.ts";
import type { ExportSummary } from "./summary.ts";

/** Options for {@link runExports}. */
export interface RunOptions {
  /** Only these exports (by name, in config order); all when absent or empty. */
  exports?: string[];
  /** Re-read each file before commit and compare row counts. */
  validate?: boolean;
  /** Called with each summary as soon as its export ends (the CLI prints it). */
  onSummary?: (summary: ExportSummary) => void;
  /** Stops the run: the current export fails cleanly, later ones do not start. */
  signal?: AbortSignal;
  /** Source factory override (tests). */
  openSource?: (config: Config["source"]) => Promise<Source>;
}

/** The outcome of a run. */
export interface RunResult {
  summaries: ExportSummary[];
  /** 0 all succeeded or skipped; 2 some export failed; 3 a file failed validation. */
  exitCode: number;
}

/** Resolves `--export` names against the config; unknown names are a {@link ConfigError}. */
export function selectExports(config: Config, names: string[] = []): ExportConfig[] {
  if (names.length === 0) return config.exports;
  const known = new Set(config.exports.map((e) => e.name));
  const unknown = names.filter((n) => !known.has(n));
  if (unknown.length > 0) {
    throw new ConfigError(
      `unknown export ${unknown.map((n) => `'${n}'`).join(", ")} (exports in ${config.path}: ${
        [...known].join(", ")
      })`,
    );
  }
  const wanted = new Set(names);
  return config.exports.filter((e) => wanted.has(e.name));
}

/** The state database path for a config. */
export function statePath(config: Config): string {
  return join(config.dir, STATE_FILE);
}

/**
 * Runs exports and returns their summaries. Export failures are reported in the summaries and the
 * exit code, not thrown; only config-level problems throw.
 *
 * @example
 * ```ts
 * const config = await loadConfig("rivet.yaml");
 * const { summaries, exitCode } = await runExports(config, { exports: ["orders"] });
 * ```
 */
export async function runExports(config: Config, options: RunOptions = {}): Promise<RunResult> {
  const selected = selectExports(config, options.exports);
  const toStdout = selected.filter((e) => e.destination.type === "stdout");
  if (toStdout.length > 1) {
    throw new ConfigError(
      `exports ${
        toStdout.map((e) => `'${e.name}'`).join(", ")
      } all write to stdout and would interleave; run them one at a time with --export`,
    );
  }
  const store = StateStore.open(statePath(config));
  const summaries: ExportSummary[] = [];
  try {
    for (const exp of selected) {
      if (options.signal?.aborted) break;
      const summary = await runExport({
        config,
        exp,
        store,
        validate: options.validate ?? false,
        openSource: options.openSource ?? defaultOpenSource,
        signal: options.signal,
      });
      summaries.push(summary);
      options.onSummary?.(summary);
    }
  } finally {
    store.close();
    await removeStagingDir();
  }
  const failed = summaries.filter((s) => s.status === "failed");
  const exitCode = failed.some((s) => s.validated === false)
    ? ExitCode.DataIntegrity
    : failed.length > 0 || options.signal?.aborted
    ? ExitCode.ExportFailed
    : ExitCode.Ok;
  return { summaries, exitCode };
}
