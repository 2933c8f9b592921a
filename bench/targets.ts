/**
 * The targets of issue 12 ("export at the speed of the database's own bulk export, in flat
 * memory"), which the bench's table marks as met or not.
 *
 * @module
 */
import type { Engine } from "./servers.ts";
import type { Format } from "./verify.ts";

/** Highest median wall time of a rivet export, as a multiple of its baseline's. */
export const WALL_RATIO_TARGET: Record<Engine, Record<Format, number>> = {
  postgres: { parquet: 1.6, csv: 1.15 },
  mariadb: { parquet: 1.6, csv: 1.3 },
};

/** Highest peak RSS of a rivet export, in MiB, on every dataset with default settings. */
export const PEAK_RSS_TARGET_MB = 160;

/** Highest peak RSS at ten times the rows, as a multiple of the peak RSS at the smaller count. */
export const RSS_FLATNESS_TARGET = 1.1;

/** `pass`, or `FAIL` naming each missed target. */
export function verdict(
  engine: Engine,
  format: Format,
  wallRatio: number,
  peakRssMb: number,
): string {
  const missed = [
    ...(wallRatio > WALL_RATIO_TARGET[engine][format] ? ["wall"] : []),
    ...(peakRssMb > PEAK_RSS_TARGET_MB ? ["RSS"] : []),
  ];
  return missed.length === 0 ? "pass" : `FAIL ${missed.join("+")}`;
}
