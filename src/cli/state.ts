/**
 * `rivet state show | reset | chunks | files`: inspect and reset what runs leave for the next.
 *
 * @module
 */
import { Command } from "commander";
import { readOutline } from "../config/outline.ts";
import { StateStore } from "../state/store.ts";
import { formatBytes } from "../util/format.ts";
import { cursorJson, fileJson } from "./json_output.ts";
import { configOption, positiveInt, type SetExit } from "./options.ts";
import { printOut } from "./output.ts";

/** The `state` command group: `show`, `reset`, `files`. */
export function stateCommand(setExit: SetExit): Command {
  const state = new Command("state").description("inspect or reset incremental state");
  state.command("show")
    .description("show the cursor of each incremental export")
    .addOption(configOption())
    .option("--json", "one JSON object per export and line instead of the table")
    .action(async (opts) => setExit(await stateShow(opts)));
  state.command("reset")
    .description("forget an export's cursor so the next run exports from scratch")
    .addOption(configOption())
    .requiredOption("-e, --export <name>", "the export to reset")
    .action(async (opts) => setExit(await stateReset(opts)));
  state.command("chunks")
    .description("show the progress of chunked runs (the windows delivered and left)")
    .addOption(configOption())
    .option("-e, --export <name>", "only this export, with each of its windows")
    .action(async (opts) => setExit(await stateChunks(opts)));
  state.command("files")
    .description("show the file manifest (which run created which files)")
    .addOption(configOption())
    .option("-e, --export <name>", "only this export")
    .option("-l, --last <n>", "newest N files", positiveInt, 50)
    .option("--json", "one JSON object per file and line instead of the table")
    .action(async (opts) => setExit(await stateFiles(opts)));
  return state;
}

function withStore<T>(path: string, body: (store: StateStore) => T): T {
  const store = StateStore.open(path);
  try {
    return body(store);
  } finally {
    store.close();
  }
}

/** `state show`: the cursor of every incremental export. */
async function stateShow(options: { config: string; json?: boolean }): Promise<number> {
  const outline = await readOutline(options.config);
  const cursors = withStore(outline.statePath, (s) => s.cursors());
  if (options.json) {
    printOut(cursors.map(cursorJson).join(""));
    return 0;
  }
  if (cursors.length === 0) {
    printOut("No export state recorded yet.\n");
    return 0;
  }
  let out = `${"EXPORT".padEnd(30)} ${"LAST CURSOR".padEnd(40)} LAST RUN\n${"-".repeat(90)}\n`;
  for (const c of cursors) {
    out += `${c.exportName.padEnd(30)} ${(c.value?.text ?? "-").padEnd(40)} ${
      c.lastRunAt ?? "-"
    }\n`;
  }
  printOut(out);
  return 0;
}

/** `state reset --export NAME`: forget a cursor so the next run starts from scratch. */
async function stateReset(options: { config: string; export: string }): Promise<number> {
  const outline = await readOutline(options.config, options.export);
  const existed = withStore(outline.statePath, (s) => s.resetExport(options.export));
  printOut(
    existed
      ? `State reset for export '${options.export}'\n`
      : `No state recorded for export '${options.export}'; nothing to reset\n`,
  );
  return 0;
}

/** `state files`: the file manifest, newest first. */
async function stateFiles(
  options: { config: string; export?: string; last: number; json?: boolean },
): Promise<number> {
  const outline = await readOutline(options.config, options.export);
  const files = withStore(
    outline.statePath,
    (s) => s.files({ exportName: options.export, last: options.last }),
  );
  if (options.json) {
    printOut(files.map(fileJson).join(""));
    return 0;
  }
  if (files.length === 0) {
    printOut("No files recorded yet.\n");
    return 0;
  }
  let out = `${"RUN ID".padEnd(35)} ${"FILE".padEnd(40)} ${"ROWS".padStart(8)} ${
    "BYTES".padStart(10)
  } CREATED\n${"-".repeat(110)}\n`;
  for (const f of files) {
    out += `${f.runId.padEnd(35)} ${f.fileName.padEnd(40)} ${String(f.rows).padStart(8)} ${
      formatBytes(f.bytes).padStart(10)
    } ${f.createdAt}\n`;
  }
  printOut(out);
  return 0;
}

/** `state chunks`: the newest chunked run of each export; with `--export`, its windows too. */
async function stateChunks(options: { config: string; export?: string }): Promise<number> {
  const outline = await readOutline(options.config, options.export);
  const { runs, tasks } = withStore(outline.statePath, (s) => {
    const runs = s.chunkRuns(options.export);
    return { runs, tasks: runs.map((r) => s.chunkTasks(r.runId)) };
  });
  if (runs.length === 0) {
    printOut("No chunked runs recorded yet.\n");
    return 0;
  }
  let out = `${"EXPORT".padEnd(24)} ${"RUN ID".padEnd(35)} ${"STATUS".padEnd(12)} ${
    "DONE".padStart(13)
  } ${"ROWS".padStart(12)} UPDATED\n${"-".repeat(120)}\n`;
  runs.forEach((run, i) => {
    const done = tasks[i].filter((t) => t.status === "done");
    const rows = done.reduce((sum, t) => sum + (t.rows ?? 0), 0);
    out += `${run.exportName.padEnd(24)} ${run.runId.padEnd(35)} ${run.status.padEnd(12)} ${
      `${done.length}/${run.windows}`.padStart(13)
    } ${String(rows).padStart(12)} ${run.updatedAt}\n`;
  });
  if (options.export !== undefined) {
    out += `\n${"CHUNK".padStart(7)}  ${"RANGE".padEnd(58)} ${"STATUS".padEnd(8)} ${
      "ROWS".padStart(10)
    } ${"FILES".padStart(6)}\n`;
    for (const t of tasks[0]) {
      const range = `[${t.lo}, ${t.hi}${t.hiInclusive ? "]" : ")"}`;
      out += `${String(t.index).padStart(7)}  ${range.padEnd(58)} ${t.status.padEnd(8)} ${
        (t.rows === null ? "-" : String(t.rows)).padStart(10)
      } ${(t.files === null ? "-" : String(t.files)).padStart(6)}\n`;
    }
  }
  printOut(out);
  return 0;
}
