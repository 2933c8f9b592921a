/**
 * Export rule: `max_file_size` (spec "File size splitting"), a size such as `512MB`, `1.5GB`,
 * `300KB` or a plain number of bytes. Units are 1024-based (KB, MB, GB, TB; `B` or none for
 * bytes), case-insensitive.
 *
 * @module
 */
import { keyOf, labelOf, type RuleContext } from "./rule.ts";

const UNITS: Record<string, number> = {
  "": 1,
  B: 1,
  KB: 1024,
  MB: 1024 ** 2,
  GB: 1024 ** 3,
  TB: 1024 ** 4,
};

/**
 * Parses a size; `undefined` when it is not one.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 *
 * assert.equal(parseFileSize("512MB"), 512 * 1024 * 1024);
 * assert.equal(parseFileSize("1.5 gb"), 1.5 * 1024 ** 3);
 * assert.equal(parseFileSize(4096), 4096);
 * assert.equal(parseFileSize("12 parsecs"), undefined);
 * ```
 */
export function parseFileSize(value: string | number): number | undefined {
  // Beyond 2^53 bytes (8 PiB) a size is no longer an exact integer, and `1e999` is Infinity.
  if (typeof value === "number") {
    return Number.isSafeInteger(value) && value > 0 ? value : undefined;
  }
  const match = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i.exec(value);
  const unit = match ? UNITS[match[2].toUpperCase()] : undefined;
  if (!match || unit === undefined) return undefined;
  const bytes = Math.floor(Number(match[1]) * unit);
  return Number.isSafeInteger(bytes) && bytes > 0 ? bytes : undefined;
}

/** The export's part size limit in bytes, if any. */
export function resolveFileSize(ctx: RuleContext): number | undefined {
  const raw = ctx.raw.max_file_size;
  if (raw === undefined) return undefined;
  const bytes = parseFileSize(raw);
  if (bytes === undefined) {
    ctx.fail(
      `${labelOf(ctx, "max_file_size")}: '${raw}' is not a size (use e.g. 512MB, 1.5GB, 300KB)`,
      keyOf(ctx, "max_file_size"),
    );
  }
  return bytes;
}
