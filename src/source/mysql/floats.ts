/**
 * Exact FLOAT columns over the text protocol, which the batches read when the server will not
 * prepare their query (`unpreparable.ts`); every other read is of binary rows, where a FLOAT is its
 * four bytes (`binary_row.ts`).
 *
 * The server prints a FLOAT (single precision) with 6 significant digits (`1.2345678` arrives as
 * `1.23457`, 16777216 as `16777200` or `1.67772e7`), which loses bits. The same value widened to DOUBLE is
 * printed in full (`1.2345677614212036`), and Float32 holds that double exactly. So before a query
 * runs, the server describes it without executing it (a prepared statement, closed at once: one
 * round trip), and when the result has FLOAT columns the query is run as
 *
 * ```sql
 * SELECT `id`, `f` * 1e0 AS `f` FROM (<query>
 * ) AS _rivet_f ORDER BY `id`
 * ```
 *
 * with every column in its place under its name, and the decoder reads `f` back into Float32
 * (`rivet.source_type` `float`). `* 1e0` rather than `CAST(f AS DOUBLE)` (not before MySQL
 * 8.0.17) or `+ 0e0` (which turns -0 into 0): multiplying by one is exact and keeps the sign of
 * zero. The statement runs once; describing it executes nothing.
 *
 * A derived table does not keep its rows' order (MariaDB drops an ORDER BY inside one), so the
 * query's top-level ORDER BY is repeated outside, where it names result columns. The query's
 * bound values stay inside, and the probe itself is the derived table, so a query the server does
 * not accept as one (duplicate column names, `SHOW ...`) is noticed before anything runs. When the
 * query cannot be wrapped, its ORDER BY cannot be repeated outside (an expression, a qualified
 * name), or a column name is too long to rely on (over 64 characters), it runs as written and the
 * FLOAT columns are read from their 6-digit text with a warning naming them, the reason
 * (`fallback`) and the cast that makes them exact.
 *
 * @module
 */
import { stripTerminator } from "../../sql.ts";
import type { MysqlSession } from "./connect.ts";
import { displayIdent, quoteIdent, type SqlMode, type Token, tokenize } from "./dialect.ts";
import { isSingleFloat, type MysqlColumn, type MysqlField } from "./types.ts";

/** The alias of the derived table around the user's query. */
export const WRAPPER_ALIAS = "_rivet_f";

/** How one query is read. */
export interface ReadPlan {
  /** The statement to run. */
  sql: string;
  /** The FLOAT definitions of the result columns (by position) the statement reads widened. */
  widened: ReadonlyMap<number, MysqlField>;
  /** Why the FLOAT columns of the result, if any, are read as the server's rounded text. */
  fallback?: string;
  /** The result's columns as the server described them; undefined when it could not. */
  described?: readonly MysqlField[];
}

/** The derived table that both describes the query and, when needed, carries it. */
function derived(sql: string): string {
  // The newline keeps a trailing `-- comment` in the query from swallowing the parenthesis.
  return `(${stripTerminator(sql)}\n) AS ${WRAPPER_ALIAS}`;
}

/**
 * The plan for `sql` (parameters already bound): describes `SELECT * FROM (<sql>) AS _rivet_f`
 * and, when it has FLOAT columns, wraps `sql` to read them exactly (see the module comment).
 */
export async function planRead(
  session: MysqlSession,
  sql: string,
  signal?: AbortSignal,
): Promise<ReadPlan> {
  // A query the server refuses in a derived table, or refuses at all, runs as written and reports
  // itself.
  const described = await session.describeOrRefusal(`SELECT * FROM ${derived(sql)}`, signal);
  if ("refusal" in described) {
    return {
      sql,
      widened: new Map(),
      fallback: `the server does not accept the query inside a derived table: ${
        described.refusal.message.replace(/^MySQL: /, "")
      }`,
    };
  }
  if (described.parameters > 0) {
    return { sql, widened: new Map(), fallback: "the query has unbound '?' placeholders" };
  }
  return {
    ...wrapFloats(sql, described.fields, session.server.sqlMode),
    described: described.fields,
  };
}

/**
 * The plan for `sql` given the columns of `SELECT * FROM (<sql>) AS _rivet_f`: `sql` itself when
 * no column is FLOAT, the wrapper reading them widened otherwise, or `sql` with the reason it
 * cannot be wrapped.
 */
export function wrapFloats(sql: string, fields: readonly MysqlField[], mode: SqlMode): ReadPlan {
  const widened = new Map<number, MysqlField>();
  fields.forEach((f, i) => {
    if (isSingleFloat(f)) widened.set(i, f);
  });
  if (widened.size === 0) return { sql, widened };
  const names = fields.map((f) => f.name);
  // Column names are at most 64 characters: a longer one (an expression without an alias) is not
  // relied on to name the same column outside the derived table on every server version.
  const unnamed = names.find((name) => name === "" || [...name].length > 64);
  if (unnamed !== undefined) {
    return {
      sql,
      widened: new Map(),
      fallback: `the result column ${
        unnamed === "" ? "with an empty name" : `"${[...unnamed].slice(0, 24).join("")}..."`
      } needs an alias of at most 64 characters`,
    };
  }
  const order = outerOrderBy(stripTerminator(sql), mode, names);
  if ("unsupported" in order) return { sql, widened: new Map(), fallback: order.unsupported };
  const list = names.map((name, i) => {
    const q = quoteIdent(name);
    return widened.has(i) ? `${q} * 1e0 AS ${q}` : q;
  });
  return { sql: `SELECT ${list.join(", ")} FROM ${derived(sql)}${order.orderBy}`, widened };
}

/** Keywords that may follow an ORDER BY list. */
const AFTER_ORDER_BY = new Set(["LIMIT", "OFFSET", "FETCH", "FOR", "LOCK", "INTO", "PROCEDURE"]);

function isWord(token: Token | undefined, ...words: string[]): boolean {
  return token?.kind === "word" && words.includes(token.text.toUpperCase());
}

function isPunct(token: Token | undefined, text: string): boolean {
  return token?.kind === "punct" && token.text === text;
}

/**
 * The ORDER BY to put after the wrapper (`""` when the query orders nothing at its top level), or
 * why the query's order cannot be repeated there. Each item must name a result column (bare or
 * quoted, matched as the server does, ignoring case) or give its position, with ASC/DESC.
 */
export function outerOrderBy(
  sql: string,
  mode: SqlMode,
  names: readonly string[],
): { orderBy: string } | { unsupported: string } {
  const tokens = tokenize(sql, mode);
  // `((SELECT ... ORDER BY x))`: parentheses around the whole query do not hide its order.
  let level = 0;
  let first = 0;
  let last = tokens.length - 1;
  while (
    isPunct(tokens[first], "(") && isPunct(tokens[last], ")") && tokens[last].depth === level &&
    tokens.slice(first + 1, last).every((t) => t.depth > level)
  ) {
    first++;
    last--;
    level++;
  }
  const top = tokens.slice(first, last + 1);
  const at: number[] = [];
  top.forEach((t, i) => {
    if (t.depth === level && isWord(t, "ORDER") && isWord(top[i + 1], "BY")) at.push(i);
  });
  if (at.length === 0) return { orderBy: "" };
  const unsupported = (what: string) => ({
    unsupported: `its ORDER BY ${what}, and a derived table does not keep the order of its rows`,
  });
  if (at.length > 1) return unsupported("appears more than once");
  const items: string[] = [];
  let i = at[0] + 2;
  for (;;) {
    const item = top[i];
    let name: string | undefined;
    if (item?.kind === "word" && /^\d+$/.test(item.text)) {
      name = names[Number(item.text) - 1];
      if (name === undefined) return unsupported(`names position ${item.text}`);
    } else if (
      item?.kind === "ident" ||
      (item?.kind === "word" && !AFTER_ORDER_BY.has(item.text.toUpperCase()))
    ) {
      name = resultColumn(item.text, names);
      if (name === undefined) {
        return unsupported(`uses ${displayIdent(item.text)}, which is not a result column`);
      }
    } else {
      return unsupported("is not a list of result columns");
    }
    let direction = "";
    if (isWord(top[i + 1], "ASC", "DESC")) {
      direction = ` ${top[i + 1].text.toUpperCase()}`;
      i++;
    }
    items.push(quoteIdent(name) + direction);
    const next = top[i + 1];
    if (next === undefined || (next.depth === level && isWord(next, ...AFTER_ORDER_BY))) break;
    if (!isPunct(next, ",")) return unsupported("is not a list of result columns");
    i += 2;
  }
  return { orderBy: ` ORDER BY ${items.join(", ")}` };
}

/** The result column `ref` names: the one spelled the same, else the only one equal ignoring case. */
function resultColumn(ref: string, names: readonly string[]): string | undefined {
  if (names.includes(ref)) return ref;
  const folded = names.filter((n) => n.toLowerCase() === ref.toLowerCase());
  return folded.length === 1 ? folded[0] : undefined;
}

/**
 * The warning for FLOAT columns read as the server's text (rounded to 6 significant digits), or
 * undefined when there are none.
 */
export function roundedFloatWarning(
  columns: readonly MysqlColumn[],
  reason: string | undefined,
): string | undefined {
  const rounded = columns.filter((c) => c.kind === "float32" && !c.widened);
  if (rounded.length === 0) return undefined;
  const names = rounded.map((c) => displayIdent(c.name));
  const casts = names.map((n) => `CAST(${n} AS DOUBLE) AS ${n}`).join(", ");
  const plural = names.length > 1;
  return `MySQL: FLOAT column${plural ? "s" : ""} ${names.join(", ")} ${plural ? "are" : "is"} ` +
    `read from the server's text, which rounds FLOAT to 6 significant digits, because ${
      reason ?? `the query did not describe ${plural ? "them" : "it"} as FLOAT`
    }; for exact values select ${casts} (or ${names[0]} * 1e0 before MySQL 8.0.17)`;
}
