/**
 * Field metadata keys the sources attach to every Arrow field they produce.
 *
 * @module
 */

/** Metadata keys: the database type, rivet's logical type, and Arrow's extension name. */
export const METADATA = {
  /** The source database's type name, e.g. `numeric(38,10)` or `bigint unsigned`. */
  sourceType: "rivet.source_type",
  /**
   * `decimal` for exact decimal text carried in a Utf8 column; `wkb` for a geometry carried in a
   * Binary column as (E)WKB.
   */
  logicalType: "rivet.logical_type",
  /** `arrow.json` for JSON text. */
  extensionName: "ARROW:extension:name",
} as const;
