/**
 * Calendar arithmetic shared by source decoders: proleptic Gregorian dates as day numbers, the
 * way both Arrow (Date32, Timestamp) and the databases count them. Plain integer math, so dates
 * before 1970, after 2262 and BC dates (as astronomical years: 1 BC = year 0) all work.
 *
 * @module
 */

/** Seconds per day. */
export const SECONDS_PER_DAY = 86_400;

/** Days between 1970-01-01 and 2000-01-01 (PostgreSQL's binary epoch). */
export const DAYS_1970_TO_2000 = 10_957;

/**
 * Days since 1970-01-01 of the proleptic Gregorian date `year-month-day` (astronomical `year`,
 * month 1..12). Exact for any safe-integer year (H. Hinnant's `days_from_civil`).
 */
export function daysFromCivil(year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yearOfEra = y - era * 400;
  const dayOfYear = Math.floor((153 * (month > 2 ? month - 3 : month + 9) + 2) / 5) + day - 1;
  const dayOfEra = yearOfEra * 365 + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100) +
    dayOfYear;
  return era * 146_097 + dayOfEra - 719_468;
}

/**
 * Writes the proleptic Gregorian date of `days` since 1970-01-01 into `ymd` as astronomical year,
 * month 1..12 and day; the inverse of {@link daysFromCivil}, exact for any int32 day count
 * (H. Hinnant's `civil_from_days` over 400-year eras). It fills an array rather than returning an
 * object, so the byte-level CSV writer can call it per value without garbage.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { civilFromDays, daysFromCivil } from "./temporal.ts";
 *
 * const ymd = new Int32Array(3);
 * civilFromDays(daysFromCivil(-44, 3, 15), ymd);
 * assert.deepEqual([...ymd], [-44, 3, 15]);
 * ```
 */
export function civilFromDays(days: number, ymd: Int32Array): void {
  const z = days + 719_468;
  const era = Math.floor(z / 146_097);
  const doe = z - era * 146_097;
  const yoe = Math.floor(
    (doe - Math.floor(doe / 1460) + Math.floor(doe / 36_524) - Math.floor(doe / 146_096)) / 365,
  );
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const month = mp < 10 ? mp + 3 : mp - 9;
  ymd[0] = yoe + era * 400 + (month <= 2 ? 1 : 0);
  ymd[1] = month;
  ymd[2] = doy - Math.floor((153 * mp + 2) / 5) + 1;
}
