/**
 * The SQL dialect of each engine, available before any connection is opened (the planner needs it
 * to wrap queries).
 *
 * @module
 */
import type { SourceType } from "../config/types.ts";
import { mysqlDialect } from "./mysql/dialect.ts";
import { postgresDialect } from "./postgres/dialect.ts";
import type { Dialect } from "../sql.ts";

/** The dialect of `type`. */
export function dialectFor(type: SourceType): Dialect {
  return type === "postgres" ? postgresDialect : mysqlDialect;
}
