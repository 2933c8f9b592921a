/**
 * `rivet metrics`: the run history recorded in the state database.
 *
 * @module
 */
import { Command } from "commander";
import { readOutline } from "../config/outline.ts";
import { StateStore } from "../state/store.ts";
import { formatBytes, formatDuration } from "../util/format.ts";
import { metricsJson } from "./json_output.ts";
import { configOption, positiveInt, type SetExit } from "./options.ts";
import { printOut } from "./output.ts";

/** The `metrics` command. */
export function metricsCommand(setExit: SetExit): Command {
  return new Command("metrics")
    .description("show export run history")
    .addOption(configOption())
    .option("-e, --export <name>", "only this export")
    .option("-l, --last <n>", "newest N runs", positiveInt, 20)
    .option("--json", "one JSON object per run and line instead of the table")
    .action(async (opts) => setExit(await showMetrics(opts)));
}

/** Prints the newest `last` runs, optionally of one export. */
async function showMetrics(
  options: { config: string; export?: string; last: number; json?: boolean },
): Promise<number> {
  const outline = await readOutline(options.config, options.export);
  const store = StateStore.open(outline.statePath);
  let rows;
  try {
    rows = store.metrics({ exportName: options.export, last: options.last });
  } finally {
    store.close();
  }
  if (options.json) {
    printOut(rows.map(metricsJson).join(""));
    return 0;
  }
  if (rows.length === 0) {
    printOut("No metrics recorded yet.\n");
    return 0;
  }
  let out = `${"EXPORT".padEnd(20)} ${"STATUS".padEnd(10)} ${"ROWS".padStart(10)} ${
    "DURATION".padStart(10)
  } ${"RSS".padStart(8)} ${"FILES".padStart(6)} ${"BYTES".padStart(10)} RUN ID\n${
    "-".repeat(110)
  }\n`;
  for (const m of rows) {
    out += `${m.exportName.padEnd(20)} ${m.status.padEnd(10)} ${String(m.rows).padStart(10)} ${
      formatDuration(m.durationMs).padStart(10)
    } ${(m.peakRssMb === null ? "-" : `${m.peakRssMb}MB`).padStart(8)} ${
      String(m.files).padStart(6)
    } ${(m.bytes === 0 ? "-" : formatBytes(m.bytes)).padStart(10)} ${m.runId}\n`;
    if (m.error) out += `  Error: ${m.error}\n`;
    const flags = [
      m.retries > 0 ? `retries=${m.retries}` : "",
      m.validated === null ? "" : `validated=${m.validated ? "pass" : "FAIL"}`,
      m.qualityPassed === null ? "" : `quality=${m.qualityPassed ? "pass" : "FAIL"}`,
      m.reconciled === null ? "" : `reconciled=${m.reconciled ? "pass" : "FAIL"}`,
      m.schemaChanged === null ? "" : `schema=${m.schemaChanged ? "CHANGED" : "ok"}`,
      m.longestStatementMs === null
        ? ""
        : `longest_statement=${formatDuration(m.longestStatementMs)}`,
      m.longestTransactionMs === null
        ? ""
        : `longest_transaction=${formatDuration(m.longestTransactionMs)}`,
    ].filter(Boolean);
    if (flags.length) out += `  ${flags.join("  ")}\n`;
  }
  printOut(out);
  return 0;
}
