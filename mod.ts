/**
 * rivet as a library: load a config and run its exports from TypeScript.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { formatSummary, loadConfig, runExports } from "@rivet/cli";
 *
 * const dir = await Deno.makeTempDir();
 * await Deno.writeTextFile(
 *   `${dir}/rivet.yaml`,
 *   [
 *     "source:",
 *     "  type: postgres",
 *     "  url: postgresql://app@127.0.0.1:1/shop # nothing listens here: the export fails",
 *     "  tuning: { profile: safe, max_retries: 0 }",
 *     "exports:",
 *     "  - name: orders",
 *     "    query: SELECT * FROM orders WHERE region = '${region}'",
 *     "    destination: { type: local, path: ./out }",
 *   ].join("\n"),
 * );
 * const config = await loadConfig(`${dir}/rivet.yaml`, { params: { region: "eu" } });
 * const { summaries, exitCode } = await runExports(config, {
 *   exports: ["orders"],
 *   onEvent: (event) => {
 *     if (event.type === "batch") console.log(`${event.pieceRows} rows so far`);
 *   },
 * });
 * assert.equal(exitCode, 2); // 0 all succeeded, 2 an export failed, 3 data integrity
 * assert.match(formatSummary(summaries[0]), /status: +failed/);
 * await Deno.remove(dir, { recursive: true });
 * ```
 *
 * @module
 */
export { loadConfig, type LoadOptions } from "./src/config/load.ts";
export type {
  CompressionName,
  Config,
  ConfigSite,
  ConnectionSettings,
  DestinationConfig,
  ExportConfig,
  ExportMode,
  ExportModeConfig,
  FormatName,
  GcsDestinationConfig,
  MetaColumns,
  ProfileName,
  QualityConfig,
  S3DestinationConfig,
  S3Keys,
  SlackConfig,
  SlackTrigger,
  SourceConfig,
  SourceType,
  Tuning,
} from "./src/config/types.ts";
export { PROFILES } from "./src/config/profiles.ts";
export { runExports, type RunOptions, type RunResult } from "./src/pipeline/run.ts";
export type {
  BatchEvent,
  CommittedEvent,
  DegradedEvent,
  EventListener,
  FinishedEvent,
  RetryEvent,
  RunEvent,
  StartedEvent,
} from "./src/pipeline/events.ts";
export type { ExportSummary } from "./src/pipeline/summary.ts";
export { formatSummary } from "./src/pipeline/summary.ts";
export {
  ConfigError,
  DataIntegrityError,
  type DestinationCategory,
  DestinationError,
  ExitCode,
  type RetryClass,
  RivetError,
  SourceError,
  TypeMappingError,
} from "./src/errors.ts";
import { main } from "./src/cli/program.ts";
export { main };

// `deno run jsr:@rivet/cli <command>` runs this module: behave as the CLI then.
if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
