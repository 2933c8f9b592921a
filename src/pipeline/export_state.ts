/**
 * The export-level state update, once per export and only after every piece is delivered: the
 * schema is compared with the previous run's (changes are reported, never fatal) and stored with
 * the advanced incremental cursor in one transaction. A crash before it leaves the old cursor, so
 * the next run delivers the same rows again (at-least-once).
 *
 * @module
 */
import type { Schema } from "apache-arrow";
import { RivetError } from "../errors.ts";
import type { TypedValue } from "../sql.ts";
import { log } from "../util/log.ts";
import type { ExportContext } from "./context.ts";
import { describeError } from "./describe_error.ts";
import { columnsOf, diffSchemas } from "./schema_tracking.ts";

/**
 * Saves the cursor and schema of a successful export; returns the schema verdict for the summary
 * (`undefined` on the export's first run, and when no query ran: a chunked export of an empty
 * table has no schema to compare).
 */
export function saveExportState(
  ctx: ExportContext,
  schema: Schema | undefined,
  rows: number,
  cursor: TypedValue | undefined,
): "unchanged" | "CHANGED" | undefined {
  const { exp, store } = ctx;
  if (schema === undefined) return undefined;
  const columns = columnsOf(schema);
  const previous = store.schema(exp.name);
  const verdict = previous ? reportChanges(exp.name, diffSchemas(previous, columns)) : undefined;
  const cursorColumn = exp.mode.kind === "incremental" ? exp.mode.cursorColumn : undefined;
  if (cursorColumn !== undefined && rows > 0 && cursor === undefined) {
    log.warn(`export '${exp.name}': every ${cursorColumn} value was NULL; cursor not advanced`);
  }
  try {
    store.saveExportState(exp.name, {
      cursor: cursorColumn !== undefined && cursor !== undefined
        ? { column: cursorColumn, value: cursor }
        : undefined,
      schema: columns,
      at: new Date().toISOString(),
    });
  } catch (err) {
    throw new RivetError(
      `the files were delivered but the state update failed (${
        describeError(err)
      }); the next run will export these rows again`,
      { cause: err },
    );
  }
  if (cursor !== undefined) log.info(`export '${exp.name}': cursor advanced to ${cursor.text}`);
  return verdict;
}

function reportChanges(
  exportName: string,
  diff: ReturnType<typeof diffSchemas>,
): "unchanged" | "CHANGED" {
  if (!diff) return "unchanged";
  if (diff.added.length) {
    log.warn(`export '${exportName}': added columns: ${diff.added.join(", ")}`);
  }
  if (diff.removed.length) {
    log.warn(`export '${exportName}': removed columns: ${diff.removed.join(", ")}`);
  }
  for (const r of diff.retyped) {
    log.warn(`export '${exportName}': type changed: ${r.name} (${r.from} -> ${r.to})`);
  }
  return "CHANGED";
}
