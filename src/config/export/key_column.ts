/**
 * Export rule: `key_column`, one column or a list, for keyset paging (see
 * docs/semantics.md "Keyset paging"). The key must be unique and non-NULL over the query (rivet
 * checks both as it reads) and ideally indexed. An incremental export pages in cursor order, so
 * its key starts with the cursor column and continues with a tie-breaker.
 *
 * @module
 */
import type { ExportModeConfig } from "../types.ts";
import { keyOf, labelOf, type RuleContext } from "./rule.ts";

/** The export's key columns, in order, if it pages by key. */
export function resolveKeyColumns(
  ctx: RuleContext,
  mode: ExportModeConfig,
): string[] | undefined {
  const raw = ctx.raw.key_column;
  if (raw === undefined) return undefined;
  const columns = typeof raw === "string" ? [raw] : raw;
  const label = labelOf(ctx, "key_column");
  const seen = new Set<string>();
  for (const column of columns) {
    if (seen.has(column)) {
      ctx.fail(`${label}: '${column}' is listed twice`, keyOf(ctx, "key_column"));
    }
    seen.add(column);
  }
  if (mode.kind === "incremental" && columns[0] !== mode.cursorColumn) {
    ctx.fail(
      `${label}: an incremental export pages in cursor order, so key_column must start with the cursor column, e.g. key_column: [${mode.cursorColumn}, ${
        columns.find((c) => c !== mode.cursorColumn) ?? "id"
      }]`,
      keyOf(ctx, "key_column"),
    );
  }
  return columns;
}
