/**
 * The JSON Schema of `rivet.yaml`: the single source of truth for which keys exist, their types,
 * allowed values and nesting. Rules across keys of one export live in `export/`, one file each.
 *
 * @module
 */

/** A JSON Schema object (the subset this file uses). */
export type JsonSchema = Record<string, unknown>;

// YAML reads `1e300` as an integer-valued float: beyond 2^53 a count is no longer exact.
const positiveInt = { type: "integer", minimum: 1, maximum: Number.MAX_SAFE_INTEGER };
const nonNegativeInt = { type: "integer", minimum: 0, maximum: Number.MAX_SAFE_INTEGER };
const nonEmptyString = { type: "string", minLength: 1 };
/** Seconds the servers accept as a timeout: PostgreSQL keeps it as a 32-bit count of milliseconds. */
const timeoutSeconds = { type: "integer", minimum: 0, maximum: Math.floor((2 ** 31 - 1) / 1000) };

const tuning: JsonSchema = {
  type: "object",
  additionalProperties: false,
  properties: {
    profile: { enum: ["fast", "balanced", "safe"] },
    batch_size: positiveInt,
    throttle_ms: nonNegativeInt,
    statement_timeout_s: timeoutSeconds,
    max_retries: nonNegativeInt,
    retry_backoff_ms: nonNegativeInt,
    lock_timeout_s: timeoutSeconds,
    batch_size_memory_mb: positiveInt,
  },
};

const source: JsonSchema = {
  type: "object",
  additionalProperties: false,
  required: ["type"],
  properties: {
    type: { enum: ["postgres", "mysql"] },
    url: nonEmptyString,
    url_env: nonEmptyString,
    url_file: nonEmptyString,
    host: nonEmptyString,
    port: { type: "integer", minimum: 1, maximum: 65535 },
    user: nonEmptyString,
    password: { type: "string" },
    password_env: nonEmptyString,
    database: nonEmptyString,
    tuning,
  },
};

const destination: JsonSchema = {
  type: "object",
  additionalProperties: false,
  required: ["type"],
  properties: {
    type: { enum: ["local", "s3", "gcs", "stdout"] },
    path: nonEmptyString,
    bucket: nonEmptyString,
    prefix: { type: "string" },
    region: nonEmptyString,
    endpoint: nonEmptyString,
    access_key_env: nonEmptyString,
    secret_key_env: nonEmptyString,
    credentials_file: nonEmptyString,
  },
};

const exportEntry: JsonSchema = {
  type: "object",
  additionalProperties: false,
  required: ["name", "destination"],
  properties: {
    name: nonEmptyString,
    query: nonEmptyString,
    query_file: nonEmptyString,
    mode: { enum: ["full", "incremental", "chunked", "time_window"] },
    cursor_column: nonEmptyString,
    key_column: {
      anyOf: [nonEmptyString, { type: "array", items: nonEmptyString, minItems: 1 }],
    },
    chunk_column: nonEmptyString,
    chunk_size: positiveInt,
    parallel: positiveInt,
    time_column: nonEmptyString,
    time_column_type: { enum: ["timestamp", "unix"] },
    days_window: positiveInt,
    max_file_size: { type: ["string", "integer"] },
    quality: {
      type: "object",
      additionalProperties: false,
      properties: {
        row_count_min: nonNegativeInt,
        row_count_max: nonNegativeInt,
        null_ratio_max: {
          type: "object",
          additionalProperties: { type: "number", minimum: 0, maximum: 1 },
        },
        unique_columns: { type: "array", items: nonEmptyString },
      },
    },
    meta_columns: {
      type: "object",
      additionalProperties: false,
      properties: { exported_at: { type: "boolean" }, row_hash: { type: "boolean" } },
    },
    format: { enum: ["parquet", "csv"] },
    compression: { enum: ["zstd", "snappy", "gzip", "lz4", "none"] },
    compression_level: { type: "integer" },
    skip_empty: { type: "boolean" },
    destination,
  },
};

/** The schema of the whole file. */
export const CONFIG_SCHEMA: JsonSchema = {
  $schema: "http://json-schema.org/draft-07/schema#",
  title: "rivet.yaml",
  type: "object",
  additionalProperties: false,
  required: ["source", "exports"],
  properties: {
    source,
    exports: { type: "array", items: exportEntry },
    notifications: {
      type: "object",
      additionalProperties: false,
      properties: {
        slack: {
          type: "object",
          additionalProperties: false,
          properties: {
            webhook_url: nonEmptyString,
            webhook_url_env: nonEmptyString,
            on: {
              type: "array",
              items: { enum: ["failure", "schema_change", "degraded"] },
            },
          },
        },
      },
    },
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
