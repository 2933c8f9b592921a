/**
 * Runs the selected exports of a config, one after another, and decides the exit code.
 *
 * @module
 */
import type { Config, ExportConfig } from "../config/types.ts";
import { requireExportNames } from "../config/select.ts";
import { refuseReconcileWithKeyset } from "./reconcile.ts";
import { closeEncoders } from "../writer/encoder_pool.ts";
import { dropRecycled } from "../arrow/recycle.ts";
import { removeAbandonedStaging, removeStagingDir } from "../destination/staging.ts";
import { ConfigError, ExitCode } from "../errors.ts";
import { openSource as defaultOpenSource } from "../source/open.ts";
import type { Source } from "../source/source.ts";
import { statePathFor, StateStore } from "../state/store.ts";
import { log } from "../util/log.ts";
import type { PipelineHooks } from "./context.ts";
import type { EventListener } from "./events.ts";
import { runExport } from "./run_export.ts";
import type { ExportSummary } from "./summary.ts";

/** Options for {@link runExports}. */
export interface RunOptions {
  /** Only these exports (by name, in config order); all when absent or empty. */
  exports?: string[];
  /** Re-read each file before commit and compare row counts. */
  validate?: boolean;
  /**
   * Prove each piece's file matches the source column by column before delivery, with aggregates
   * the database computes in the piece's own snapshot (one extra aggregate scan per piece).
   */
  reconcile?: boolean;
  /**
   * Continue each chunked export's newest interrupted run (only its windows not yet delivered)
   * instead of starting over; refused when the export's query, chunk column, chunk size or source
   * changed since that run was planned.
   */
  resume?: boolean;
  /** Called with each summary as soon as its export ends (the CLI prints it). */
  onSummary?: (summary: ExportSummary) => void;
  /**
   * Receives every event of the run as it happens (started, batch, retry, committed, finished).
   * A listener that throws is logged and ignored; it never fails an export.
   */
  onEvent?: EventListener;
  /** Stops the run: the current export fails cleanly, later ones do not start. */
  signal?: AbortSignal;
}

/** Opens a connection to the configured source for one attempt. */
export type SourceOpener = (config: Config["source"]) => Promise<Source>;

/** The outcome of a run. */
export interface RunResult {
  /** One summary per export that ran, in config order. */
  summaries: ExportSummary[];
  /** 0 all succeeded or skipped; 2 some export failed; 3 a file failed an integrity check. */
  exitCode: number;
}

/** Resolves `--export` names against the config; unknown names are a {@link ConfigError}. */
export function selectExports(config: Config, names: string[] = []): ExportConfig[] {
  if (names.length === 0) return config.exports;
  requireExportNames(config.exports.map((e) => e.name), names, config.path);
  const wanted = new Set(names);
  return config.exports.filter((e) => wanted.has(e.name));
}

/**
 * Runs exports and returns their summaries. Export failures are reported in the summaries and the
 * exit code, not thrown; only config-level problems throw.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { loadConfig, runExports } from "@rivet/cli";
 *
 * const dir = await Deno.makeTempDir();
 * await Deno.writeTextFile(
 *   `${dir}/rivet.yaml`,
 *   [
 *     "source:",
 *     "  type: postgres",
 *     "  url: postgresql://app:secret@127.0.0.1:1/shop # nothing listens on port 1",
 *     "  tuning: { max_retries: 0 }",
 *     "exports:",
 *     "  - { name: orders, query: SELECT * FROM orders, destination: { type: local, path: out } }",
 *   ].join("\n"),
 * );
 * const config = await loadConfig(`${dir}/rivet.yaml`);
 * const events: string[] = [];
 * const { summaries, exitCode } = await runExports(config, {
 *   onEvent: (event) => events.push(event.type),
 * });
 * assert.equal(exitCode, 2); // an export failed: reported, not thrown
 * assert.equal(summaries[0].status, "failed");
 * assert.doesNotMatch(summaries[0].error!, /secret/); // credentials are never reported
 * assert.deepEqual(events, ["started", "finished"]);
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export function runExports(config: Config, options: RunOptions = {}): Promise<RunResult> {
  return runExportsWith(config, options, defaultOpenSource);
}

/** {@link runExports} reading through `openSource` (the source seam; tests inject fakes here). */
export async function runExportsWith(
  config: Config,
  options: RunOptions,
  openSource: SourceOpener,
  hooks?: PipelineHooks,
): Promise<RunResult> {
  const selected = selectExports(config, options.exports);
  const toStdout = selected.filter((e) => e.destination.type === "stdout");
  if (toStdout.length > 1) {
    throw new ConfigError(
      `exports ${
        toStdout.map((e) => `'${e.name}'`).join(", ")
      } all write to stdout and would interleave; run them one at a time with --export`,
    );
  }
  if (options.reconcile) refuseReconcileWithKeyset(selected);
  const store = StateStore.open(statePathFor(config.path));
  const summaries: ExportSummary[] = [];
  try {
    const stale = await removeAbandonedStaging();
    if (stale > 0) {
      log.info(`removed ${stale} staging director${stale === 1 ? "y" : "ies"} of dead runs`);
    }
    for (const exp of selected) {
      if (options.signal?.aborted) break;
      const summary = await runExport({
        config,
        exp,
        store,
        validate: options.validate ?? false,
        reconcile: options.reconcile ?? false,
        resume: options.resume ?? false,
        openSource,
        onEvent: options.onEvent,
        hooks,
        signal: options.signal,
      });
      summaries.push(summary);
      options.onSummary?.(summary);
    }
  } finally {
    store.close();
    await removeStagingDir();
    closeEncoders();
    dropRecycled();
  }
  const worst = Math.max(ExitCode.Ok, ...summaries.map((s) => s.exitCode));
  const exitCode = worst === ExitCode.Ok && options.signal?.aborted ? ExitCode.ExportFailed : worst;
  return { summaries, exitCode };
}
