/**
 * The resolved, validated configuration that every other layer consumes.
 *
 * Loading (YAML, `${VAR}` expansion, credentials, profiles) happens in `src/config/`; nothing outside
 * that folder ever sees raw YAML.
 *
 * @module
 */

/** Database engines rivet can read from. */
export type SourceType = "postgres" | "mysql";

/** Named tuning profiles (spec "Choosing a Profile"). */
export type ProfileName = "fast" | "balanced" | "safe";

/** Effective tuning after applying the profile defaults and per-field overrides. */
export interface Tuning {
  /** The profile the values started from. */
  profile: ProfileName;
  /** Rows per batch (one FETCH / one Arrow record batch). */
  batchSize: number;
  /** Sleep between batches, in milliseconds. */
  throttleMs: number;
  /** Per-statement timeout in seconds; 0 means none. */
  statementTimeoutS: number;
  /** Retries after the first attempt. */
  maxRetries: number;
  /** Base of the exponential backoff between attempts. */
  retryBackoffMs: number;
  /** Lock wait timeout in seconds; 0 means none. */
  lockTimeoutS: number;
}

/** Everything needed to open a connection; the password is already resolved. */
export interface ConnectionSettings {
  host: string;
  port: number;
  user: string;
  password?: string;
  database: string;
  /** Extra URL query parameters (e.g. `sslmode`), passed through to the driver. */
  options: Record<string, string>;
}

/** The `source` section, resolved. */
export interface SourceConfig {
  type: SourceType;
  connection: ConnectionSettings;
  tuning: Tuning;
}

/** Export modes. Only `full` and `incremental` run today. */
export type ExportMode = "full" | "incremental";

/** Output file formats. */
export type FormatName = "parquet" | "csv";

/** Parquet codecs. */
export type CompressionName = "zstd" | "snappy" | "gzip" | "lz4" | "none";

/** Where finished files go. */
export type DestinationConfig =
  | { type: "local"; path: string }
  | { type: "stdout" };

/** One entry of `exports[]`, resolved. */
export interface ExportConfig {
  name: string;
  /** The SQL text after `${...}` expansion (from `query` or `query_file`). */
  query: string;
  mode: ExportMode;
  cursorColumn?: string;
  format: FormatName;
  compression: CompressionName;
  /** Only set when the user gave one; writers apply their codec default otherwise. */
  compressionLevel?: number;
  skipEmpty: boolean;
  destination: DestinationConfig;
}

/** The whole resolved configuration. */
export interface Config {
  /** Absolute path of the YAML file. */
  path: string;
  /** Directory of the YAML file: relative paths and the state database live here. */
  dir: string;
  source: SourceConfig;
  exports: ExportConfig[];
}
