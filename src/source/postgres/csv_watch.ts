/**
 * The watched column of a COPY csv stream (the incremental cursor): its last non-NULL value in a
 * run of whole records, read from the server's text and brought to the text the CSV writer would
 * render for it, so the cursor is the one the Arrow path reads (see `pipeline/typed_value.ts`).
 * Records are read from the last backwards, and only up to the watched field.
 *
 * @module
 */
import type { Records } from "./copy_rows.ts";
import { closingQuote, unquote } from "./csv_rewrite.ts";
import { scalarCsv } from "./csv_value.ts";
import type { PgColumn } from "./types.ts";

const QUOTE = 34;
const COMMA = 44;

/**
 * The last non-NULL value of column `c` of `columns` in `records`, unquoted, in rivet's CSV text;
 * undefined when every one is NULL.
 */
export function lastValue(
  records: Records,
  columns: readonly PgColumn[],
  c: number,
): string | undefined {
  const { bytes: buf, rows, ends } = records;
  const last = columns.length - 1;
  for (let r = rows - 1; r >= 0; r--) {
    let at = r === 0 ? 0 : ends[r - 1];
    for (let k = 0; k < c; k++) {
      at = (buf[at] === QUOTE ? closingQuote(buf, at + 1) : buf.indexOf(COMMA, at)) + 1;
    }
    const quoted = buf[at] === QUOTE;
    const end = c === last
      ? ends[r] - 1
      : quoted
      ? closingQuote(buf, at + 1)
      : buf.indexOf(COMMA, at);
    // An empty unquoted field is NULL.
    if (!quoted && end === at) continue;
    return scalarCsv(columns[c].scalar.kind, unquote(buf.subarray(at, end)));
  }
  return undefined;
}
