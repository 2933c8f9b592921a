/**
 * The ASCII digit test that byte-level parsers (the CSV fast paths, the SQL tokenizer) share:
 * they read bytes or UTF-16 code units, never strings, so a regular expression does not apply.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { isDigit } from "./ascii_digit.ts";
 *
 * const bytes = new TextEncoder().encode("7x");
 * assert.equal(isDigit(bytes[0]), true);
 * assert.equal(isDigit(bytes[1]), false);
 * assert.equal(isDigit("٣".charCodeAt(0)), false); // only ASCII '0'-'9'
 * ```
 *
 * @module
 */

/** Whether the byte (or UTF-16 code unit) `c` is one of the ASCII digits `0`-`9`. */
export function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}
