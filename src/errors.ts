/**
 * Error types, one per party who must act, and the exit codes they map to.
 *
 * @module
 */

/** Process exit codes (documented in docs/cli.md). */
export const ExitCode = {
  /** Every selected export succeeded or was skipped. */
  Ok: 0,
  /** Bad usage or an invalid config: nothing ran. */
  Usage: 1,
  /** At least one export failed (after its retries). */
  ExportFailed: 2,
  /** A written file failed a data integrity check (`--validate`, the Parquet footer check). */
  DataIntegrity: 3,
} as const;

/** Base class: every error rivet raises on purpose carries a one-line, user-facing message. */
export class RivetError extends Error {
  /** Creates the error; `message` is one line a user can act on. */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** The config (or CLI input) is wrong; the user fixes it. Carries the key and the YAML line. */
export class ConfigError extends RivetError {
  /** Dotted key path, e.g. `exports[1].compression_level`. */
  readonly key?: string;
  /** 1-based line in the YAML file. */
  readonly line?: number;
  /** Prefixes the message with `file:line` when they are known. */
  constructor(message: string, where: { key?: string; line?: number; file?: string } = {}) {
    const loc = [where.file, where.line].filter((v) => v !== undefined).join(":");
    super(loc ? `${loc}: ${message}` : message);
    this.key = where.key;
    this.line = where.line;
  }
}

/**
 * How a source failure should be handled (spec "Retry semantics").
 * `permanent` and `auth` are never retried.
 */
export type RetryClass =
  | "network"
  | "disconnect"
  | "timeout"
  | "capacity"
  | "deadlock"
  | "auth"
  | "permanent";

/** A failure talking to the source database. */
export class SourceError extends RivetError {
  /** How the pipeline handles it: retried or not, with or without extra delay. */
  readonly retryClass: RetryClass;
  /** SQLSTATE (PostgreSQL) or error code/errno (MySQL) when the server sent one. */
  readonly code?: string;
  /** Creates the error with its retry class and, when the server sent one, its code. */
  constructor(message: string, retryClass: RetryClass, options?: ErrorOptions & { code?: string }) {
    super(message, options);
    this.retryClass = retryClass;
    this.code = options?.code;
  }
}

/** A value or column the source returned that rivet cannot represent exactly. */
export class TypeMappingError extends RivetError {}

/**
 * What went wrong at a destination, in the categories `rivet doctor` reports (spec "Auth
 * Diagnostics"): credentials missing, expired or rejected; the host unreachable; the bucket or
 * path missing; anything else.
 */
export type DestinationCategory = "auth" | "connectivity" | "not_found" | "other";

/** A failure storing a file at its destination. */
export class DestinationError extends RivetError {
  /** Who must act: fix credentials, the network, the bucket name, or look closer. */
  readonly category: DestinationCategory;
  /** Creates the error; without a category it is `other`. */
  constructor(
    message: string,
    options?: ErrorOptions & { category?: DestinationCategory },
  ) {
    super(message, options);
    this.category = options?.category ?? "other";
  }
}

/** A written file does not match what was read (row count, footer). */
export class DataIntegrityError extends RivetError {}

/**
 * The message of anything thrown (`Error` or not), for building a one-line report.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 *
 * assert.equal(errorMessage(new Error("disk full")), "disk full");
 * assert.equal(errorMessage("plain string"), "plain string");
 * ```
 */
export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
