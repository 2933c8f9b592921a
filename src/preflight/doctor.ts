/**
 * `rivet doctor` (spec "Auth Diagnostics"): proves, before any export runs, that the config
 * parses, the source accepts the credentials (connect and a trivial query), every distinct
 * destination accepts a write (a probe object written and removed, leaving nothing), and the
 * state database opens. Each check yields one result; nothing is exported.
 *
 * @module
 */
import type { Config, DestinationConfig } from "../config/types.ts";
import { createDestination } from "../destination/create.ts";
import { DestinationError, errorMessage, type RetryClass, SourceError } from "../errors.ts";
import type { Source } from "../source/source.ts";
import { statePathFor, StateStore } from "../state/store.ts";

/** The spec's error categories. */
export type DoctorCategory = "auth error" | "connectivity error" | "bucket not found" | "error";

/** The outcome of one check. */
export interface DoctorResult {
  /** What was checked, e.g. `Source auth (Postgres)`, `Destination S3(my-bucket)`. */
  what: string;
  /** Whether it passed. */
  ok: boolean;
  /** Why it failed. */
  category?: DoctorCategory;
  /** The failure, on one line. */
  message?: string;
  /** What to do about it. */
  hint?: string;
}

/** Runs every check after the config (see the module doc); never throws for a failed check. */
export async function diagnose(
  config: Config,
  openSource: (config: Config["source"]) => Promise<Source>,
): Promise<DoctorResult[]> {
  const results: DoctorResult[] = [await checkSource(config, openSource)];
  const seen = new Set<string>();
  for (const exp of config.exports) {
    const key = JSON.stringify(identity(exp.destination));
    if (seen.has(key)) continue;
    seen.add(key);
    results.push(await checkDestination(exp.destination));
  }
  results.push(checkState(config));
  return results;
}

/** A destination as the user named it (credentials left out: they do not make it another). */
function identity(d: DestinationConfig): unknown {
  switch (d.type) {
    case "local":
      return ["local", d.path];
    case "stdout":
      return ["stdout"];
    case "s3":
      return ["s3", d.endpoint ?? "", d.bucket, d.prefix];
    case "gcs":
      return ["gcs", d.endpoint ?? "", d.bucket, d.prefix];
  }
}

/** How a destination is named in doctor's output. */
export function destinationLabel(d: DestinationConfig): string {
  switch (d.type) {
    case "local":
      return `Local(${d.path})`;
    case "stdout":
      return "stdout";
    case "s3":
      return `S3(${d.bucket})`;
    case "gcs":
      return `GCS(${d.bucket})`;
  }
}

async function checkSource(
  config: Config,
  openSource: (config: Config["source"]) => Promise<Source>,
): Promise<DoctorResult> {
  const engine = config.source.type === "postgres" ? "Postgres" : "MySQL";
  const what = `Source auth (${engine})`;
  let source: Source | undefined;
  try {
    source = await openSource(config.source);
    const { batches } = await source.query({ text: "SELECT 1 AS ok", params: [] }, {
      batchRows: 1,
      throttleMs: 0,
    });
    for await (const _ of batches) {
      // Reading the one row proves the session works end to end.
    }
    return { what, ok: true };
  } catch (err) {
    const retryClass: RetryClass | undefined = err instanceof SourceError
      ? err.retryClass
      : undefined;
    const category: DoctorCategory = retryClass === "auth"
      ? "auth error"
      : retryClass === "network" || retryClass === "disconnect" || retryClass === "timeout" ||
          retryClass === "capacity"
      ? "connectivity error"
      : "error";
    return {
      what,
      ok: false,
      category,
      message: errorMessage(err),
      hint: category === "auth error"
        ? "check the user and password (url, url_env, url_file or password_env) and the user's grants"
        : category === "connectivity error"
        ? "check the host and port, that the server is up, and firewalls between here and there"
        : "check the database name and the connection options",
    };
  } finally {
    await source?.close().catch(() => {});
  }
}

async function checkDestination(config: DestinationConfig): Promise<DoctorResult> {
  const what = `Destination ${destinationLabel(config)}`;
  try {
    await (await createDestination(config)).probe();
    return { what, ok: true };
  } catch (err) {
    const category: DoctorCategory = !(err instanceof DestinationError)
      ? "error"
      : err.category === "auth"
      ? "auth error"
      : err.category === "connectivity"
      ? "connectivity error"
      : err.category === "not_found"
      ? "bucket not found"
      : "error";
    return {
      what,
      ok: false,
      category,
      message: errorMessage(err),
      hint: hintFor(config, category),
    };
  }
}

function hintFor(config: DestinationConfig, category: DoctorCategory): string {
  switch (category) {
    case "auth error":
      return config.type === "s3"
        ? "check access_key_env/secret_key_env, or the AWS_* variables, shared credentials file or instance role the default chain uses"
        : config.type === "gcs"
        ? "check credentials_file, GOOGLE_APPLICATION_CREDENTIALS, or run `gcloud auth application-default login`"
        : "check that rivet may write to the directory";
    case "connectivity error":
      return "check endpoint, DNS, proxies and firewalls";
    case "bucket not found":
      return config.type === "local"
        ? "check destination.path"
        : "check the bucket name and that it exists in this account/project";
    case "error":
      return "see the message above";
  }
}

function checkState(config: Config): DoctorResult {
  const path = statePathFor(config.path);
  const what = `State database (${path})`;
  try {
    StateStore.open(path).close();
    return { what, ok: true };
  } catch (err) {
    return {
      what,
      ok: false,
      category: "error",
      message: errorMessage(err),
      hint: "check that the config's directory is writable and the file is a rivet state database",
    };
  }
}
