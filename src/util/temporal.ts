/**
 * Exact calendar formatting of Arrow temporal values (days / microseconds since the Unix epoch),
 * valid far outside the 1970..2262 range that nanosecond or `Date`-based code handles.
 *
 * Years use ISO 8601 astronomical numbering: year 0 is 1 BC, negative years are signed, and years
 * past 9999 carry a `+`.
 *
 * @module
 */

const MICROS_PER_DAY = 86_400_000_000n;

/** Converts days since 1970-01-01 to a proleptic Gregorian (year, month, day). */
export function civilFromDays(days: number): { year: number; month: number; day: number } {
  // Howard Hinnant's days_from_civil inverse, exact for any 32-bit day count.
  const z = days + 719468;
  const era = Math.floor(z / 146097);
  const doe = z - era * 146097;
  const yoe = Math.floor(
    (doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) -
      Math.floor(doe / 146096)) / 365,
  );
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const day = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const month = mp < 10 ? mp + 3 : mp - 9;
  const year = yoe + era * 400 + (month <= 2 ? 1 : 0);
  return { year, month, day };
}

function pad(n: number, width: number): string {
  return String(n).padStart(width, "0");
}

function formatYear(year: number): string {
  if (year < 0) return `-${pad(-year, 4)}`;
  if (year > 9999) return `+${year}`;
  return pad(year, 4);
}

/**
 * `YYYY-MM-DD` for a Date32 value.
 *
 * @example
 * ```ts
 * formatDate(-1); // "1969-12-31"
 * ```
 */
export function formatDate(days: number): string {
  const { year, month, day } = civilFromDays(days);
  return `${formatYear(year)}-${pad(month, 2)}-${pad(day, 2)}`;
}

/** `HH:MM:SS.ffffff` for microseconds since midnight. */
export function formatTimeOfDay(micros: bigint): string {
  const us = Number(micros % 1_000_000n);
  const secs = Number(micros / 1_000_000n);
  return `${pad(Math.floor(secs / 3600), 2)}:${pad(Math.floor(secs / 60) % 60, 2)}:${
    pad(secs % 60, 2)
  }.${pad(us, 6)}`;
}

/**
 * `YYYY-MM-DDTHH:MM:SS.ffffff` for microseconds since the epoch, plus `Z` when `utc`.
 *
 * @example
 * ```ts
 * formatTimestamp(1n, true); // "1970-01-01T00:00:00.000001Z"
 * ```
 */
export function formatTimestamp(micros: bigint, utc: boolean): string {
  let days = micros / MICROS_PER_DAY;
  let rem = micros % MICROS_PER_DAY;
  if (rem < 0n) {
    rem += MICROS_PER_DAY;
    days -= 1n;
  }
  return `${formatDate(Number(days))}T${formatTimeOfDay(rem)}${utc ? "Z" : ""}`;
}
