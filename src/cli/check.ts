/**
 * `rivet check`: the preflight report of each export (spec "Preflight Check"), stored in the state
 * database for `rivet run` to warn about; exits 2 when an export's query does not plan.
 *
 * @module
 */
import { Command } from "commander";
import { loadConfig } from "../config/load.ts";
import { ExitCode } from "../errors.ts";
import { selectExports } from "../pipeline/run.ts";
import { checkExport, type CheckReport } from "../preflight/check.ts";
import { checkJson, formatCheck } from "../preflight/check_report.ts";
import { openSource } from "../source/open.ts";
import type { Source } from "../source/source.ts";
import { statePathFor, StateStore } from "../state/store.ts";
import { collect, configOption, type SetExit } from "./options.ts";
import { printOut } from "./output.ts";
import { collectParam } from "./run.ts";

/** Options of `rivet check`. */
interface CheckOptions {
  config: string;
  export?: string[];
  param?: Record<string, string>;
  json?: boolean;
}

/** The `check` command. */
export function checkCommand(setExit: SetExit): Command {
  return new Command("check")
    .description("preflight: plan each export's query and recommend strategy, profile, parallelism")
    .addOption(configOption())
    .option("-e, --export <name>", "check only this export (repeatable)", collect)
    .option(
      "-p, --param <key=value>",
      "value for ${key} placeholders (repeatable; wins over env)",
      (v: string, prev: Record<string, string>) => collectParam(v, prev),
    )
    .option("--json", "one JSON object per export instead of text")
    .action(async (opts: CheckOptions) => setExit(await check(opts)));
}

async function check(options: CheckOptions): Promise<number> {
  const config = await loadConfig(options.config, { params: options.param });
  const selected = selectExports(config, options.export);
  const store = StateStore.open(statePathFor(config.path));
  let failed = false;
  let source: Source | undefined;
  try {
    source = await openSource(config.source);
    for (const [i, exp] of selected.entries()) {
      const report: CheckReport = await checkExport(source, {
        exp,
        source: config.source,
        cursor: store.cursor(exp.name),
        now: new Date(),
      });
      if (report.error !== undefined) {
        failed = true;
        // A failed statement can leave the session unusable: the next export gets a fresh one.
        await source.close();
        source = await openSource(config.source);
      }
      store.recordCheck({
        exportName: exp.name,
        checkedAt: new Date().toISOString(),
        verdict: report.verdict,
        strategy: report.strategy,
        rowEstimate: report.rowEstimate,
        reportJson: JSON.stringify(report),
      });
      printOut(options.json ? checkJson(report) : (i > 0 ? "\n" : "") + formatCheck(report));
    }
  } finally {
    await source?.close();
    store.close();
  }
  return failed ? ExitCode.ExportFailed : ExitCode.Ok;
}
