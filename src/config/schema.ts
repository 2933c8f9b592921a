/**
 * The JSON Schema of `rivet.yaml`: the single source of truth for which keys exist, their types,
 * allowed values and nesting. Rules across keys of one export live in `export/`, one file each.
 *
 * @module
 */
import { DEFAULT_CHUNK_SIZE } from "./export/mode.ts";
import { PROFILES } from "./profiles.ts";
import type { ProfileName, Tuning } from "./types.ts";

/** A JSON Schema object (the subset this file uses). */
export type JsonSchema = Record<string, unknown>;

/** `schema` with a description (shown by editors and in docs/reference.md) and a default. */
function doc(schema: JsonSchema, description: string, defaultValue?: unknown): JsonSchema {
  return defaultValue === undefined
    ? { ...schema, description }
    : { ...schema, description, default: defaultValue };
}

// YAML reads `1e300` as an integer-valued float: beyond 2^53 a count is no longer exact.
const positiveInt = { type: "integer", minimum: 1, maximum: Number.MAX_SAFE_INTEGER };
const nonNegativeInt = { type: "integer", minimum: 0, maximum: Number.MAX_SAFE_INTEGER };
const nonEmptyString = { type: "string", minLength: 1 };
/** Seconds the servers accept as a timeout: PostgreSQL keeps it as a 32-bit count of milliseconds. */
const timeoutSeconds = { type: "integer", minimum: 0, maximum: Math.floor((2 ** 31 - 1) / 1000) };

/** A tuning field's description, ending with each profile's value of it. */
function tuned(
  field: Exclude<keyof Tuning, "profile" | "batchSizeMemoryMb">,
  what: string,
): string {
  const values = (Object.keys(PROFILES) as ProfileName[]).map((name) =>
    `${name} ${PROFILES[name][field]}`
  );
  return `${what} Default from the profile: ${values.join(", ")}.`;
}

const tuning: JsonSchema = doc({
  type: "object",
  additionalProperties: false,
  properties: {
    profile: doc(
      { enum: ["fast", "balanced", "safe"] },
      "The defaults of every other tuning field: fast (dedicated replica, no pauses or timeouts), balanced, safe (busy production primary: small batches, long pauses, patient retries).",
      "balanced",
    ),
    batch_size: doc(
      positiveInt,
      tuned(
        "batchSize",
        "Rows per fetch and per Arrow record batch. Not with batch_size_memory_mb.",
      ),
    ),
    throttle_ms: doc(
      nonNegativeInt,
      tuned("throttleMs", "Pause between batches, in milliseconds."),
    ),
    statement_timeout_s: doc(
      timeoutSeconds,
      tuned(
        "statementTimeoutS",
        "Timeout of each statement rivet sends, in seconds; 0 means none. PostgreSQL: each FETCH; MySQL: the server's work until the first row arrives.",
      ),
    ),
    max_retries: doc(
      nonNegativeInt,
      tuned(
        "maxRetries",
        "Retries of a failed piece after the first attempt (retryable errors only).",
      ),
    ),
    retry_backoff_ms: doc(
      nonNegativeInt,
      tuned(
        "retryBackoffMs",
        "Base of the exponential backoff: retry n waits retry_backoff_ms * 2^(n-1) ms, plus the error class's extra delay.",
      ),
    ),
    lock_timeout_s: doc(
      timeoutSeconds,
      tuned(
        "lockTimeoutS",
        "Lock wait timeout in seconds (PostgreSQL lock_timeout, MySQL innodb_lock_wait_timeout); 0 means none.",
      ),
    ),
    batch_size_memory_mb: doc(
      positiveInt,
      "Size batches by memory instead of rows: a batch ends when its column data reaches this many MiB, and the fetch size is computed from the measured row width. Not with batch_size.",
    ),
  },
}, "How gently rivet reads: a profile and per-field overrides.");

const source: JsonSchema = doc({
  type: "object",
  additionalProperties: false,
  required: ["type"],
  properties: {
    type: doc(
      { enum: ["postgres", "mysql"] },
      "The database engine (mysql covers MySQL 8 and MariaDB).",
    ),
    url: doc(
      nonEmptyString,
      "Connection URL, e.g. postgresql://app@db.example.com:5432/shop?sslmode=require or mysql://app@db.example.com/shop. Exactly one of url, url_env, url_file, or the structured fields.",
    ),
    url_env: doc(
      nonEmptyString,
      "Name of the environment variable holding the whole connection URL.",
    ),
    url_file: doc(
      nonEmptyString,
      "File holding the connection URL (trimmed), relative to the config file.",
    ),
    host: doc(nonEmptyString, "Structured style: server host (with user and database)."),
    port: doc(
      { type: "integer", minimum: 1, maximum: 65535 },
      "Structured style: server port. Default 5432 for postgres, 3306 for mysql.",
    ),
    user: doc(nonEmptyString, "Structured style: login user."),
    password: doc(
      { type: "string" },
      "Structured style: the password in plain text; prefer password_env. Not with password_env.",
    ),
    password_env: doc(
      nonEmptyString,
      "Structured style: name of the environment variable holding the password.",
    ),
    database: doc(nonEmptyString, "Structured style: database name."),
    tuning,
  },
}, "The database to read from, and how gently.");

const destination: JsonSchema = doc({
  type: "object",
  additionalProperties: false,
  required: ["type"],
  properties: {
    type: doc(
      { enum: ["local", "s3", "gcs", "stdout"] },
      "Where files go. Each type takes only its own keys: local (path), s3 (bucket, prefix, region, endpoint, access_key_env, secret_key_env), gcs (bucket, prefix, endpoint, credentials_file), stdout (none).",
    ),
    path: doc(
      nonEmptyString,
      "local: the output directory, created if missing, relative to the config file. Required for local.",
    ),
    bucket: doc(nonEmptyString, "s3, gcs: the bucket, which must exist. Required for s3 and gcs."),
    prefix: doc(
      { type: "string" },
      "s3, gcs: object name prefix: 'a/b' and 'a/b/' both put the files under a/b/. Empty: the bucket's top.",
      "",
    ),
    region: doc(
      nonEmptyString,
      "s3: the bucket's region. Default: the AWS SDK's (AWS_REGION, the profile), else us-east-1.",
    ),
    endpoint: doc(
      nonEmptyString,
      "s3: URL of an S3-compatible server (MinIO, Ceph), path-style addressing. gcs: base URL of the JSON and upload APIs (a private endpoint, an emulator).",
    ),
    access_key_env: doc(
      nonEmptyString,
      "s3: name of the environment variable holding the access key id. Both with secret_key_env or neither (then the AWS SDK's default chain).",
    ),
    secret_key_env: doc(
      nonEmptyString,
      "s3: name of the environment variable holding the secret access key. Both with access_key_env or neither.",
    ),
    credentials_file: doc(
      nonEmptyString,
      "gcs: a service-account key file, relative to the config file, used alone. Default: GOOGLE_APPLICATION_CREDENTIALS, then the gcloud ADC file, then the metadata server.",
    ),
  },
}, "Where the export's files go.");

const exportEntry: JsonSchema = doc({
  type: "object",
  additionalProperties: false,
  required: ["name", "destination"],
  properties: {
    name: doc(
      nonEmptyString,
      "Unique name: letters, digits, '_', '-', '.' (not starting with '.' or '-'). Used in file names, state and --export.",
    ),
    query: doc(
      nonEmptyString,
      "The SQL query; ${NAME} placeholders are expanded. Exactly one of query and query_file.",
    ),
    query_file: doc(
      nonEmptyString,
      "File holding the SQL query, relative to the config file. Exactly one of query and query_file.",
    ),
    mode: doc(
      { enum: ["full", "incremental", "chunked", "time_window"] },
      "full: the whole query every run. incremental: rows after the stored cursor_column value. chunked: windows of chunk_column, optionally in parallel. time_window: the last days_window days of time_column.",
      "full",
    ),
    cursor_column: doc(
      nonEmptyString,
      "incremental (required): the column whose last exported value the next run resumes after.",
    ),
    key_column: doc(
      {
        anyOf: [nonEmptyString, { type: "array", items: nonEmptyString, minItems: 1 }],
      },
      "Read in short pages by this unique, non-NULL (ideally indexed) column or list of columns instead of one long statement. incremental: starts with cursor_column, e.g. [updated_at, id].",
    ),
    chunk_column: doc(
      nonEmptyString,
      "chunked (required): the integer, date or timestamp column the windows are cut on.",
    ),
    chunk_size: doc(
      positiveInt,
      "chunked: width of one window: key values for integers, days for dates and timestamps.",
      DEFAULT_CHUNK_SIZE,
    ),
    parallel: doc(
      positiveInt,
      "chunked: windows extracted at once, each on its own connection.",
      1,
    ),
    time_column: doc(
      nonEmptyString,
      "time_window (required): the column compared with the window's start.",
    ),
    time_column_type: doc(
      { enum: ["timestamp", "unix"] },
      "time_window: timestamp (date, datetime and timestamp columns) or unix (epoch seconds).",
      "timestamp",
    ),
    days_window: doc(
      positiveInt,
      "time_window (required): the window starts at UTC midnight this many days ago.",
    ),
    max_file_size: doc(
      { type: ["string", "integer"] },
      "Split each piece's output into part files (_part0, _part1, ...) of about this size: 512MB, 1.5GB, 300KB (1024-based) or a number of bytes. Not with stdout.",
    ),
    quality: doc(
      {
        type: "object",
        additionalProperties: false,
        properties: {
          row_count_min: doc(nonNegativeInt, "Fewest rows the run may export."),
          row_count_max: doc(nonNegativeInt, "Most rows the run may export."),
          null_ratio_max: doc(
            {
              type: "object",
              additionalProperties: { type: "number", minimum: 0, maximum: 1 },
            },
            "Per column: the highest share of NULLs (0..1), e.g. { email: 0.1 }.",
          ),
          unique_columns: doc(
            { type: "array", items: nonEmptyString },
            "Columns whose non-NULL values must not repeat.",
          ),
        },
      },
      "Rules the whole result must meet before anything is delivered (exit code 3 otherwise). Not with mode: chunked.",
    ),
    meta_columns: doc({
      type: "object",
      additionalProperties: false,
      properties: {
        exported_at: doc(
          { type: "boolean" },
          "Append _rivet_exported_at, the batch's export time (UTC).",
          false,
        ),
        row_hash: doc(
          { type: "boolean" },
          "Append _rivet_row_hash, a 64-bit hash of the row's values, for downstream dedup.",
          false,
        ),
      },
    }, "Columns rivet appends to every row."),
    format: doc({ enum: ["parquet", "csv"] }, "Output file format.", "parquet"),
    compression: doc(
      { enum: ["zstd", "snappy", "gzip", "lz4", "none"] },
      "Parquet codec (lz4 is LZ4_RAW). CSV ignores it, with a warning.",
      "zstd",
    ),
    compression_level: doc(
      { type: "integer" },
      "Parquet codec level: zstd 1..22, gzip 0..9; other codecs take none. Unset: zstd 1, gzip 6 (arrow-rs's defaults).",
    ),
    skip_empty: doc(
      { type: "boolean" },
      "Report a run that read no rows as status: skipped (no file is written and the cursor stays either way).",
      false,
    ),
    destination,
  },
}, "One export: a query, how to read it, and where its files go.");

/** The schema of the whole file. */
export const CONFIG_SCHEMA: JsonSchema = {
  $schema: "http://json-schema.org/draft-07/schema#",
  title: "rivet.yaml",
  description:
    "rivet's config: the database to read (source), the queries to export and where their files go (exports), and optional notifications.",
  type: "object",
  additionalProperties: false,
  required: ["source", "exports"],
  properties: {
    source,
    exports: doc({ type: "array", items: exportEntry }, "The exports, run in order."),
    notifications: doc({
      type: "object",
      additionalProperties: false,
      properties: {
        slack: doc({
          type: "object",
          additionalProperties: false,
          properties: {
            webhook_url: doc(
              nonEmptyString,
              "The Slack incoming webhook URL (a secret: prefer webhook_url_env). Exactly one of webhook_url and webhook_url_env.",
            ),
            webhook_url_env: doc(
              nonEmptyString,
              "Name of the environment variable holding the webhook URL.",
            ),
            on: doc(
              {
                type: "array",
                items: { enum: ["failure", "schema_change", "degraded"] },
              },
              "What sends a message: failure (the export failed), schema_change (columns changed since the last run), degraded (its last rivet check said DEGRADED or UNSAFE).",
              ["failure"],
            ),
          },
        }, "Post to a Slack channel when an export fails, its schema changes or it is degraded."),
      },
    }, "Messages sent by rivet run."),
  },
};

/**
 * Keys the spec defines that this release does not implement yet. They are rejected
 * with a "not supported yet" error instead of an "unknown key" one, and never silently ignored.
 * Paths use `*` for "any export".
 */
export const NOT_YET_SUPPORTED_KEYS: ReadonlyMap<string, string> = new Map([
  ["source.tuning.memory_threshold_mb", "memory thresholds"],
  ["exports.*.destination.allow_anonymous", "anonymous GCS access"],
]);
