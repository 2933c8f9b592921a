/**
 * Export rule: the mode and the keys that belong to it (spec "Choosing a Mode"). Each mode's own
 * keys are required where the mode needs them and rejected under any other mode, never ignored:
 * a `chunk_column` on a full export is a mistake worth a line number.
 *
 * @module
 */
import type { ExportModeConfig } from "../types.ts";
import { keyOf, labelOf, type RawExport, type RuleContext } from "./rule.ts";

/** `chunk_size` when none is given (spec "Chunked Extraction"). */
export const DEFAULT_CHUNK_SIZE = 100_000;

/** The keys each mode owns. */
const MODE_KEYS: Record<ExportModeConfig["kind"], readonly (keyof RawExport)[]> = {
  full: [],
  incremental: ["cursor_column"],
  chunked: ["chunk_column", "chunk_size", "parallel"],
  time_window: ["time_column", "time_column_type", "days_window"],
};

/** The export's mode with its own settings. */
export function resolveMode(ctx: RuleContext): ExportModeConfig {
  const { raw } = ctx;
  const kind = raw.mode ?? "full";
  rejectForeignKeys(ctx, kind);
  switch (kind) {
    case "full":
      return { kind };
    case "incremental":
      return { kind, cursorColumn: required(ctx, kind, "cursor_column") };
    case "chunked":
      return {
        kind,
        chunkColumn: required(ctx, kind, "chunk_column"),
        chunkSize: raw.chunk_size ?? DEFAULT_CHUNK_SIZE,
        parallel: raw.parallel ?? 1,
      };
    case "time_window":
      return {
        kind,
        timeColumn: required(ctx, kind, "time_column"),
        timeColumnType: raw.time_column_type ?? "timestamp",
        daysWindow: required(ctx, kind, "days_window"),
      };
  }
}

function required<K extends "cursor_column" | "chunk_column" | "time_column" | "days_window">(
  ctx: RuleContext,
  kind: string,
  key: K,
): NonNullable<RawExport[K]> {
  const value = ctx.raw[key];
  if (value === undefined) {
    ctx.fail(`${labelOf(ctx, "mode")}: ${kind} mode requires '${key}'`, keyOf(ctx, "mode"));
  }
  return value as NonNullable<RawExport[K]>;
}

function rejectForeignKeys(ctx: RuleContext, kind: ExportModeConfig["kind"]): void {
  for (const [owner, keys] of Object.entries(MODE_KEYS)) {
    if (owner === kind) continue;
    for (const key of keys) {
      if (ctx.raw[key] !== undefined) {
        ctx.fail(
          `${labelOf(ctx, key)}: only used with mode: ${owner} (mode is ${kind})`,
          keyOf(ctx, key),
          true,
        );
      }
    }
  }
}
