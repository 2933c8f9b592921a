/**
 * CSV exports run through the whole pipeline, for comparing the CSV passthrough
 * (`Source.copyCsv`) with the Arrow path on the same query: one export per run, in a directory of
 * its own, with its log, summary, files and stored cursor.
 *
 * @module
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { loadConfig } from "../../src/config/load.ts";
import type { PipelineHooks } from "../../src/pipeline/context.ts";
import { runExportsWith, type RunOptions } from "../../src/pipeline/run.ts";
import type { ExportSummary } from "../../src/pipeline/summary.ts";
import { openSource } from "../../src/source/open.ts";
import { StateStore } from "../../src/state/store.ts";
import { listDir } from "./files.ts";
import { captureLog } from "./log.ts";

/** The passthrough's log line; the fallback's starts with {@link DECLINED}. */
export const PASSTHROUGH = "CSV records from the source, no Arrow batches";
/** The start of the log line of an export that reads batches instead. */
export const DECLINED = "CSV through Arrow batches";

/** The Arrow path on the very same read, taken for the hook on its batches. */
export const ARROW: PipelineHooks = { beforeWrite: (batch) => batch };

/** What one run left behind. */
export interface Run {
  summary: ExportSummary;
  /** The delivered files, as paths. */
  files: string[];
  /** Everything logged, at debug level. */
  log: string;
  /** The run's directory (config, state database, `out/`). */
  dir: string;
}

/** One CSV export (named `t`) of `query`, with the `fast` profile. */
export interface RunSpec {
  query: string;
  /** Extra `source.tuning` keys, e.g. `throttle_ms: 5`. */
  tuning?: string;
  /** Extra lines of the export, e.g. `mode: incremental`. */
  exportLines?: string[];
  hooks?: PipelineHooks;
  options?: RunOptions;
}

/** The source a run reads. */
export interface RunSource {
  type: "postgres" | "mysql";
  url: string;
}

let runs = 0;

/** Runs the export of `spec` in a fresh directory under `base` (or in `dir`, run again). */
export async function runCsv(
  source: RunSource,
  base: string,
  spec: RunSpec,
  dir?: string,
): Promise<Run> {
  dir ??= join(base, `run${runs++}`);
  await Deno.mkdir(dir, { recursive: true });
  const path = join(dir, "rivet.yaml");
  await Deno.writeTextFile(
    path,
    [
      "source:",
      `  type: ${source.type}`,
      `  url: ${JSON.stringify(source.url)}`,
      `  tuning: { profile: fast${spec.tuning ? `, ${spec.tuning}` : ""} }`,
      "exports:",
      "  - name: t",
      `    query: ${JSON.stringify(spec.query)}`,
      "    format: csv",
      "    destination: { type: local, path: ./out }",
      ...(spec.exportLines ?? []).map((l) => `    ${l}`),
      "",
    ].join("\n"),
  );
  const config = await loadConfig(path);
  let summary: ExportSummary | undefined;
  const lines = await captureLog("debug", async () => {
    const result = await runExportsWith(config, spec.options ?? {}, openSource, spec.hooks);
    summary = result.summaries[0];
  });
  const files = (await listDir(join(dir, "out"))).map((name) => join(dir, "out", name));
  return { summary: summary!, files, log: lines.join(""), dir };
}

/** Whether the run went through the passthrough. */
export function tookPassthrough(run: Run): boolean {
  return run.log.includes(PASSTHROUGH);
}

/** The bytes of the run's one file; asserts the run succeeded with one. */
export async function bytesOf(run: Run): Promise<Uint8Array> {
  assert.equal(run.summary.error, undefined, run.summary.error);
  assert.equal(run.files.length, 1, `one file: ${run.files}`);
  return await Deno.readFile(run.files[0]);
}

/** The cursor the run stored for its export. */
export function cursorOf(run: Run): { kind: string; text: string } | undefined {
  const store = StateStore.open(join(run.dir, ".rivet_state.db"));
  try {
    return store.cursor("t")?.value ?? undefined;
  } finally {
    store.close();
  }
}
