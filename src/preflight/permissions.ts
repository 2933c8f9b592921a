/**
 * The narrowest Deno permissions a run of a config needs (`rivet permissions`): the hosts it
 * connects to, the variables it reads, the files it reads and writes, and the OS information its
 * libraries ask for, derived from the resolved config and the machine's few relevant facts.
 *
 * Pure: everything it needs to know about the machine comes in {@link Surroundings}.
 *
 * @module
 */
import { isAbsolute, join, relative, resolve } from "node:path";
import type {
  Config,
  DestinationConfig,
  ExportConfig,
  GcsDestinationConfig,
  S3DestinationConfig,
  SourceConfig,
} from "../config/types.ts";
import { statePathFor } from "../state/store.ts";
import { tempDirVariables } from "../util/temp_dir.ts";
import {
  AWS_HOSTS,
  AWS_METADATA_HOSTS,
  BASE_ENV,
  GCE_DETECTION_FILES,
  GCE_DETECTION_SYS,
  GCE_METADATA_HOSTS,
  GCS_API_HOST,
  GCS_ENV,
  GOOGLE_TOKEN_HOSTS,
  MYSQL_ENV,
  pgpassEnv,
  POSTGRES_ENV,
  S3_ENV,
  S3_SYS,
} from "./permission_needs.ts";

/** The permissions rivet scopes, in the order they are printed. */
export const PERMISSION_NAMES = ["net", "env", "read", "write", "sys"] as const;

/** One of {@link PERMISSION_NAMES}. */
export type PermissionName = typeof PERMISSION_NAMES[number];

/** What each permission allows: hosts, variables, paths or API names, sorted, no duplicates. */
export type PermissionSet = Record<PermissionName, string[]>;

/** The facts about the machine and the program that the permissions depend on. */
export interface Surroundings {
  /** The variables loading the config read (`url_env`, `password_env`, `${VAR}`, `*_env` keys). */
  configEnv: readonly string[];
  /** Reads an environment variable that moves a library's files (`AWS_CONFIG_FILE`...). */
  env: (name: string) => string | undefined;
  /** The OS temp directory, where staged files are built (`$TMPDIR`, else `/tmp`). */
  tempDir: string;
  /** The user's home directory, when known (`~/.aws`, `~/.pgpass`, gcloud's config folder). */
  home?: string;
  /**
   * The program's own `src/` directory when it runs from local files: Deno reads the Parquet
   * encoder worker's modules from there. Absent when the modules come from JSR.
   */
  programDir?: string;
  /** The directory relative TLS file options are read against. */
  cwd: string;
  /** The operating system (Windows keeps gcloud's and pgpass's files elsewhere). */
  os: typeof Deno.build.os;
}

/**
 * The permissions a run of `exports` (all of the config's when empty) needs.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 *
 * const config = {
 *   path: "/etc/rivet/rivet.yaml",
 *   dir: "/etc/rivet",
 *   source: {
 *     type: "mysql",
 *     connection: { host: "db", port: 3306, user: "u", password: "p", database: "d", options: {} },
 *   },
 *   exports: [{ name: "t", destination: { type: "local", path: "/srv/out" } }],
 * } as unknown as Parameters<typeof derivePermissions>[0];
 * const set = derivePermissions(config, [], {
 *   configEnv: [],
 *   env: () => undefined,
 *   tempDir: "/tmp",
 *   cwd: "/",
 *   os: "linux",
 * });
 * assert.deepEqual(set.net, ["db:3306"]);
 * assert.deepEqual(set.write, ["/etc/rivet/.rivet_state.db", "/srv/out", "/tmp"]);
 * ```
 */
export function derivePermissions(
  config: Config,
  exports: readonly ExportConfig[],
  around: Surroundings,
): PermissionSet {
  const need = new Needs(around.cwd);
  const state = statePathFor(config.path);
  need.add("read", config.path, state, around.tempDir);
  need.add("write", state, around.tempDir);
  need.add("env", ...BASE_ENV, ...tempDirVariables(around.os), ...around.configEnv);
  if (around.programDir !== undefined) need.add("read", around.programDir);
  addSource(need, config.source, around);
  for (const exp of exports.length > 0 ? exports : config.exports) {
    if (exp.queryFile !== undefined) need.add("read", exp.queryFile);
    addDestination(need, exp.destination, around);
  }
  const slack = config.notifications?.slack;
  if (slack) need.add("net", hostOf(slack.webhookUrl));
  return need.result();
}

/** Libpq's file options, and the MySQL names rivet also takes (`ssl-ca`, `ssl_ca`...). */
const TLS_FILE_OPTIONS = {
  postgres: (key: string) => ["sslrootcert", "sslcert", "sslkey"].includes(key),
  mysql: (key: string) =>
    ["sslca", "sslrootcert", "sslcert", "sslkey"].includes(key.toLowerCase().replace(/[-_]/g, "")),
};

function addSource(need: Needs, source: SourceConfig, around: Surroundings): void {
  const { connection } = source;
  need.add("net", `${hostForNet(connection.host)}:${connection.port}`);
  if (source.urlFile !== undefined) need.add("read", source.urlFile);
  for (const [key, value] of Object.entries(connection.options)) {
    if (TLS_FILE_OPTIONS[source.type](key)) need.add("read", value);
  }
  if (source.type === "mysql") {
    need.add("env", ...MYSQL_ENV);
    return;
  }
  need.add("env", ...POSTGRES_ENV);
  if (connection.password === undefined) {
    need.add("env", ...pgpassEnv(around.os));
    const file = around.env("PGPASSFILE") ?? pgpassPath(around);
    if (file !== undefined) need.add("read", file);
  }
}

function pgpassPath(around: Surroundings): string | undefined {
  if (around.os === "windows") {
    const appData = around.env("APPDATA");
    return appData && join(appData, "postgresql", "pgpass.conf");
  }
  return around.home && join(around.home, ".pgpass");
}

function addDestination(need: Needs, destination: DestinationConfig, around: Surroundings): void {
  switch (destination.type) {
    case "local":
      // Read too: creating the directory and linking the file into it check both.
      need.add("read", destination.path);
      need.add("write", destination.path);
      return;
    case "stdout":
      return;
    case "s3":
      return addS3(need, destination, around);
    case "gcs":
      return addGcs(need, destination, around);
  }
}

function addS3(need: Needs, s3: S3DestinationConfig, around: Surroundings): void {
  need.add("env", ...S3_ENV);
  need.add("sys", ...S3_SYS);
  need.add("net", ...(s3.endpoint === undefined ? AWS_HOSTS : [hostOf(s3.endpoint)]));
  // The SDK reads the shared config and credentials files even when the keys are given: they may
  // hold the profile's settings.
  const awsDir = around.home && join(around.home, ".aws");
  const configFile = around.env("AWS_CONFIG_FILE") ?? (awsDir && join(awsDir, "config"));
  const credentialsFile = around.env("AWS_SHARED_CREDENTIALS_FILE") ??
    (awsDir && join(awsDir, "credentials"));
  need.add("read", ...defined(configFile, credentialsFile));
  if (s3.keys !== undefined) return;
  // The default chain: SSO and assumed-role caches under ~/.aws, a web identity token (EKS),
  // and the instance and container metadata endpoints.
  need.add("read", ...defined(awsDir, around.env("AWS_WEB_IDENTITY_TOKEN_FILE")));
  need.add("net", ...AWS_METADATA_HOSTS);
  const containerUri = around.env("AWS_CONTAINER_CREDENTIALS_FULL_URI");
  if (containerUri) need.add("net", hostOf(containerUri));
}

function addGcs(need: Needs, gcs: GcsDestinationConfig, around: Surroundings): void {
  need.add("env", ...GCS_ENV);
  need.add("net", gcs.endpoint === undefined ? GCS_API_HOST : hostOf(gcs.endpoint));
  need.add("net", ...GOOGLE_TOKEN_HOSTS);
  if (gcs.credentialsFile !== undefined) {
    need.add("read", gcs.credentialsFile);
    return;
  }
  // rivet's order after the config's key file: GOOGLE_APPLICATION_CREDENTIALS, the ADC file,
  // then the metadata server. Each is allowed, since which applies can change between runs.
  const fromEnv = around.env("GOOGLE_APPLICATION_CREDENTIALS");
  if (fromEnv) need.add("read", fromEnv);
  need.add("read", ...adcPaths(around));
  const metadataHost = around.env("GCE_METADATA_HOST");
  need.add("net", ...(metadataHost ? [withPort(metadataHost, 80)] : GCE_METADATA_HOSTS));
  if (around.os === "linux") need.add("read", ...GCE_DETECTION_FILES);
  need.add("sys", ...GCE_DETECTION_SYS);
}

/**
 * Where gcloud keeps the user's application default credentials: the folder rivet looks in
 * (`$CLOUDSDK_CONFIG` first, as gcloud does), and the one google-auth-library then looks in by
 * itself (always the per-user folder).
 */
function adcPaths(around: Surroundings): string[] {
  const file = "application_default_credentials.json";
  const userDir = around.os === "windows"
    ? around.env("APPDATA")
    : around.home && join(around.home, ".config");
  const configDir = around.env("CLOUDSDK_CONFIG");
  return defined(
    configDir && join(configDir, file),
    userDir && join(userDir, "gcloud", file),
  );
}

/** `host:port` of a URL, with the scheme's default port. */
function hostOf(url: string): string {
  const parsed = new URL(url);
  const port = parsed.port || (parsed.protocol === "http:" ? "80" : "443");
  return `${parsed.hostname}:${port}`;
}

function withPort(host: string, port: number): string {
  return /:\d+$/.test(host) ? host : `${host}:${port}`;
}

/** IPv6 literals are bracketed in Deno's `host:port` entries. */
function hostForNet(host: string): string {
  return host.includes(":") && !host.startsWith("[") ? `[${host}]` : host;
}

function defined(...values: (string | undefined)[]): string[] {
  return values.filter((v): v is string => v !== undefined && v !== "");
}

/** Accumulates entries per permission. */
class Needs {
  readonly #entries: Record<PermissionName, Set<string>> = {
    net: new Set(),
    env: new Set(),
    read: new Set(),
    write: new Set(),
    sys: new Set(),
  };

  /** Relative paths (from variables such as `AWS_CONFIG_FILE`) are taken from `cwd`. */
  constructor(private readonly cwd: string) {}

  add(name: PermissionName, ...values: string[]): void {
    for (const value of values) {
      if (value === "") continue;
      const path = name === "read" || name === "write";
      this.#entries[name].add(path ? resolve(this.cwd, value) : value);
    }
  }

  result(): PermissionSet {
    const sorted = (name: PermissionName) => [...this.#entries[name]].sort();
    return {
      net: sorted("net"),
      env: sorted("env"),
      read: outermost(sorted("read")),
      write: outermost(sorted("write")),
      sys: sorted("sys"),
    };
  }
}

/** Drops the paths inside another path of the list: a directory's grant covers them. */
function outermost(paths: string[]): string[] {
  return paths.filter((path) =>
    !paths.some((other) => other !== path && relativeInside(other, path))
  );
}

function relativeInside(dir: string, path: string): boolean {
  const rel = relative(dir, path);
  return rel !== "" && !rel.startsWith("..") && !isAbsolute(rel);
}
