/**
 * rivet as a library: load a config and run its exports from TypeScript.
 *
 * @example
 * ```ts
 * import { loadConfig, runExports } from "@rivet/cli";
 *
 * const config = await loadConfig("rivet.yaml", { params: { env: "prod" } });
 * const { summaries, exitCode } = await runExports(config, { exports: ["orders"] });
 * for (const s of summaries) console.log(s.exportName, s.status, s.rows);
 * ```
 *
 * @module
 */
export { loadConfig, type LoadOptions } from "./src/config/load.ts";
export type {
  CompressionName,
  Config,
  ConnectionSettings,
  DestinationConfig,
  ExportConfig,
  ExportMode,
  FormatName,
  ProfileName,
  SourceConfig,
  SourceType,
  Tuning,
} from "./src/config/types.ts";
export { PROFILES } from "./src/config/profiles.ts";
export { runExports, type RunOptions, type RunResult } from "./src/pipeline/run.ts";
export type { ExportSummary } from "./src/pipeline/summary.ts";
export { formatSummary } from "./src/pipeline/summary.ts";
export {
  ConfigError,
  DataIntegrityError,
  DestinationError,
  ExitCode,
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
