/**
 * PostgreSQL SQL dialect: `"ident"` quoting and `$n` placeholders.
 *
 * @module
 */
import type { Dialect } from "../../sql.ts";

/** Quotes an identifier with double quotes, doubling embedded ones (`a"b` -> `"a""b"`). */
export function quoteIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/** An identifier for a message: bare when that is unambiguous, quoted otherwise. */
export function displayIdent(name: string): string {
  return /^[a-z_][a-z0-9_$]*$/.test(name) ? name : quoteIdent(name);
}

/** The PostgreSQL {@link Dialect}. */
export const postgresDialect: Dialect = {
  quoteIdent,
  placeholder: (index: number): string => `$${index}`,
};
