/**
 * `rivet state show | reset | files`: inspect and reset incremental state.
 *
 * @module
 */
import { StateStore } from "../state/store.ts";
import { formatBytes } from "../util/format.ts";
import { readOutline, requireExport } from "./config_names.ts";
import { printOut } from "./output.ts";

function withStore<T>(path: string, body: (store: StateStore) => T): T {
  const store = StateStore.open(path);
  try {
    return body(store);
  } finally {
    store.close();
  }
}

/** `state show`: the cursor of every incremental export. */
export async function stateShow(options: { config: string }): Promise<number> {
  const outline = await readOutline(options.config);
  const cursors = withStore(outline.statePath, (s) => s.cursors());
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
export async function stateReset(options: { config: string; export: string }): Promise<number> {
  const outline = await readOutline(options.config);
  requireExport(outline, options.export, options.config);
  const existed = withStore(outline.statePath, (s) => s.resetCursor(options.export));
  printOut(
    existed
      ? `State reset for export '${options.export}'\n`
      : `No state recorded for export '${options.export}'; nothing to reset\n`,
  );
  return 0;
}

/** `state files`: the file manifest, newest first. */
export async function stateFiles(
  options: { config: string; export?: string; last: number },
): Promise<number> {
  const outline = await readOutline(options.config);
  if (options.export !== undefined) requireExport(outline, options.export, options.config);
  const files = withStore(
    outline.statePath,
    (s) => s.files({ exportName: options.export, last: options.last }),
  );
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
