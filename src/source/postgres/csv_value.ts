/**
 * One value's PostgreSQL text (what `COPY ... (FORMAT csv)` and FETCH print, under the session's
 * pinned settings) as rivet's CSV text: byte for byte what the CSV writer renders for the same
 * value decoded into Arrow (`arrow/text.ts`), and the same errors for values Arrow cannot hold.
 * Parsing goes through the FETCH decoder's parsers and rendering through the CSV writer's, so the
 * two paths cannot drift apart.
 *
 * Only values the record pass (`csv_rewrite.ts`) cannot rewrite in place come here (BC years,
 * years past 99999, arrays, values that must fail), and the cursor's last value of each chunk.
 *
 * @module
 */
import { dateText, timeText } from "../../arrow/text.ts";
import { splitArrayText } from "./array_text.ts";
import { unrepresentable } from "./columns.ts";
import { dateTextDays, timestampTextParts, timeTextMicros } from "./text_decode.ts";
import type { ScalarKind } from "./types.ts";

const MAX_MICROS = (1n << 63n) - 1n;
const SECONDS_PER_DAY = 86_400;

/** A `date` as `YYYY-MM-DD` in astronomical years. */
export function dateCsv(text: string): string {
  return dateText(dateTextDays(text));
}

/** A `timestamp` (`zone` "") or `timestamptz` (`zone` "Z") as `YYYY-MM-DDTHH:MM:SS.ffffff`. */
export function timestampCsv(text: string, zone: "" | "Z"): string {
  const { seconds, micros } = timestampTextParts(text);
  const total = BigInt(seconds) * 1_000_000n + BigInt(micros);
  // PostgreSQL's timestamps start in 4713 BC: only the end of the range can be passed, and the
  // binary COPY path says so in these words.
  if (total > MAX_MICROS) throw unrepresentable("a timestamp after year 294247");
  const days = Math.floor(seconds / SECONDS_PER_DAY);
  return `${dateText(days)}T${timeText((seconds - days * SECONDS_PER_DAY) * 1e6 + micros)}${zone}`;
}

/** A `time` as `HH:MM:SS.ffffff`. */
export function timeCsv(text: string): string {
  return timeText(timeTextMicros(text));
}

/** A `numeric(p,s)` (Decimal128) value: its digits; NaN has no Decimal128 form. */
export function decimalCsv(text: string): string {
  const c = text.charCodeAt(text.length - 1);
  // NaN, Infinity, -Infinity: the only numeric outputs that do not end in a digit.
  if (c < 48 || c > 57) throw unrepresentable(`the value ${text}`);
  return text;
}

/** A `bytea` in hex output (`\x0a1b`) as lowercase hex without the prefix. */
export function byteaCsv(text: string): string {
  if (text.charCodeAt(0) !== 92 || text.charCodeAt(1) !== 120) {
    throw unrepresentable(`the bytea text "${text.slice(0, 20)}"`);
  }
  return text.slice(2);
}

/**
 * A scalar's text (not an array's) as the CSV writer renders the value decoded into Arrow: what a
 * cell of a column of `kind` reads once unquoted.
 */
export function scalarCsv(kind: ScalarKind, text: string): string {
  switch (kind) {
    case "bool":
      return text === "t" ? "true" : "false";
    case "decimal":
      return decimalCsv(text);
    case "bytea":
      return byteaCsv(text);
    case "date":
      return dateCsv(text);
    case "timestamp":
      return timestampCsv(text, "");
    case "timestamptz":
      return timestampCsv(text, "Z");
    case "time":
      return timeCsv(text);
    default:
      return text;
  }
}

/** A one-dimensional array's text (`{1,NULL,"a b"}`) as a JSON array of its elements. */
export function listCsv(kind: ScalarKind, delimiter: string, text: string): string {
  let json = "[";
  let first = true;
  for (const item of splitArrayText(text, delimiter)) {
    if (!first) json += ",";
    first = false;
    json += item === null ? "null" : elementJson(kind, item);
  }
  return json + "]";
}

/** An array element as the JSON value the CSV writer puts in a list. */
function elementJson(kind: ScalarKind, text: string): string {
  switch (kind) {
    case "float32":
    case "float64":
      // JSON has no literal for these, so they travel as strings rather than being lost.
      return text === "NaN" || text === "Infinity" || text === "-Infinity" ? `"${text}"` : text;
    case "text":
    case "uuid":
      return JSON.stringify(text);
    case "bytea":
    case "date":
    case "timestamp":
    case "timestamptz":
    case "time":
      return `"${scalarCsv(kind, text)}"`;
    default:
      return scalarCsv(kind, text);
  }
}
