/**
 * PostgreSQL SQL dialect: `"ident"` quoting and `$n` placeholders.
 *
 * @module
 */
import type { Dialect } from "../source.ts";

/** Quotes an identifier with double quotes, doubling embedded ones (`a"b` -> `"a""b"`). */
export function quoteIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/** An identifier for a message: bare when that is unambiguous, quoted otherwise. */
export function displayIdent(name: string): string {
  return /^[a-z_][a-z0-9_$]*$/.test(name) ? name : quoteIdent(name);
}

/**
 * The query text ready to embed in `DECLARE ... FOR` or `COPY (...)`: trailing semicolons and
 * whitespace removed. Callers wrap it on its own lines so a trailing `-- comment` stays harmless.
 */
export function statementBody(text: string): string {
  return text.replace(/[\s;]+$/, "");
}

/** The PostgreSQL {@link Dialect}. */
export const postgresDialect: Dialect = {
  quoteIdent,
  placeholder: (index: number): string => `$${index}`,
};
