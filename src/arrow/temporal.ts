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
