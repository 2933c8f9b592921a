/**
 * Google Cloud Storage destination: a file is built in local staging and uploaded on commit as a
 * resumable upload streamed from disk in chunks. GCS creates an object only when its upload is
 * finalized, so nothing partial is ever visible, and an existing object is never overwritten.
 *
 * Credentials follow the spec's order ("Credential precedence", GCS): the config's
 * `credentials_file`, else `GOOGLE_APPLICATION_CREDENTIALS`, else the user's application default
 * credentials file (`gcloud auth application-default login`), else the metadata server. The
 * choice is made here, before any request, and logged; google-auth-library then loads it.
 *
 * @module
 */
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { join } from "node:path";
import { pipeline } from "node:stream/promises";
import type { Bucket, File, Storage, StorageOptions } from "@google-cloud/storage";
import type { GcsDestinationConfig } from "../config/types.ts";
import { type DestinationCategory, DestinationError, errorMessage } from "../errors.ts";
import { log } from "../util/log.ts";
import type { Destination, Staged } from "./destination.ts";
import { candidateNames } from "./file_name.ts";
import { objectKey } from "./object_key.ts";
import { stageForUpload } from "./staging.ts";

/**
 * Bytes per resumable-upload request: what one upload holds in memory, and what a dropped
 * connection costs to resend. GCS wants a multiple of 256 KiB.
 */
const CHUNK_SIZE = 8 * 1024 * 1024;
/** A request (one chunk, or one API call) taking longer than this has stalled: it fails. */
const REQUEST_TIMEOUT_MS = 120_000;
/**
 * Custom metadata naming the upload that created an object, so that an upload whose last reply
 * was lost can tell its own object from another writer's.
 */
const UPLOAD_MARKER = "rivet-upload";
/** The ADC file `gcloud auth application-default login` writes into the gcloud config folder. */
const ADC_FILE = "application_default_credentials.json";

type SdkRequestOptions = ReturnType<Storage["interceptors"][number]["request"]>;

/** Where the credentials come from, decided before the SDK sees them. */
type CredentialSource =
  | { kind: "credentials_file" | "GOOGLE_APPLICATION_CREDENTIALS" | "adc"; file: string }
  | { kind: "metadata"; adcFile?: string };

/** The SDK client, built on first use (loading the SDK costs a noticeable fraction of a second). */
interface Connection {
  storage: Storage;
  bucket: Bucket;
  source: CredentialSource;
}

/** Stores files as objects in a GCS bucket, under a name prefix. */
export class GcsDestination implements Destination {
  readonly #config: GcsDestinationConfig;
  #connection?: Promise<Connection>;

  /** Files go to `config.bucket` under `config.prefix`; credentials as the module doc says. */
  constructor(config: GcsDestinationConfig) {
    this.#config = config;
  }

  stage(): Promise<Staged> {
    return stageForUpload((path, fileName) => this.#publish(path, fileName));
  }

  locationOf(fileName: string): string {
    return this.#location(objectKey(this.#config.prefix, fileName));
  }

  async retract(location: string): Promise<void> {
    const bucketUrl = this.#location("");
    if (!location.startsWith(bucketUrl)) {
      throw new DestinationError(`cannot remove ${location}: it is not in ${bucketUrl}`);
    }
    const { bucket } = await this.#authorized();
    try {
      // GCS is strongly consistent: once the delete returns, no reader sees the object.
      await bucket.file(location.slice(bucketUrl.length)).delete({ ignoreNotFound: true });
    } catch (err) {
      throw destinationError(`cannot remove ${location}`, err);
    }
  }

  async probe(): Promise<void> {
    const name = objectKey(this.#config.prefix, `.rivet_doctor_probe_${crypto.randomUUID()}`);
    const { bucket } = await this.#authorized();
    const file = bucket.file(name);
    try {
      await file.save("rivet doctor\n", {
        resumable: false,
        validation: false,
        preconditionOpts: { ifGenerationMatch: 0 },
      });
    } catch (err) {
      throw destinationError(`cannot write ${this.#location(name)}`, err);
    }
    try {
      await file.delete();
    } catch (err) {
      throw destinationError(`wrote but cannot remove ${this.#location(name)}`, err);
    }
  }

  #location(name: string): string {
    return `gs://${this.#config.bucket}/${name}`;
  }

  /** Uploads the staged file under the first free name: `fileName`, then `_2`, `_3`... */
  async #publish(path: string, fileName: string): Promise<{ fileName: string; location: string }> {
    const { bucket, storage } = await this.#authorized();
    let name = objectKey(this.#config.prefix, fileName);
    try {
      const { size } = await Deno.stat(path);
      const md5Hash = await md5Of(path);
      for (const candidate of candidateNames(fileName)) {
        name = objectKey(this.#config.prefix, candidate);
        if (await upload(storage, bucket.file(name), path, size, md5Hash)) {
          return { fileName: candidate, location: this.#location(name) };
        }
      }
    } catch (err) {
      throw destinationError(`cannot upload ${fileName} to ${this.#location(name)}`, err);
    }
    throw new DestinationError(
      `no free object name for ${fileName} in ${
        this.#location(objectKey(this.#config.prefix, ""))
      }`,
    );
  }

  /**
   * The client, once it holds usable credentials. Obtaining them is a step of its own so that a
   * credential that cannot be loaded or exchanged (a missing file, no metadata server, a refresh
   * token the token endpoint refuses) is reported as an auth error, whatever its cause.
   */
  async #authorized(): Promise<Connection> {
    this.#connection ??= connect(this.#config).catch((err) => {
      throw destinationError(`GCS gs://${this.#config.bucket}: cannot set up the client`, err);
    });
    const connection = await this.#connection;
    try {
      // Cached by the library: only the first call, or one near expiry, makes a request.
      await connection.storage.authClient.getRequestHeaders(connection.storage.apiEndpoint);
    } catch (err) {
      const { source } = connection;
      const what = source.kind === "metadata"
        ? `no credentials found (no credentials_file, GOOGLE_APPLICATION_CREDENTIALS or ADC file${
          source.adcFile === undefined ? "" : ` at ${source.adcFile}`
        }, which 'gcloud auth application-default login' creates) and none from the metadata server`
        : `cannot obtain credentials from ${describeSource(source)}`;
      throw new DestinationError(`GCS gs://${this.#config.bucket}: ${what}: ${describe(err)}`, {
        cause: err,
        category: "auth",
      });
    }
    return connection;
  }
}

/** Picks the credentials, logs which, and builds the client. */
async function connect(config: GcsDestinationConfig): Promise<Connection> {
  const source = await chooseCredentials(config);
  log.info(`GCS credentials for gs://${config.bucket}: ${describeSource(source)}`);
  const credentials = source.kind === "metadata" ? undefined : await readKeyFile(source);
  const { Storage } = await import("@google-cloud/storage");
  const storage = new Storage({
    // Without `credentials`, google-auth-library's default chain finds nothing before the
    // metadata server: the steps above it were just found empty.
    ...(credentials === undefined ? {} : { credentials }),
    // The SDK sends no credentials to a custom endpoint unless told to.
    ...(config.endpoint === undefined
      ? {}
      : { apiEndpoint: config.endpoint, useAuthWithCustomEndpoint: true }),
  });
  // Applied to every request, resumable-upload chunks included (the `timeout` option is not): a
  // connection that stalls fails instead of hanging the run.
  storage.interceptors.push({
    // The declared types are narrower than what interceptors receive and return (the upload
    // code starts from `{}`); the options pass through with the timeout added.
    request: (options) => ({ ...options, timeout: REQUEST_TIMEOUT_MS }) as SdkRequestOptions,
  });
  if (source.kind === "metadata") skipGcloudProjectLookup(storage);
  return { storage, bucket: storage.bucket(config.bucket), source };
}

/**
 * With no credentials given, google-auth-library looks for a project ID before the first
 * request, and one of its steps runs the `gcloud` CLI (with the whole environment): that needs
 * `--allow-run` and every variable, and under narrow permissions fails the upload. Bucket and
 * object requests need no project ID, so that step answers "none", and the library goes on to
 * the metadata server's (or to none).
 */
function skipGcloudProjectLookup(storage: Storage): void {
  // A private method of GoogleAuth at run time, a plain method.
  const auth = storage.authClient as unknown as {
    getDefaultServiceProjectId?: () => Promise<string | null>;
  };
  auth.getDefaultServiceProjectId = () => Promise.resolve(null);
}

/** The first source of the spec's order that applies; its file is read later. */
async function chooseCredentials(config: GcsDestinationConfig): Promise<CredentialSource> {
  if (config.credentialsFile !== undefined) {
    return { kind: "credentials_file", file: config.credentialsFile };
  }
  const fromEnv = Deno.env.get("GOOGLE_APPLICATION_CREDENTIALS");
  if (fromEnv) return { kind: "GOOGLE_APPLICATION_CREDENTIALS", file: fromEnv };
  const adc = adcPath();
  if (adc !== undefined) {
    try {
      await Deno.stat(adc);
      return { kind: "adc", file: adc };
    } catch (err) {
      if (!(err instanceof Deno.errors.NotFound)) return { kind: "adc", file: adc };
    }
  }
  return { kind: "metadata", adcFile: adc };
}

/** Where gcloud keeps the user's ADC file: `$CLOUDSDK_CONFIG`, else its per-user config folder. */
function adcPath(): string | undefined {
  const configDir = Deno.env.get("CLOUDSDK_CONFIG");
  if (configDir) return join(configDir, ADC_FILE);
  const base = Deno.build.os === "windows"
    ? Deno.env.get("APPDATA")
    : Deno.env.get("HOME") && join(Deno.env.get("HOME")!, ".config");
  return base ? join(base, "gcloud", ADC_FILE) : undefined;
}

/** The key file's JSON; a file that cannot be read or parsed is an auth error naming it. */
async function readKeyFile(
  source: { kind: string; file: string },
): Promise<StorageOptions["credentials"]> {
  const what = `${source.kind === "adc" ? "the ADC file" : source.kind} ${source.file}`;
  let text: string;
  try {
    text = await Deno.readTextFile(source.file);
  } catch (err) {
    throw new DestinationError(`cannot read GCS credentials: ${what}: ${errorMessage(err)}`, {
      cause: err,
      category: "auth",
    });
  }
  try {
    const json: unknown = JSON.parse(text);
    if (json === null || typeof json !== "object" || Array.isArray(json)) {
      throw new Error("not a JSON object");
    }
    return json as StorageOptions["credentials"];
  } catch (err) {
    // The message says where parsing failed, never the content.
    throw new DestinationError(
      `GCS credentials: ${what} is not a JSON key file (${errorMessage(err)})`,
      { cause: err, category: "auth" },
    );
  }
}

/** For the log and errors: which source, and its path (never its content). */
function describeSource(source: CredentialSource): string {
  switch (source.kind) {
    case "credentials_file":
    case "GOOGLE_APPLICATION_CREDENTIALS":
      return `${source.kind} ${source.file}`;
    case "adc":
      return `application default credentials (${source.file})`;
    case "metadata":
      return "metadata server";
  }
}

/**
 * Uploads the file as `file` unless an object already has that name (then resolves false).
 * Streams from disk, one chunk in memory at a time, with `ifGenerationMatch: 0`, which GCS
 * enforces when it would create the object. The declared MD5 makes GCS refuse to create the
 * object if the bytes it received differ from the file. A failed upload is cancelled: its session
 * never becomes an object, and cancelling frees it now rather than in a week.
 */
async function upload(
  storage: Storage,
  file: File,
  path: string,
  size: number,
  md5Hash: string,
): Promise<boolean> {
  const preconditionOpts = { ifGenerationMatch: 0 };
  const marker = crypto.randomUUID();
  const metadata = { md5Hash, metadata: { [UPLOAD_MARKER]: marker } };
  let session: string | undefined;
  try {
    // An empty file has no chunk to send: it goes up in one request, just as atomic.
    if (size > 0) {
      // Opened here rather than by the write stream, which opens it without credentials when
      // the endpoint is a custom one (SDK 7.22 does not pass useAuthWithCustomEndpoint on).
      // The session URI then authorises the chunks by itself, as in GCS.
      [session] = await file.createResumableUpload({ metadata, preconditionOpts });
    }
    const sink = file.createWriteStream({
      resumable: session !== undefined,
      ...(session === undefined ? {} : { uri: session, offset: 0, chunkSize: CHUNK_SIZE }),
      metadata,
      preconditionOpts,
      // GCS validates the declared MD5 before the object exists; the SDK's own check would run
      // only afterwards (and delete the object), on a CRC32C computed in JavaScript at ~90 MB/s.
      validation: false,
    });
    await pipeline(createReadStream(path), sink);
    return true;
  } catch (err) {
    if (session !== undefined) await cancel(storage, session);
    if (statusOf(err) === 412) return false;
    // When the answer to the request that completed the upload is lost, the SDK's retry fails
    // (it cannot resume a finished session) although the object exists: it is this upload's.
    if (await createdBy(file, marker)) return true;
    throw err;
  }
}

/** Whether the object exists and carries this upload's marker. */
async function createdBy(file: File, marker: string): Promise<boolean> {
  try {
    const [metadata] = await file.getMetadata();
    return metadata.metadata?.[UPLOAD_MARKER] === marker;
  } catch {
    // Missing, or unreadable just now: the upload's own error is the one to report.
    return false;
  }
}

/** Cancels a resumable session (GCS answers 499); best effort, as it would expire anyway. */
async function cancel(storage: Storage, session: string): Promise<void> {
  try {
    await storage.authClient.request({
      url: session,
      method: "DELETE",
      validateStatus: (status) => status === 499 || status === 404 || status < 300,
      timeout: REQUEST_TIMEOUT_MS,
    });
  } catch (err) {
    log.debug(`GCS: could not cancel an upload session (${describe(err)}); it expires in a week`);
  }
}

async function md5Of(path: string): Promise<string> {
  const hash = createHash("md5");
  for await (const chunk of (await Deno.open(path)).readable) hash.update(chunk);
  return hash.digest("base64");
}

/**
 * Network failures, as a Node error code or inside a message (the SDK's "Retry limit exceeded"
 * error only quotes the last failure), and node-fetch's timeouts.
 */
const CONNECTIVITY =
  /\b(EAI_AGAIN|ECONNABORTED|ECONNREFUSED|ECONNRESET|EHOSTDOWN|EHOSTUNREACH|ENETDOWN|ENETUNREACH|ENOTFOUND|EPIPE|ETIMEDOUT)\b|network timeout|socket hang up/;

/** Token-endpoint answers that mean the credential itself is bad. */
const AUTH_MESSAGE = /invalid_grant|invalid_client|unauthorized_client|credential/i;

function destinationError(what: string, err: unknown): DestinationError {
  if (err instanceof DestinationError) return err;
  return new DestinationError(`${what}: ${describe(err)}`, {
    cause: err,
    category: categoryOf(err),
  });
}

/** Who must act, from the HTTP status, the network error code or the auth library's message. */
function categoryOf(err: unknown): DestinationCategory {
  for (let e = err; isObject(e); e = e.cause) {
    const status = statusOf(e);
    if (status === 401 || status === 403) return "auth";
    if (status === 404) return "not_found";
    const message = messageOf(e);
    if (CONNECTIVITY.test(typeof e.code === "string" ? e.code : message)) return "connectivity";
    if (AUTH_MESSAGE.test(message)) return "auth";
  }
  return "other";
}

/**
 * What the SDK rejects with: mostly an `Error`, but a failed resumable upload rejects with the
 * JSON API's plain `error` object (`{ code: 412, message, errors }`).
 */
interface SdkError {
  code?: unknown;
  status?: unknown;
  message?: unknown;
  errors?: unknown;
  response?: { status?: unknown };
  cause?: unknown;
}

function isObject(value: unknown): value is SdkError {
  return value !== null && typeof value === "object";
}

function messageOf(err: unknown): string {
  return isObject(err) && typeof err.message === "string" ? err.message : errorMessage(err);
}

/** The HTTP status of an SDK error, wherever this kind of error keeps it. */
function statusOf(err: unknown): number | undefined {
  if (!isObject(err)) return undefined;
  for (const value of [err.code, err.status, err.response?.status]) {
    const status = typeof value === "string" && /^\d{3}$/.test(value) ? Number(value) : value;
    if (typeof status === "number" && status >= 100 && status < 600) return status;
  }
  return undefined;
}

/** One line: the server's message and HTTP status when there is one. */
function describe(err: unknown): string {
  let text = messageOf(err);
  const status = statusOf(err);
  const detail = serverMessage(err);
  if (detail !== undefined && !text.includes(detail)) text = `${text}: ${detail}`;
  if (status !== undefined && !text.includes(String(status))) text = `${text} (HTTP ${status})`;
  // A session URI authorises uploads to its session by itself: keep it out of messages.
  return text.replace(/upload_id=[^&\s]+/g, "upload_id=…").replace(/\s+/g, " ").trim();
}

/** The JSON API's `error.message`, which an upload error carries in `errors`. */
function serverMessage(err: unknown): string | undefined {
  const errors = isObject(err) ? err.errors : undefined;
  if (!Array.isArray(errors)) return undefined;
  for (const item of errors) {
    const message = (item as { error?: { message?: unknown } })?.error?.message;
    if (typeof message === "string") return message;
  }
  return undefined;
}
