/**
 * Export rule: `meta_columns` (spec "Meta Columns"); both columns are off unless asked for.
 *
 * @module
 */
import type { MetaColumns } from "../types.ts";
import type { RuleContext } from "./rule.ts";

/** Which meta columns the export appends. */
export function resolveMetaColumns(ctx: RuleContext): MetaColumns {
  const meta = ctx.raw.meta_columns ?? {};
  return { exportedAt: meta.exported_at ?? false, rowHash: meta.row_hash ?? false };
}
