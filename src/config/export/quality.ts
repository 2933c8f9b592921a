/**
 * Export rule: `quality` (spec "Data quality checks"), rules the whole result must meet before
 * anything is delivered: a row count range, a highest NULL ratio per column, columns whose values
 * must not repeat. Whether the named columns exist is only known once the query runs, so that is
 * checked by the quality gate (`pipeline/quality.ts`), not here.
 *
 * @module
 */
import type { ExportConfig, ExportModeConfig } from "../types.ts";
import { keyOf, labelOf, type RuleContext } from "./rule.ts";

/** The export's quality rules, if it has any (`{}` without the key). */
export function resolveQuality(
  ctx: RuleContext,
  mode: ExportModeConfig,
): Pick<ExportConfig, "quality"> {
  const raw = ctx.raw.quality;
  if (raw === undefined) return {};
  if (mode.kind === "chunked") {
    const label = labelOf(ctx, "quality");
    ctx.fail(
      `${label}: not supported with mode: chunked; a chunked run delivers each window as soon as it is finished, so rules about the whole result cannot be checked before delivery (check a full or incremental export of the same query instead, or drop quality)`,
      keyOf(ctx, "quality"),
      true,
    );
  }
  const min = raw.row_count_min;
  const max = raw.row_count_max;
  if (min !== undefined && max !== undefined && min > max) {
    ctx.fail(
      `${labelOf(ctx, "quality.row_count_min")}: ${min} is above row_count_max (${max})`,
      keyOf(ctx, "quality", "row_count_min"),
    );
  }
  const uniqueColumns = raw.unique_columns ?? [];
  const seen = new Set<string>();
  for (const [k, column] of uniqueColumns.entries()) {
    if (seen.has(column)) {
      ctx.fail(
        `${labelOf(ctx, "quality.unique_columns")}: '${column}' is listed twice`,
        [...keyOf(ctx, "quality", "unique_columns"), k],
      );
    }
    seen.add(column);
  }
  return {
    quality: {
      ...(min === undefined ? {} : { rowCountMin: min }),
      ...(max === undefined ? {} : { rowCountMax: max }),
      nullRatioMax: { ...raw.null_ratio_max },
      uniqueColumns,
      sites: {
        nullRatioMax: Object.fromEntries(
          Object.keys(raw.null_ratio_max ?? {}).map((
            column,
          ) => [column, ctx.site(keyOf(ctx, "quality", "null_ratio_max", column))]),
        ),
        uniqueColumns: uniqueColumns.map((_, k) =>
          ctx.site([...keyOf(ctx, "quality", "unique_columns"), k])
        ),
      },
    },
  };
}
