/**
 * Warns when a large export runs without `key_column` on a gentle profile (`balanced`, `safe`):
 * without a key, PostgreSQL holds one transaction open for the whole export and MySQL runs it as
 * one statement, which is exactly the load those profiles are chosen to avoid. The warning
 * suggests the table's primary key by name when the query reads a single table.
 *
 * Advice only: a failure to look up the key is logged at debug level and never fails
 * the export.
 *
 * @module
 */
import { singleTableOf } from "../plan/single_table.ts";
import { log } from "../util/log.ts";
import type { ConnectionSlot } from "./connection.ts";
import type { ExportContext } from "./context.ts";
import { describeError } from "./describe_error.ts";

/** From this many estimated rows an export counts as large. */
export const LARGE_EXPORT_ROWS = 1_000_000;

/** Logs the warning for an export estimated at `rows` when it applies (see the module doc). */
export async function adviseKey(
  ctx: ExportContext,
  rows: number | undefined,
  slot: ConnectionSlot,
): Promise<void> {
  const { exp, config } = ctx;
  if (exp.keyColumns || config.source.tuning.profile === "fast") return;
  if (rows === undefined || rows < LARGE_EXPORT_ROWS) return;
  try {
    const table = singleTableOf(exp.query);
    const key = table === undefined ? undefined : await (await slot.acquire()).primaryKey(table);
    const cost = config.source.type === "postgres"
      ? "PostgreSQL keeps one transaction open for the whole export"
      : "MySQL reads it as one statement";
    const suggestion = key === undefined
      ? "set key_column to a unique, indexed, non-NULL column"
      : `${table}'s primary key is ${key.join(", ")}: set key_column: ${
        key.length === 1 ? key[0] : `[${key.join(", ")}]`
      }`;
    log.warn(
      `export '${exp.name}': about ${rows} rows without key_column on the ${config.source.tuning.profile} profile: ${cost}; ${suggestion} to read it in short pages instead`,
    );
  } catch (err) {
    await slot.discard();
    log.debug(`export '${exp.name}': no key advice (${describeError(err)})`);
  }
}
