/**
 * `rivet doctor`: verifies the config, the source's credentials, every destination and the state
 * database before any export runs (spec "Auth Diagnostics"); exits 1 when anything fails.
 *
 * @module
 */
import { Command } from "commander";
import { loadConfig } from "../config/load.ts";
import { errorMessage, ExitCode } from "../errors.ts";
import { diagnose } from "../preflight/doctor.ts";
import { openSource } from "../source/open.ts";
import { configOption, type SetExit } from "./options.ts";
import { printOut } from "./output.ts";

/** The `doctor` command. */
export function doctorCommand(setExit: SetExit): Command {
  return new Command("doctor")
    .description("verify the config, source credentials, destinations and state database")
    .addOption(configOption())
    .action(async (opts: { config: string }) => setExit(await doctor(opts.config)));
}

async function doctor(path: string): Promise<number> {
  printOut(`rivet doctor: verifying auth for config '${path}'\n`);
  let config;
  try {
    config = await loadConfig(path);
  } catch (err) {
    printOut(`[FAIL] Config -- error: ${errorMessage(err)}\n`);
    printOut("Some checks failed. Fix the issues above before running exports.\n");
    return ExitCode.Usage;
  }
  printOut("[OK] Config parsed successfully\n");
  const results = await diagnose(config, openSource);
  for (const r of results) {
    if (r.ok) {
      printOut(`[OK] ${r.what}\n`);
    } else {
      printOut(`[FAIL] ${r.what} -- ${r.category}: ${r.message}\n`);
      if (r.hint) printOut(`       hint: ${r.hint}\n`);
    }
  }
  const failed = results.some((r) => !r.ok);
  printOut(
    failed
      ? "Some checks failed. Fix the issues above before running exports.\n"
      : "All checks passed.\n",
  );
  return failed ? ExitCode.Usage : ExitCode.Ok;
}
