/**
 * Splits PostgreSQL's array text (what `array_out` prints) into its elements.
 *
 * Written for the server's own output, not for everything `array_in` accepts. Elements are
 * separated by the element type's `typdelim`, which is not always a comma: `box` values contain
 * commas, so box arrays use `;`. An element is quoted when it holds a delimiter, brace, quote,
 * backslash or white space, or is empty or the word NULL; inside quotes a backslash escapes the
 * next character. An unquoted `NULL` is an SQL NULL.
 *
 * @module
 */
import { TypeMappingError } from "../../errors.ts";

const QUOTE = 34;
const LBRACKET = 91;
const BACKSLASH = 92;
const LBRACE = 123;
const RBRACE = 125;

function malformed(text: string): TypeMappingError {
  return new TypeMappingError(`unexpected array text "${text.slice(0, 40)}" from the server`);
}

/**
 * The elements of the one-dimensional array `text`, in order, `null` for NULL elements. Fails on a
 * multi-dimensional array, which no List holds exactly.
 */
export function splitArrayText(text: string, delimiter: string): (string | null)[] {
  const last = text.length - 1;
  // `[0:2]={...}`: bounds other than 1-based are printed first; a List has no lower bound.
  let i = text.charCodeAt(0) === LBRACKET ? text.indexOf("=") + 1 : 0;
  if (text.charCodeAt(i) !== LBRACE || text.charCodeAt(last) !== RBRACE || i >= last) {
    throw malformed(text);
  }
  i++;
  const items: (string | null)[] = [];
  if (i === last) return items;
  const delim = delimiter.charCodeAt(0);
  for (;;) {
    const c = text.charCodeAt(i);
    if (c === LBRACE) {
      throw new TypeMappingError(
        "holds a multi-dimensional array, which has no exact List mapping",
      );
    }
    if (c === QUOTE) {
      let value = "";
      let start = ++i;
      for (;;) {
        if (i >= last) throw malformed(text);
        const q = text.charCodeAt(i);
        if (q === QUOTE) break;
        if (q === BACKSLASH) {
          value += text.slice(start, i);
          // The escaped character starts the next run and is stepped over, even a quote.
          start = ++i;
        }
        i++;
      }
      items.push(value + text.slice(start, i));
      i++;
    } else {
      const start = i;
      while (i < last && text.charCodeAt(i) !== delim) i++;
      const value = text.slice(start, i);
      items.push(value === "NULL" ? null : value);
    }
    if (i === last) return items;
    if (text.charCodeAt(i) !== delim) throw malformed(text);
    i++;
  }
}
