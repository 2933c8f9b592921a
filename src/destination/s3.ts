/**
 * S3 destination (Amazon S3 or an S3-compatible server such as MinIO or Ceph radosgw): a file is
 * built in local staging and uploaded on commit, streaming from disk. An object becomes visible
 * only when its upload completes (a single PutObject, or CompleteMultipartUpload, is atomic), and
 * an existing object is never overwritten.
 *
 * @module
 */
import {
  AbortMultipartUploadCommand,
  type CompletedPart,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  PutObjectCommand,
  S3Client,
  type S3ClientConfig,
  S3ServiceException,
  UploadPartCommand,
} from "@aws-sdk/client-s3";
import type { S3DestinationConfig } from "../config/types.ts";
import { type DestinationCategory, DestinationError, errorMessage } from "../errors.ts";
import type { Destination, Staged } from "./destination.ts";
import { candidateNames } from "./file_name.ts";
import { objectKey } from "./object_key.ts";
import { stageForUpload } from "./staging.ts";

const MIB = 1024 * 1024;
/** Bytes per multipart part, and what an upload holds in memory. Smaller files: one PutObject. */
const PART_SIZE = 8 * MIB;
/** S3's limit on parts per upload; larger files get larger parts. */
const MAX_PARTS = 10_000;
/** Attempts per request (the SDK retries throttling, 5xx and dropped connections with backoff). */
const MAX_ATTEMPTS = 5;
/**
 * User metadata naming the upload that stored an object (`x-amz-meta-rivet-upload`): how a commit
 * recognises its own object after a lost reply.
 */
const UPLOAD_TOKEN = "rivet-upload";

/** Stores files as objects in an S3 bucket, under a key prefix. */
export class S3Destination implements Destination {
  readonly #client: S3Client;
  readonly #bucket: string;
  readonly #prefix: string;

  /** Files go to `config.bucket` under `config.prefix`; credentials as `config.keys` says. */
  constructor(config: S3DestinationConfig) {
    this.#bucket = config.bucket;
    this.#prefix = config.prefix;
    this.#client = new S3Client(clientConfig(config));
  }

  stage(): Promise<Staged> {
    return stageForUpload((path, fileName) => this.#publish(path, fileName));
  }

  locationOf(fileName: string): string {
    return this.#location(objectKey(this.#prefix, fileName));
  }

  async retract(location: string): Promise<void> {
    const bucketUrl = this.#location("");
    if (!location.startsWith(bucketUrl)) {
      throw new DestinationError(`cannot remove ${location}: it is not in ${bucketUrl}`);
    }
    const key = location.slice(bucketUrl.length);
    try {
      // S3 is strongly consistent: once DeleteObject returns, no reader sees the object.
      await this.#client.send(new DeleteObjectCommand({ Bucket: this.#bucket, Key: key }));
    } catch (err) {
      throw destinationError(`cannot remove ${location}`, err);
    }
  }

  async probe(): Promise<void> {
    const key = objectKey(this.#prefix, `.rivet_doctor_probe_${crypto.randomUUID()}`);
    try {
      await this.#client.send(
        new PutObjectCommand({ Bucket: this.#bucket, Key: key, Body: "rivet doctor\n" }),
      );
    } catch (err) {
      throw destinationError(`cannot write ${this.#location(key)}`, err);
    }
    try {
      await this.#client.send(new DeleteObjectCommand({ Bucket: this.#bucket, Key: key }));
    } catch (err) {
      throw destinationError(`wrote but cannot remove ${this.#location(key)}`, err);
    }
  }

  #location(key: string): string {
    return `s3://${this.#bucket}/${key}`;
  }

  /** Uploads the staged file under the first free name: `fileName`, then `_2`, `_3`... */
  async #publish(path: string, fileName: string): Promise<{ fileName: string; location: string }> {
    let key = objectKey(this.#prefix, fileName);
    try {
      for (const name of candidateNames(fileName)) {
        key = objectKey(this.#prefix, name);
        if (await this.#taken(key)) continue;
        if (await this.#upload(path, key)) {
          return { fileName: name, location: this.#location(key) };
        }
      }
    } catch (err) {
      if (err instanceof DestinationError) throw err;
      throw destinationError(`cannot upload ${this.#location(key)}`, err);
    }
    throw new DestinationError(
      `no free object name for ${fileName} in ${this.#location(objectKey(this.#prefix, ""))}`,
    );
  }

  /**
   * Whether an object already has this key. Checked first because not every S3-compatible server
   * honours the conditional write of {@link #upload} (radosgw 16 ignores it on multipart
   * completion): there, two writers of the same new key in the same instant could still race.
   */
  async #taken(key: string): Promise<boolean> {
    try {
      await this.#client.send(new HeadObjectCommand({ Bucket: this.#bucket, Key: key }));
      return true;
    } catch (err) {
      const status = statusOf(err);
      // Without s3:ListBucket, S3 answers 403 for a missing key: the conditional write decides.
      if (status === 404 || status === 403) return false;
      throw err;
    }
  }

  /**
   * Uploads the file to `key` unless an object appeared there meanwhile (then resolves false).
   * Up to one part: a single PutObject. Larger: a multipart upload, one part in flight, read from
   * disk into one reused buffer: memory stays at one part however large the file (lib-storage's
   * Upload allocates and copies every part, which measured ~100 MB more RSS), and a part that
   * fails after its retries stops the upload at once, with nothing in flight to race the abort.
   */
  async #upload(path: string, key: string): Promise<boolean> {
    using file = await Deno.open(path, { read: true });
    const { size } = await file.stat();
    const partSize = Math.max(PART_SIZE, Math.ceil(size / MAX_PARTS / MIB) * MIB);
    const multipart = size > partSize;
    const target = { Bucket: this.#bucket, Key: key };
    const token = crypto.randomUUID();
    const tagged = { ...target, Metadata: { [UPLOAD_TOKEN]: token } };
    // If-None-Match: * makes PutObject and CompleteMultipartUpload refuse an existing key (412).
    const ifAbsent = { IfNoneMatch: "*" };
    let uploadId: string | undefined;
    try {
      if (!multipart) {
        const body = await readFull(file, new Uint8Array(size));
        await this.#client.send(new PutObjectCommand({ ...tagged, ...ifAbsent, Body: body }));
        return true;
      }
      ({ UploadId: uploadId } = await this.#client.send(
        new CreateMultipartUploadCommand(tagged),
      ));
      const buffer = new Uint8Array(partSize);
      const parts: CompletedPart[] = [];
      for (let sent = 0; sent < size;) {
        const body = await readFull(file, buffer);
        if (body.length === 0) throw new Error(`${path} ended after ${sent} of ${size} bytes`);
        const PartNumber = parts.length + 1;
        const { ETag } = await this.#client.send(
          new UploadPartCommand({ ...target, UploadId: uploadId, PartNumber, Body: body }),
        );
        parts.push({ PartNumber, ETag });
        sent += body.length;
      }
      await this.#client.send(
        new CompleteMultipartUploadCommand({
          ...target,
          ...ifAbsent,
          UploadId: uploadId,
          MultipartUpload: { Parts: parts },
        }),
      );
      return true;
    } catch (err) {
      const landed = await this.#landed(key, token);
      const leftover = multipart ? await this.#abortUploads(key, uploadId) : undefined;
      if (landed) return true;
      if (leftover === undefined && nameTaken(err)) return false;
      const note = leftover === undefined ? "" : `; ${leftover}`;
      throw destinationError(`cannot upload ${this.#location(key)}`, err, note);
    }
  }

  /**
   * Whether this upload's object is at `key` after all: when the reply to a successful PutObject
   * or CompleteMultipartUpload is lost, the SDK's retry fails (412, since the key is now taken, or
   * NoSuchUpload), though the object is stored. Unknown (the server unreachable) counts as no.
   */
  async #landed(key: string, token: string): Promise<boolean> {
    try {
      const head = await this.#client.send(
        new HeadObjectCommand({ Bucket: this.#bucket, Key: key }),
      );
      return head.Metadata?.[UPLOAD_TOKEN] === token;
    } catch {
      return false;
    }
  }

  /**
   * Aborts the failed upload's multipart upload, which frees its parts, so nothing of it remains.
   * Other incomplete uploads of the same key are aborted too: when the reply to a
   * CreateMultipartUpload is lost, the SDK's retry starts a second one and the first is never
   * referenced again. The key is this run's new file name, so they are ours. Returns a note when
   * one may remain.
   */
  async #abortUploads(key: string, uploadId: string | undefined): Promise<string | undefined> {
    const ids = new Set(uploadId === undefined ? [] : [uploadId]);
    try {
      const listing = await this.#client.send(
        new ListMultipartUploadsCommand({ Bucket: this.#bucket, Prefix: key }),
      );
      for (const u of listing.Uploads ?? []) {
        if (u.Key === key && u.UploadId !== undefined) ids.add(u.UploadId);
      }
    } catch {
      // Listing needs s3:ListBucketMultipartUploads; the known upload is aborted regardless.
    }
    const failed: string[] = [];
    for (const id of ids) {
      try {
        await this.#client.send(
          new AbortMultipartUploadCommand({ Bucket: this.#bucket, Key: key, UploadId: id }),
        );
      } catch (err) {
        if (statusOf(err) !== 404) failed.push(`${id} (${describe(err)})`);
      }
    }
    if (failed.length === 0) return undefined;
    return `its incomplete multipart upload ${
      failed.join(", ")
    } could not be aborted: a bucket lifecycle rule (AbortIncompleteMultipartUpload) removes it`;
  }
}

function clientConfig(config: S3DestinationConfig): S3ClientConfig {
  return {
    region: config.region ?? sdkRegionOrUsEast1,
    // A bucket outside the resolved region answers 301; the SDK then retries in the right one.
    followRegionRedirects: true,
    ...(config.endpoint === undefined ? {} : { endpoint: config.endpoint, forcePathStyle: true }),
    // Config keys, when named, are the only credentials; otherwise the SDK's default chain
    // (AWS_* variables, shared config and credentials files with AWS_PROFILE, SSO, web identity,
    // container and instance metadata).
    ...(config.keys === undefined ? {} : {
      credentials: {
        accessKeyId: config.keys.accessKeyId,
        secretAccessKey: config.keys.secretAccessKey,
      },
    }),
    // The SDK's default ("WHEN_SUPPORTED") adds a CRC32 checksum to every upload, sent as an
    // aws-chunked stream with a trailer. S3-compatible servers that predate flexible checksums
    // reject that (radosgw 16: 411 MissingContentLength) or store the chunk framing as data.
    // Only operations that require a checksum get one. The bytes stay protected: each part and
    // each single upload is a buffer whose SHA-256 SigV4 signs, and the server checks it.
    requestChecksumCalculation: "WHEN_REQUIRED",
    responseChecksumValidation: "WHEN_REQUIRED",
    maxAttempts: MAX_ATTEMPTS,
    requestHandler: {
      // An unreachable host (packets dropped) fails instead of hanging; so does a stalled transfer.
      connectionTimeout: 10_000,
      socketTimeout: 120_000,
    },
  };
}

/**
 * The region the SDK resolves by itself (AWS_REGION, the profile's `region`), else us-east-1,
 * which S3-compatible servers accept and from which AWS redirects to the bucket's region.
 */
async function sdkRegionOrUsEast1(): Promise<string> {
  const resolver = new S3Client({});
  try {
    return await resolver.config.region();
  } catch {
    return "us-east-1";
  } finally {
    resolver.destroy();
  }
}

/** The conditional write lost: an object got the key first (409: a concurrent one is running). */
function nameTaken(err: unknown): boolean {
  return statusOf(err) === 412 ||
    (err instanceof S3ServiceException && err.name === "ConditionalRequestConflict");
}

const AUTH_CODES = new Set([
  "AccessDenied",
  "AccountProblem",
  "AllAccessDisabled",
  "CredentialsProviderError",
  "ExpiredToken",
  "InvalidAccessKeyId",
  "InvalidClientTokenId",
  "InvalidToken",
  "RequestTimeTooSkewed",
  "SignatureDoesNotMatch",
  "TokenRefreshRequired",
]);

const CONNECTIVITY_CODES = new Set([
  "EAI_AGAIN",
  "ECONNABORTED",
  "ECONNREFUSED",
  "ECONNRESET",
  "EHOSTDOWN",
  "EHOSTUNREACH",
  "ENETDOWN",
  "ENETUNREACH",
  "ENOTFOUND",
  "EPIPE",
  "ETIMEDOUT",
  "TimeoutError",
  "RequestTimeout",
]);

function destinationError(what: string, err: unknown, note = ""): DestinationError {
  return new DestinationError(`${what}: ${describe(err)}${note}`, {
    cause: err,
    category: categoryOf(err),
  });
}

/** Who must act, from the S3 error code, the HTTP status or the network error code. */
function categoryOf(err: unknown): DestinationCategory {
  for (let e: unknown = err; e instanceof Error; e = e.cause) {
    const code = codeOf(e);
    if (AUTH_CODES.has(code)) return "auth";
    if (CONNECTIVITY_CODES.has(code)) return "connectivity";
    if (code === "NoSuchBucket") return "not_found";
    const status = statusOf(e);
    if (status === 401 || status === 403) return "auth";
    if (status === 404) return "not_found";
  }
  return "other";
}

/** The S3 error code (the exception's name), else a Node-style `code` such as ECONNREFUSED. */
function codeOf(err: Error): string {
  const code = (err as { code?: unknown }).code;
  return typeof code === "string" ? code : err.name;
}

function statusOf(err: unknown): number | undefined {
  return err instanceof S3ServiceException ? err.$metadata.httpStatusCode : undefined;
}

/**
 * One line: the S3 error code and HTTP status, with the server's message when it sent one (some
 * servers send none, and the SDK then says "UnknownError").
 */
function describe(err: unknown): string {
  let text = errorMessage(err);
  if (err instanceof S3ServiceException) {
    const status = err.$metadata.httpStatusCode;
    const head = status === undefined ? err.name : `${err.name} (HTTP ${status})`;
    text = err.message === "" || err.message === "UnknownError" || err.message === err.name
      ? head
      : `${head}: ${err.message}`;
  }
  return text.replace(/\s+/g, " ").trim();
}

/** Reads from the file's current position until `buffer` is full or the file ends. */
async function readFull(file: Deno.FsFile, buffer: Uint8Array): Promise<Uint8Array> {
  let filled = 0;
  while (filled < buffer.length) {
    const n = await file.read(buffer.subarray(filled));
    if (n === null) break;
    filled += n;
  }
  return buffer.subarray(0, filled);
}
