/**
 * MySQL/MariaDB SQL dialect: `` `ident` `` quoting, `?` placeholders, and binding typed values into
 * the query text.
 *
 * Binding happens here rather than in mysql2: mysql2 finds placeholders assuming the default
 * `sql_mode`, so under `NO_BACKSLASH_ESCAPES` a user query holding `'C:\'` could make it splice a
 * value inside a string literal. This scanner reads the session's actual mode, and every value is
 * written as a typed literal whose text is validated first (digits, dates) or hex-encoded
 * (strings), so a value can never change the statement and comparisons are exact: an integer
 * cursor is an integer literal (never a double), a timestamp a `TIMESTAMP '...'` literal with its
 * microseconds.
 *
 * @module
 */
import { ConfigError } from "../../errors.ts";
import type { Dialect, SqlQuery, TypedValue } from "../../sql.ts";
import { isDigit } from "../../util/ascii_digit.ts";

/** The parts of the session's `sql_mode` that change how SQL text is tokenized. */
export interface SqlMode {
  /** Backslash is an ordinary character inside string literals. */
  noBackslashEscapes: boolean;
  /** `"..."` quotes an identifier, not a string. */
  ansiQuotes: boolean;
}

/** Reads the tokenizing flags from an `@@sql_mode` value (`ANSI` implies `ANSI_QUOTES`). */
export function parseSqlMode(value: string): SqlMode {
  const flags = new Set(value.toUpperCase().split(","));
  return {
    noBackslashEscapes: flags.has("NO_BACKSLASH_ESCAPES"),
    ansiQuotes: flags.has("ANSI_QUOTES") || flags.has("ANSI"),
  };
}

/** Quotes an identifier with backticks, doubling embedded ones (`` a`b `` -> `` `a``b` ``). */
export function quoteIdent(name: string): string {
  return `\`${name.replaceAll("`", "``")}\``;
}

/** An identifier for a message: bare when that is unambiguous, quoted otherwise. */
export function displayIdent(name: string): string {
  return /^[A-Za-z_][A-Za-z0-9_$]*$/.test(name) ? name : quoteIdent(name);
}

/** The MySQL {@link Dialect}: every placeholder is `?`, bound in order. */
export const mysqlDialect: Dialect = {
  quoteIdent,
  placeholder: (): string => "?",
};

const QUOTE = 39; // '
const DOUBLE_QUOTE = 34; // "
const BACKTICK = 96; // `
const BACKSLASH = 92;
const HASH = 35;
const DASH = 45;
const SLASH = 47;
const STAR = 42;
const QUESTION = 63;

/** Index just past the quoted token opening at `start`; `escapes` says whether `\` escapes. */
function skipQuoted(sql: string, start: number, quote: number, escapes: boolean): number {
  for (let i = start + 1; i < sql.length; i++) {
    const c = sql.charCodeAt(i);
    if (escapes && c === BACKSLASH) {
      i++;
    } else if (c === quote) {
      if (sql.charCodeAt(i + 1) !== quote) return i + 1;
      i++;
    }
  }
  return sql.length;
}

/** Positions of the `?` placeholders: those outside strings, quoted identifiers and comments. */
export function findPlaceholders(sql: string, mode: SqlMode): number[] {
  const found: number[] = [];
  const escapes = !mode.noBackslashEscapes;
  for (let i = 0; i < sql.length; i++) {
    const c = sql.charCodeAt(i);
    if (c === QUESTION) {
      found.push(i);
    } else if (c === QUOTE) {
      i = skipQuoted(sql, i, c, escapes) - 1;
    } else if (c === DOUBLE_QUOTE) {
      i = skipQuoted(sql, i, c, escapes && !mode.ansiQuotes) - 1;
    } else if (c === BACKTICK) {
      i = skipQuoted(sql, i, c, false) - 1;
    } else if (
      c === HASH || (c === DASH && sql.charCodeAt(i + 1) === DASH && isDashComment(sql, i))
    ) {
      const end = sql.indexOf("\n", i);
      i = end === -1 ? sql.length : end;
    } else if (c === SLASH && sql.charCodeAt(i + 1) === STAR && !isExecutableComment(sql, i)) {
      const end = sql.indexOf("*/", i + 2);
      i = end === -1 ? sql.length : end + 1;
    }
  }
  return found;
}

/** `--` starts a comment only when followed by whitespace, a control character or the end. */
function isDashComment(sql: string, at: number): boolean {
  return at + 2 >= sql.length || sql.charCodeAt(at + 2) <= 32;
}

/** `/*!...*\/` and MariaDB's `/*M!...*\/` are executed, so placeholders inside them count. */
function isExecutableComment(sql: string, at: number): boolean {
  const next = sql.charCodeAt(at + 2);
  return next === 33 /* ! */ || (next === 77 /* M */ && sql.charCodeAt(at + 3) === 33);
}

const INTEGER = /^[+-]?\d+$/;
const DECIMAL = /^[+-]?\d+(\.\d+)?$/;
const DATE = /^\d{4}-\d{2}-\d{2}$/;
const TIMESTAMP = /^(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2}:\d{2}(?:\.\d{1,6})?)(Z|[+-]00:?00)?$/;

const encoder = new TextEncoder();

function invalid(value: TypedValue): ConfigError {
  return new ConfigError(
    `cannot bind ${value.kind} value "${value.text}" as a MySQL literal (unexpected format)`,
  );
}

/**
 * The SQL literal for `value`. Strings are written as `_utf8mb4 X'...'`: the same character set,
 * collation and coercibility as a quoted literal after `SET NAMES utf8mb4`, with nothing left for
 * the `sql_mode` to reinterpret.
 */
export function literal(value: TypedValue): string {
  const text = value.text;
  switch (value.kind) {
    case "int":
      if (!INTEGER.test(text)) throw invalid(value);
      return text.replace(/^\+/, "");
    case "decimal":
      if (!DECIMAL.test(text)) throw invalid(value);
      return text.replace(/^\+/, "");
    case "float": {
      const n = Number(text);
      if (text.trim() === "" || !Number.isFinite(n)) throw invalid(value);
      // The exponent makes MySQL read an approximate (DOUBLE) literal, not an exact DECIMAL one.
      return n.toExponential();
    }
    case "bool":
      if (text !== "true" && text !== "false") throw invalid(value);
      return text.toUpperCase();
    case "date":
      if (!DATE.test(text)) throw invalid(value);
      return `DATE '${text}'`;
    case "timestamp":
    case "timestamptz": {
      // The session time zone is UTC, so a `Z` instant and the naive UTC text are the same value.
      const m = TIMESTAMP.exec(text);
      if (m === null) throw invalid(value);
      return `TIMESTAMP '${m[1]} ${m[2]}'`;
    }
    case "text": {
      let hex = "";
      for (const byte of encoder.encode(text)) hex += byte.toString(16).padStart(2, "0");
      return hex === "" ? "''" : `_utf8mb4 X'${hex}'`;
    }
  }
}

/**
 * The statement text with every placeholder replaced by its value's literal. A query without
 * parameters is returned as is (whatever it holds); otherwise the number of placeholders must
 * match.
 */
export function bindParams(query: SqlQuery, mode: SqlMode): string {
  if (query.params.length === 0) return query.text;
  const at = findPlaceholders(query.text, mode);
  if (at.length !== query.params.length) {
    throw new ConfigError(
      `the MySQL query has ${at.length} '?' placeholder(s) outside quotes and comments but ` +
        `${query.params.length} value(s) to bind; remove any stray '?' from the query`,
    );
  }
  let sql = "";
  let from = 0;
  at.forEach((position, i) => {
    sql += query.text.slice(from, position) + literal(query.params[i]);
    from = position + 1;
  });
  return sql + query.text.slice(from);
}

/** One token of a statement; comments are dropped, executable comments read as code. */
export interface Token {
  /**
   * `word`: a bare identifier, keyword or number; `ident`: a quoted identifier (`text` is the
   * name, unquoted); `string`: a string literal; `punct`: any other single character.
   */
  kind: "word" | "ident" | "string" | "punct";
  text: string;
  /** Parentheses around the token; a parenthesis itself is at the level outside it. */
  depth: number;
}

/** Characters of an unquoted identifier, keyword or number (`[0-9A-Za-z$_]`, U+0080 and up). */
function isWordChar(c: number): boolean {
  return isDigit(c) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 36 ||
    c === 95 || c >= 128;
}

/**
 * Splits `sql` into tokens the way the server reads it under `mode`: strings, quoted identifiers
 * and comments are recognised as in {@link findPlaceholders}; the markers of an executable comment
 * (`/*!50100 ... *\/`, `/*M!...`) are dropped and its content kept.
 */
export function tokenize(sql: string, mode: SqlMode): Token[] {
  const tokens: Token[] = [];
  const escapes = !mode.noBackslashEscapes;
  let depth = 0;
  let inExecutable = false;
  for (let i = 0; i < sql.length;) {
    const c = sql.charCodeAt(i);
    if (c <= 32) {
      i++;
    } else if (
      c === HASH || (c === DASH && sql.charCodeAt(i + 1) === DASH && isDashComment(sql, i))
    ) {
      const end = sql.indexOf("\n", i);
      i = end === -1 ? sql.length : end + 1;
    } else if (c === SLASH && sql.charCodeAt(i + 1) === STAR) {
      if (isExecutableComment(sql, i)) {
        i += sql.charCodeAt(i + 2) === 33 ? 3 : 4;
        while (i < sql.length && isDigit(sql.charCodeAt(i))) i++;
        inExecutable = true;
      } else {
        const end = sql.indexOf("*/", i + 2);
        i = end === -1 ? sql.length : end + 2;
      }
    } else if (inExecutable && c === STAR && sql.charCodeAt(i + 1) === SLASH) {
      inExecutable = false;
      i += 2;
    } else if (c === BACKTICK || (c === DOUBLE_QUOTE && mode.ansiQuotes)) {
      const end = skipQuoted(sql, i, c, false);
      const quote = String.fromCharCode(c);
      const name = sql.slice(i + 1, end - 1).replaceAll(quote + quote, quote);
      tokens.push({ kind: "ident", text: name, depth });
      i = end;
    } else if (c === QUOTE || c === DOUBLE_QUOTE) {
      const end = skipQuoted(sql, i, c, escapes);
      tokens.push({ kind: "string", text: sql.slice(i, end), depth });
      i = end;
    } else if (isWordChar(c)) {
      let end = i + 1;
      while (end < sql.length && isWordChar(sql.charCodeAt(end))) end++;
      tokens.push({ kind: "word", text: sql.slice(i, end), depth });
      i = end;
    } else {
      if (c === 41 /* ) */) depth = Math.max(0, depth - 1);
      tokens.push({ kind: "punct", text: sql[i], depth });
      if (c === 40 /* ( */) depth++;
      i++;
    }
  }
  return tokens;
}
