/**
 * One S3 server per test file (started on first use, killed when the file's tests end), an admin
 * client for it, and a bucket per test.
 *
 * @module
 */
import {
  AbortMultipartUploadCommand,
  CreateBucketCommand,
  DeleteBucketCommand,
  DeleteObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  S3Client,
} from "@aws-sdk/client-s3";
import { type S3Server, startS3Server } from "./s3_server.ts";

// One server for the whole file (~2 s to start); every test uses a bucket of its own.
let starting: Promise<S3Server> | undefined;
let running: S3Server | undefined;
globalThis.addEventListener("unload", () => running?.stop());

/** The file's server, started on first use. */
export function server(): Promise<S3Server> {
  starting ??= startS3Server().then((s) => (running = s));
  return starting;
}

/** A client with the server's own keys. */
export function adminClient(s3: S3Server): S3Client {
  return new S3Client({
    endpoint: s3.endpoint,
    region: "us-east-1",
    forcePathStyle: true,
    credentials: { accessKeyId: s3.accessKey, secretAccessKey: s3.secretKey },
    requestChecksumCalculation: "WHEN_REQUIRED",
    responseChecksumValidation: "WHEN_REQUIRED",
  });
}

/** Runs `body` with a new bucket, emptied and deleted afterwards. */
export async function withBucket(
  s3: S3Server,
  body: (bucket: string, admin: S3Client) => Promise<void>,
): Promise<void> {
  const admin = adminClient(s3);
  const bucket = `rivet-t-${crypto.randomUUID().slice(0, 13)}`;
  await admin.send(new CreateBucketCommand({ Bucket: bucket }));
  try {
    await body(bucket, admin);
  } finally {
    for (const key of await listKeys(admin, bucket)) {
      await admin.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));
    }
    const { Uploads } = await admin.send(new ListMultipartUploadsCommand({ Bucket: bucket }));
    for (const { Key, UploadId } of Uploads ?? []) {
      await admin.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key, UploadId }));
    }
    await admin.send(new DeleteBucketCommand({ Bucket: bucket }));
    admin.destroy();
  }
}

/** Every key in `bucket`, sorted. */
export async function listKeys(admin: S3Client, bucket: string): Promise<string[]> {
  const keys: string[] = [];
  let token: string | undefined;
  do {
    const page = await admin.send(
      new ListObjectsV2Command({ Bucket: bucket, ContinuationToken: token }),
    );
    for (const o of page.Contents ?? []) keys.push(o.Key!);
    token = page.NextContinuationToken;
  } while (token);
  return keys.sort();
}
