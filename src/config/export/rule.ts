/**
 * What every export rule receives: the raw YAML entry, where it stands in the file, and how to fail
 * so that the error names the file, the line, the export and the key.
 *
 * @module
 */
import type { Variables } from "../expand.ts";
import type { KeyPath } from "../location.ts";
import type { CompressionName, ConfigSite, FormatName } from "../types.ts";

/** Throws a `ConfigError` for `keyPath` (its value's line, or its key's line with `keyLine`). */
export type Fail = (message: string, keyPath?: KeyPath, keyLine?: boolean) => never;

/** One `exports[]` entry as the schema admits it, before resolution. */
export interface RawExport {
  name: string;
  query?: string;
  query_file?: string;
  mode?: "full" | "incremental" | "chunked" | "time_window";
  cursor_column?: string;
  chunk_column?: string;
  chunk_size?: number;
  parallel?: number;
  time_column?: string;
  time_column_type?: "timestamp" | "unix";
  days_window?: number;
  max_file_size?: string | number;
  meta_columns?: { exported_at?: boolean; row_hash?: boolean };
  quality?: {
    row_count_min?: number;
    row_count_max?: number;
    null_ratio_max?: Record<string, number>;
    unique_columns?: string[];
  };
  format?: FormatName;
  compression?: CompressionName;
  compression_level?: number;
  skip_empty?: boolean;
  key_column?: string | string[];
  destination: {
    type: "local" | "stdout" | "s3" | "gcs";
    path?: string;
    bucket?: string;
    prefix?: string;
    region?: string;
    endpoint?: string;
    access_key_env?: string;
    secret_key_env?: string;
    credentials_file?: string;
  };
}

/** The entry being resolved and the means to report on it. */
export interface RuleContext {
  /** The entry, already checked against the JSON Schema. */
  raw: RawExport;
  /** Its position in `exports`. */
  index: number;
  /** The config file's directory: relative paths resolve against it. */
  dir: string;
  /** `--param` values and the environment, for `${VAR}` in query files. */
  vars: Variables;
  /** Reports a problem with one of the entry's keys. */
  fail: Fail;
  /** Where a key path stands in the file, for errors the run finds later. */
  site: (keyPath: KeyPath) => ConfigSite;
}

/** The key path of `key` inside this entry, e.g. `["exports", 2, "cursor_column"]`. */
export function keyOf(ctx: RuleContext, ...key: string[]): KeyPath {
  return ["exports", ctx.index, ...key];
}

/** How users read the key in messages: `exports[2].cursor_column`. */
export function labelOf(ctx: RuleContext, key: string): string {
  return `exports[${ctx.index}].${key}`;
}
