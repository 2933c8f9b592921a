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
  /**
   * Memory budget of one batch in MiB (`batch_size_memory_mb`): when set, the sources size their
   * batches from the measured width of the rows instead of `batchSize`.
   */
  batchSizeMemoryMb?: number;
}

/** Everything needed to open a connection; the password is already resolved. */
export interface ConnectionSettings {
  /** Server host name or address. */
  host: string;
  /** Server port (default 5432 for PostgreSQL, 3306 for MySQL). */
  port: number;
  /** Login user. */
  user: string;
  /** Password, when one is configured (never printed). */
  password?: string;
  /** Database to connect to. */
  database: string;
  /** Extra URL query parameters (e.g. `sslmode`), passed through to the driver. */
  options: Record<string, string>;
}

/** The `source` section, resolved. */
export interface SourceConfig {
  /** The engine. */
  type: SourceType;
  /** How to connect. */
  connection: ConnectionSettings;
  /** How gently to read (spec "Source Tuning"). */
  tuning: Tuning;
  /** The absolute path of `url_file`, when the URL comes from one. */
  urlFile?: string;
}

/** An export's mode with the settings that belong to it (spec "Choosing a Mode"). */
export type ExportModeConfig =
  | {
    /** The whole query result every run. */
    kind: "full";
  }
  | {
    /** The rows after the stored cursor. */
    kind: "incremental";
    /** The column whose last exported value the next run resumes after. */
    cursorColumn: string;
  }
  | {
    /** Windows of the chunk column's range, one query and one file each. */
    kind: "chunked";
    /** The integer, date or timestamp column the windows are cut on. */
    chunkColumn: string;
    /** Width of a window: key values for integers, days for dates and timestamps. */
    chunkSize: number;
    /** Windows extracted at once, each on its own connection. */
    parallel: number;
  }
  | {
    /** The rows of the last `daysWindow` days. */
    kind: "time_window";
    /** The column compared with the window start. */
    timeColumn: string;
    /** `timestamp` (date/time values) or `unix` (epoch seconds). */
    timeColumnType: "timestamp" | "unix";
    /** The window starts at UTC midnight this many days ago. */
    daysWindow: number;
  };

/** Where a config value stands, for errors found only once the export runs. */
export interface ConfigSite {
  /** Absolute path of the YAML file. */
  file: string;
  /** 1-based line of the value. */
  line?: number;
  /** Dotted key path, e.g. `exports[1].quality.unique_columns[0]`. */
  key: string;
}

/** `quality`: gates a run's rows must pass before anything is delivered. */
export interface QualityConfig {
  /** Fewest rows the run may deliver. */
  rowCountMin?: number;
  /** Most rows the run may deliver. */
  rowCountMax?: number;
  /** Highest share of NULLs (0..1) allowed per column. */
  nullRatioMax: Record<string, number>;
  /** Columns whose non-NULL values must not repeat. */
  uniqueColumns: string[];
  /** Where each column is named: `null_ratio_max.<column>` and `unique_columns[<i>]` entries. */
  sites: { nullRatioMax: Record<string, ConfigSite>; uniqueColumns: ConfigSite[] };
}

/** When a Slack message is sent for an export. */
export type SlackTrigger = "failure" | "schema_change" | "degraded";

/** `notifications.slack`, resolved. */
export interface SlackConfig {
  /** The incoming-webhook URL (a secret: never printed). */
  webhookUrl: string;
  /** The triggers that send a message. */
  on: SlackTrigger[];
}

/** `meta_columns`: extra columns appended to every row (spec "Meta Columns"). */
export interface MetaColumns {
  /** `_rivet_exported_at`: when the batch was exported. */
  exportedAt: boolean;
  /** `_rivet_row_hash`: a 64-bit hash of the row's source columns. */
  rowHash: boolean;
}

/** Export mode names, as written in `mode:` and stored in metrics. */
export type ExportMode = ExportModeConfig["kind"];

/** Output file formats. */
export type FormatName = "parquet" | "csv";

/** Parquet codecs. */
export type CompressionName = "zstd" | "snappy" | "gzip" | "lz4" | "none";

/** Where finished files go. */
export type DestinationConfig =
  | {
    /** A directory on this machine. */
    type: "local";
    /** Absolute directory path (created if missing). */
    path: string;
  }
  | {
    /** The process's standard output. */
    type: "stdout";
  }
  | S3DestinationConfig
  | GcsDestinationConfig;

/** An S3 (or S3-compatible) bucket (spec "Destinations", "Credential precedence"). */
export interface S3DestinationConfig {
  /** Discriminator. */
  type: "s3";
  /** The bucket. */
  bucket: string;
  /** Key prefix; object keys are `prefix/file` with exactly one `/` between (empty: none). */
  prefix: string;
  /** The bucket's region, when given. */
  region?: string;
  /** An S3-compatible endpoint URL (path-style addressing), when given. */
  endpoint?: string;
  /**
   * Keys read from the two named environment variables; absent: the SDK's default chain
   * (environment, shared config and credentials files, instance metadata).
   */
  keys?: S3Keys;
}

/** S3 credentials from `access_key_env` and `secret_key_env`, resolved when the config loads. */
export interface S3Keys {
  /** The variable named by `access_key_env`. */
  accessKeyEnv: string;
  /** The variable named by `secret_key_env`. */
  secretKeyEnv: string;
  /** Its value. */
  accessKeyId: string;
  /** Its value (registered as a secret: never printed). */
  secretAccessKey: string;
}

/** A Google Cloud Storage bucket (spec "Destinations", "Credential precedence"). */
export interface GcsDestinationConfig {
  /** Discriminator. */
  type: "gcs";
  /** The bucket. */
  bucket: string;
  /** Object name prefix; names are `prefix/file` with exactly one `/` between (empty: none). */
  prefix: string;
  /** A custom API endpoint, when given. */
  endpoint?: string;
  /**
   * A service-account JSON file (absolute; relative paths resolve against the config); absent:
   * `GOOGLE_APPLICATION_CREDENTIALS`, then the user's ADC file, then the metadata server.
   */
  credentialsFile?: string;
}

/** One entry of `exports[]`, resolved. */
export interface ExportConfig {
  /** Unique name: the state key and the prefix of file names. */
  name: string;
  /** The SQL text after `${...}` expansion (from `query` or `query_file`). */
  query: string;
  /** The absolute path of `query_file`, when the SQL comes from one. */
  queryFile?: string;
  /** The mode and its settings. */
  mode: ExportModeConfig;
  /**
   * `key_column`: read page by page in this key's order, each page its own short statement
   * (keyset paging); absent: one streamed statement.
   */
  keyColumns?: string[];
  /** Output file format. */
  format: FormatName;
  /** Parquet codec (CSV ignores it). */
  compression: CompressionName;
  /** Only set when the user gave one; writers apply their codec default otherwise. */
  compressionLevel?: number;
  /** Split output into parts of at most about this many bytes (`max_file_size`). */
  maxFileSize?: number;
  /** Extra columns appended to every row. */
  metaColumns: MetaColumns;
  /** Data quality gates checked before delivery (`quality`), if any. */
  quality?: QualityConfig;
  /** With no rows: status `skipped` instead of `success` (no file either way). */
  skipEmpty: boolean;
  /** Where the files go. */
  destination: DestinationConfig;
}

/** The whole resolved configuration. */
export interface Config {
  /** Absolute path of the YAML file. */
  path: string;
  /** Directory of the YAML file: relative paths and the state database live here. */
  dir: string;
  /** The database to read from. */
  source: SourceConfig;
  /** The exports, in config order. */
  exports: ExportConfig[];
  /** Where to report runs (`notifications.slack`), if anywhere. */
  notifications?: { slack?: SlackConfig };
}
