/**
 * Resolves a result's RowDescription to columns, asking `pg_type` (once) about OIDs that are not
 * built in.
 *
 * @module
 */
import type { FieldDef } from "pg";
import { TypeMappingError } from "../../errors.ts";
import type { PgSession } from "./connect.ts";
import {
  needsLookup,
  parseTypeRows,
  PG_TYPE_LOOKUP_SQL,
  type PgColumn,
  type PgTypeRow,
  resolveColumns,
} from "./types.ts";

/** The columns of a result, or a TypeMappingError naming every column that cannot be exported. */
export async function describeColumns(
  session: PgSession,
  fields: readonly FieldDef[],
): Promise<PgColumn[]> {
  if (fields.length === 0) throw new TypeMappingError("the query returns no columns");
  const unknown = [...new Set(fields.map((f) => f.dataTypeID).filter(needsLookup))];
  let catalog = new Map<number, PgTypeRow>();
  if (unknown.length > 0) {
    const result = await session.run(PG_TYPE_LOOKUP_SQL, [`{${unknown.join(",")}}`]);
    catalog = parseTypeRows(result.rows);
  }
  return resolveColumns(fields, catalog);
}
