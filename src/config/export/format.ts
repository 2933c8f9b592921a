/**
 * Export rule: the file format and, for Parquet, the codec and its level (zstd 1..22, gzip 0..9,
 * no level for the others). CSV ignores compression, which is worth a warning, not an error.
 *
 * @module
 */
import { log } from "../../util/log.ts";
import type { CompressionName, FormatName } from "../types.ts";
import { keyOf, labelOf, type RuleContext } from "./rule.ts";

/** The resolved format settings of one export. */
export interface FormatSettings {
  /** Output file format. */
  format: FormatName;
  /** Parquet codec. */
  compression: CompressionName;
  /** Only set when the user gave one. */
  compressionLevel?: number;
}

/** Level ranges per codec; codecs missing here take no level. */
const LEVELS: Partial<Record<CompressionName, [number, number]>> = {
  zstd: [1, 22],
  gzip: [0, 9],
};

/** The export's format, codec and level. */
export function resolveFormat(ctx: RuleContext): FormatSettings {
  const { raw } = ctx;
  const format = raw.format ?? "parquet";
  const compression = raw.compression ?? "zstd";
  if (format === "csv" && raw.compression !== undefined) {
    log.warn(`export '${raw.name}': compression '${compression}' is ignored for CSV output`);
  }
  const level = raw.compression_level;
  if (level !== undefined) {
    const key = labelOf(ctx, "compression_level");
    const range = LEVELS[compression];
    if (range === undefined) {
      ctx.fail(
        `${key}: compression_level is only supported for zstd and gzip (compression is ${compression})`,
        keyOf(ctx, "compression_level"),
      );
    } else if (level < range[0] || level > range[1]) {
      ctx.fail(
        `${key}: ${compression} compression_level must be ${range[0]}..${range[1]}, got ${level}`,
        keyOf(ctx, "compression_level"),
      );
    }
  }
  return { format, compression, compressionLevel: level };
}
