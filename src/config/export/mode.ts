/**
 * Export rule: the mode and the keys that belong to it. `cursor_column` is required by
 * `incremental` and meaningless for any other mode, so it is rejected there rather than ignored.
 *
 * @module
 */
import type { ExportModeConfig } from "../types.ts";
import { keyOf, labelOf, type RuleContext } from "./rule.ts";

/** The export's mode with its own settings. */
export function resolveMode(ctx: RuleContext): ExportModeConfig {
  const { raw } = ctx;
  const kind = raw.mode ?? "full";
  if (kind === "incremental") {
    if (raw.cursor_column === undefined) {
      ctx.fail(
        `${labelOf(ctx, "mode")}: incremental mode requires 'cursor_column'`,
        keyOf(ctx, "mode"),
      );
    }
    return { kind, cursorColumn: raw.cursor_column };
  }
  if (raw.cursor_column !== undefined) {
    ctx.fail(
      `${labelOf(ctx, "cursor_column")}: only used with mode: incremental (mode is ${kind})`,
      keyOf(ctx, "cursor_column"),
    );
  }
  return { kind };
}
