/**
 * What rivet's own code and the libraries it loads touch at run time, besides what a config names:
 * the environment variables they read, the OS information they ask for, and the well-known files
 * and hosts of the cloud credential chains. Found by running real exports under Deno's permission
 * audit (`DENO_AUDIT_PERMISSIONS`) and by reading the libraries; each entry says who needs it.
 *
 * Deno throws when a library reads an unlisted variable, even one that is not set, so a library's
 * every read is listed, not only the ones that matter to rivet. `PG*` and `AWS_*` are Deno's
 * prefix patterns: pg and the AWS SDK read dozens of their own variables, depending on which
 * settings are left to them.
 *
 * @module
 */

/** Read by every run. */
export const BASE_ENV: readonly string[] = [
  // rivet's log level.
  "RIVET_LOG",
  "RUST_LOG",
  // The `yaml` parser checks its debug switches on every parse of the config.
  "LOG_TOKENS",
  "LOG_STREAM",
];

/** pg, the PostgreSQL driver. */
export const POSTGRES_ENV: readonly string[] = [
  // The default user, read when pg loads.
  "USER",
  // Whether to load pg's native bindings instead, read when pg loads.
  "NODE_PG_FORCE_NATIVE",
  // pg falls back to PGHOST, PGPASSWORD, PGOPTIONS, PGCLIENT_ENCODING... for each setting rivet
  // leaves unset, and pgpass to PGPASSFILE.
  "PG*",
];

/**
 * pgpass, which pg asks for a password when the server wants one and the config has none: the
 * home directory locates `~/.pgpass` (`%APPDATA%\postgresql\pgpass.conf` on Windows).
 */
export function pgpassEnv(os: typeof Deno.build.os): string[] {
  return [os === "windows" ? "APPDATA" : "HOME"];
}

/** mysql2, the MySQL driver: the local time zone, read when it loads. */
export const MYSQL_ENV: readonly string[] = ["TZ"];

/** The AWS SDK (S3 destinations). */
export const S3_ENV: readonly string[] = [
  // Its settings, credentials and profile (AWS_REGION, AWS_PROFILE, AWS_ACCESS_KEY_ID,
  // AWS_CONFIG_FILE, AWS_EC2_METADATA_DISABLED, AWS_LAMBDA_*...).
  "AWS_*",
  // Its request-tracing header.
  "_X_AMZN_TRACE_ID",
  // Where the shared config and credentials files are (~/.aws).
  "HOME",
  "USERPROFILE",
  "HOMEPATH",
  "HOMEDRIVE",
];

/** The AWS SDK's user agent names the OS release. */
export const S3_SYS: readonly string[] = ["osRelease"];

/**
 * The AWS credential chain's endpoints when the config names no keys: EC2 instance metadata and
 * ECS/EKS container credentials.
 */
export const AWS_METADATA_HOSTS: readonly string[] = ["169.254.169.254:80", "169.254.170.2:80"];

/** Any AWS endpoint: the bucket's regional one, and the region it redirects to. */
export const AWS_HOSTS: readonly string[] = ["*.amazonaws.com:443"];

/** `@google-cloud/storage`, google-auth-library, gcp-metadata, gaxios and their helpers. */
export const GCS_ENV: readonly string[] = [
  // rivet's credential order: the key file variable, gcloud's config folder and the home folder
  // that holds it (APPDATA on Windows).
  "GOOGLE_APPLICATION_CREDENTIALS",
  "CLOUDSDK_CONFIG",
  "HOME",
  "APPDATA",
  // google-auth-library: credentials, project and quota project, and the runtime it is on.
  "google_application_credentials",
  "GOOGLE_CLOUD_PROJECT",
  "GCLOUD_PROJECT",
  "google_cloud_project",
  "gcloud_project",
  "GOOGLE_CLOUD_QUOTA_PROJECT",
  "FUNCTION_NAME",
  "FUNCTION_TARGET",
  "K_SERVICE",
  "K_CONFIGURATION",
  "CLOUD_RUN_JOB",
  "GAE_SERVICE",
  "GAE_MODULE_NAME",
  "DEBUG_AUTH",
  // gcp-metadata: where the metadata server is, and whether to look for it.
  "GCE_METADATA_HOST",
  "GCE_METADATA_IP",
  "METADATA_SERVER_DETECTION",
  "DETECT_GCP_RETRIES",
  // The storage client's emulator switch; logging and debug switches of its helpers.
  "STORAGE_EMULATOR_HOST",
  "GOOGLE_SDK_NODE_LOGGING",
  "NODE_DEBUG",
  "DEBUG",
  "TEENY_REQUEST_WARN_CONCURRENT_REQUESTS",
  "READABLE_STREAM",
  // gaxios and teeny-request honour proxies.
  "HTTPS_PROXY",
  "https_proxy",
  "HTTP_PROXY",
  "http_proxy",
  "NO_PROXY",
  "no_proxy",
];

/** Google's API and the OAuth token endpoints a key file or refresh token is exchanged at. */
export const GCS_API_HOST = "storage.googleapis.com:443";

/** Where google-auth-library exchanges a service-account key or a user's refresh token. */
export const GOOGLE_TOKEN_HOSTS: readonly string[] = [
  "oauth2.googleapis.com:443",
  "www.googleapis.com:443",
];

/** The GCE metadata server, the last step of the credential order. */
export const GCE_METADATA_HOSTS: readonly string[] = [
  "metadata.google.internal:80",
  "169.254.169.254:80",
];

/**
 * Before asking the metadata server, gcp-metadata checks whether this machine is a GCE VM: its
 * BIOS strings, and its network interfaces' MAC addresses.
 */
export const GCE_DETECTION_FILES: readonly string[] = [
  "/sys/class/dmi/id/bios_date",
  "/sys/class/dmi/id/bios_vendor",
];

/** See {@link GCE_DETECTION_FILES}. */
export const GCE_DETECTION_SYS: readonly string[] = ["networkInterfaces"];
