/**
 * Quoting shared by the completion scripts: every shell rivet generates for reads a
 * single-quoted string literally, except for the quote itself, which each spells its own way.
 *
 * @module
 */

/**
 * Single-quotes `text` for a POSIX-style shell (bash, zsh).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 *
 * assert.equal(shellQuote("it's"), `'it'\\''s'`);
 * ```
 */
export function shellQuote(text: string): string {
  return `'${text.replaceAll("'", `'\\''`)}'`;
}

/**
 * Single-quotes `text` for fish, where a backslash inside single quotes escapes `'` and `\`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 *
 * assert.equal(fishQuote("a\\b 'c'"), `'a\\\\b \\'c\\''`);
 * ```
 */
export function fishQuote(text: string): string {
  return `'${text.replaceAll("\\", "\\\\").replaceAll("'", "\\'")}'`;
}

/**
 * Single-quotes `text` for PowerShell, where a quote is doubled.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 *
 * assert.equal(powershellQuote("it's"), "'it''s'");
 * ```
 */
export function powershellQuote(text: string): string {
  return `'${text.replace(/['\u2018\u2019\u201a\u201b]/g, (q) => q + q)}'`;
}
