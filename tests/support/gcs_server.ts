/**
 * An in-process stand-in for Google Cloud Storage: the parts of the JSON API, the upload API, the
 * OAuth token endpoint and the GCE metadata server that `@google-cloud/storage` and
 * `google-auth-library` use, with hooks to create buckets and credentials, look inside, and break
 * uploads half way.
 *
 * Authentication is checked for real: the token endpoint verifies a service account's signed
 * assertion against the public key of the key it issued, or a user's refresh token, and the API
 * accepts only the bearer tokens it handed out (there or from the metadata server). The library
 * posts to Google's fixed token URLs whatever a key file's `token_uri` says;
 * tests/support/google_token_redirect.ts sends those requests here.
 *
 * Built on node:http rather than Deno.serve: breaking an upload means dropping the connection in
 * the middle of a request body, as a failing network does, and only node:http exposes the socket.
 *
 * @module
 */
import { createHash } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { Buffer } from "node:buffer";

/** A user's ADC file, as `gcloud auth application-default login` writes it. */
export interface UserCredentials {
  type: "authorized_user";
  client_id: string;
  client_secret: string;
  refresh_token: string;
}

/** A service-account key file's content, as `credentials_file` holds it. */
export interface ServiceAccountKey {
  type: "service_account";
  project_id: string;
  private_key_id: string;
  private_key: string;
  client_email: string;
  client_id: string;
  token_uri: string;
}

/** An object as the stand-in stores it. */
export interface StoredObject {
  name: string;
  data: Uint8Array;
  generation: string;
  /** Who authorised the upload: an account's email, or `metadata server`. */
  uploadedBy: string;
  /** How many requests carried its bytes (a resumable upload's chunks). */
  requests: number;
}

/** A resumable upload that is neither finalized nor cancelled. */
export interface OpenSession {
  bucket: string;
  name: string;
  /** Bytes received so far. */
  received: number;
}

/** A running stand-in. */
export interface GcsServer {
  /** The API endpoint, e.g. `http://127.0.0.1:40123` (the `endpoint` destination key). */
  endpoint: string;
  /** The OAuth token endpoint. */
  tokenUrl: string;
  /** `host:port` of the metadata server (the `GCE_METADATA_HOST` variable). */
  metadataHost: string;
  /** A new service-account key; the token endpoint accepts it unless `trusted` is false. */
  newServiceAccount(options?: { trusted?: boolean }): Promise<ServiceAccountKey>;
  /**
   * A new user's ADC file content and email; the token endpoint accepts its refresh token unless
   * `trusted` is false.
   */
  newUserCredentials(options?: { trusted?: boolean }): { file: UserCredentials; email: string };
  /** Makes the API refuse every access token handed out so far. */
  revokeTokens(): void;
  createBucket(name: string): void;
  deleteBucket(name: string): void;
  /** Stores an object directly, as another writer would. */
  putObject(bucket: string, name: string, data: Uint8Array): void;
  /** The bucket's objects, by name. */
  objects(bucket: string): StoredObject[];
  /** Every object name ever created in the bucket, deleted ones too, in order. */
  created(bucket: string): string[];
  openSessions(): OpenSession[];
  /**
   * From now on, drops the connection of any upload request once its object has received
   * `bytes` bytes (a resumable session's total, or a single request's body); every retry fails
   * the same way. `undefined` lets uploads through again.
   */
  failUploadsAfter(bytes: number | undefined): void;
  /**
   * While on, an upload that creates its object gets no answer: the connection drops, as when
   * the network fails just as GCS replies.
   */
  loseAnswers(on: boolean): void;
  /** While on, the first byte of each resumable-upload request arrives flipped, as if damaged. */
  corruptUploads(on: boolean): void;
  close(): Promise<void>;
}

interface Entry extends StoredObject {
  contentType: string;
  md5Hash: string;
  crc32c: string;
  updated: string;
  /** The object's custom metadata. */
  custom?: Record<string, string>;
}

interface Session {
  bucket: string;
  name: string;
  ifGenerationMatch: string | null;
  metadata: Record<string, unknown>;
  chunks: Uint8Array[];
  received: number;
  total?: number;
  uploadedBy: string;
  requests: number;
}

/** Non-final chunks of a resumable upload must be multiples of this (as GCS requires). */
const CHUNK_GRANULE = 256 * 1024;

/** Starts a stand-in on a free loopback port. */
export async function startGcsServer(): Promise<GcsServer> {
  const buckets = new Map<string, Map<string, Entry>>();
  const history = new Map<string, string[]>();
  /** Service accounts' public keys, by email. */
  const keys = new Map<string, CryptoKey>();
  /** Users, by refresh token. */
  const users = new Map<string, { clientId: string; clientSecret: string; email: string }>();
  /** Access tokens handed out, and whom they stand for. */
  const tokens = new Map<string, string>();
  const sessions = new Map<string, Session>();
  /** Finalized sessions, by id: GCS answers any later request to one with the object. */
  const finished = new Map<string, Record<string, unknown>>();
  const sockets = new Set<Socket>();
  let cutAfter: number | undefined;
  let loseAnswers = false;
  let corrupt = false;
  let generation = Date.now() * 1000;

  const server = createServer((req, res) => {
    // One request per connection: Deno's node:http server cannot drop a kept-alive connection
    // (socket.destroy() is then a no-op and the client waits forever), and dropping is how
    // failUploadsAfter breaks an upload.
    res.setHeader("connection", "close");
    handle(req, res).catch((err) => {
      if (!res.headersSent) sendError(res, 500, String(err), "backendError");
    });
  });
  server.on("connection", (socket: Socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  const endpoint = `http://127.0.0.1:${port}`;

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", endpoint);
    if (url.pathname.startsWith("/computeMetadata/")) return metadataServer(req, res, url);
    if (url.pathname === "/token" && req.method === "POST") return tokenEndpoint(req, res);
    const upload = url.pathname.match(/^\/upload\/storage\/v1\/b\/([^/]+)\/o$/);
    const sessionId = url.searchParams.get("upload_id");
    // A session URI is its own credential, as in GCS.
    if (upload && sessionId !== null) return sessionRequest(req, res, sessionId);
    const principal = tokens.get(req.headers.authorization?.match(/^Bearer (\S+)$/)?.[1] ?? "");
    if (principal === undefined) {
      await drain(req);
      return sendError(res, 401, "Invalid Credentials", "authError");
    }
    if (upload && req.method === "POST") {
      const bucket = decodeURIComponent(upload[1]);
      const type = url.searchParams.get("uploadType");
      if (type === "resumable") return startSession(req, res, url, bucket, principal);
      if (type === "multipart") return multipartUpload(req, res, url, bucket, principal);
      return sendError(res, 400, `uploadType ${type} is not supported here`, "invalid");
    }
    await drain(req);
    const bucketPath = url.pathname.match(/^\/storage\/v1\/b\/([^/]+)(\/o(?:\/(.+))?)?$/);
    if (!bucketPath) return sendError(res, 404, "Not Found", "notFound");
    const bucket = decodeURIComponent(bucketPath[1]);
    const objects = buckets.get(bucket);
    if (!objects) return sendError(res, 404, "The specified bucket does not exist.", "notFound");
    if (bucketPath[2] === undefined && req.method === "GET") {
      return sendJson(res, 200, { kind: "storage#bucket", id: bucket, name: bucket });
    }
    if (bucketPath[3] === undefined && req.method === "GET") {
      const prefix = url.searchParams.get("prefix") ?? "";
      const items = [...objects.values()].filter((o) => o.name.startsWith(prefix))
        .sort(byName).map((o) => resource(bucket, o));
      return sendJson(res, 200, { kind: "storage#objects", ...(items.length ? { items } : {}) });
    }
    const name = decodeURIComponent(bucketPath[3] ?? "");
    const object = objects.get(name);
    if (!object) return sendError(res, 404, `No such object: ${bucket}/${name}`, "notFound");
    if (req.method === "DELETE") {
      objects.delete(name);
      res.writeHead(204).end();
      return;
    }
    if (req.method !== "GET") return sendError(res, 405, "Method not allowed", "invalid");
    if (url.searchParams.get("alt") !== "media") {
      return sendJson(res, 200, resource(bucket, object));
    }
    res.writeHead(200, {
      "content-type": object.contentType,
      "content-length": String(object.data.length),
      "x-goog-hash": `crc32c=${object.crc32c},md5=${object.md5Hash}`,
      "x-goog-generation": object.generation,
      "x-goog-stored-content-encoding": "identity",
      "x-goog-stored-content-length": String(object.data.length),
    });
    res.end(object.data);
  }

  async function startSession(
    req: IncomingMessage,
    res: ServerResponse,
    url: URL,
    bucket: string,
    principal: string,
  ): Promise<void> {
    const body = await readBody(req);
    if (body === undefined) return;
    const objects = buckets.get(bucket);
    if (!objects) return sendError(res, 404, "The specified bucket does not exist.", "notFound");
    const name = url.searchParams.get("name") ?? "";
    const ifGenerationMatch = url.searchParams.get("ifGenerationMatch");
    if (!preconditionHolds(objects, name, ifGenerationMatch)) return preconditionFailed(res);
    const id = crypto.randomUUID();
    sessions.set(id, {
      bucket,
      name,
      ifGenerationMatch,
      metadata: body.length ? JSON.parse(new TextDecoder().decode(body)) : {},
      chunks: [],
      received: 0,
      uploadedBy: principal,
      requests: 0,
    });
    const location = `${endpoint}/upload/storage/v1/b/${encodeURIComponent(bucket)}/o?` +
      new URLSearchParams({ uploadType: "resumable", name, upload_id: id });
    res.writeHead(200, { location, "content-length": "0" }).end();
  }

  async function sessionRequest(
    req: IncomingMessage,
    res: ServerResponse,
    id: string,
  ): Promise<void> {
    const session = sessions.get(id);
    if (!session) {
      await drain(req);
      const done = finished.get(id);
      if (done !== undefined && req.method === "PUT") return sendJson(res, 200, done);
      return sendError(res, 404, "No such upload session", "notFound");
    }
    if (req.method === "DELETE") {
      await drain(req);
      sessions.delete(id);
      // GCS answers a cancelled session with 499.
      res.writeHead(499, { "content-length": "0" }).end();
      return;
    }
    const range = parseContentRange(req.headers["content-range"]);
    if (req.method !== "PUT" || range === undefined) {
      await drain(req);
      return sendError(res, 400, "Bad resumable upload request", "invalid");
    }
    if (range.first !== undefined) session.requests++;
    let damage = corrupt;
    let skip = range.first === undefined ? 0 : session.received - range.first;
    if (skip < 0) {
      await drain(req);
      return sendError(res, 400, "Content-Range starts after the bytes received", "invalid");
    }
    for await (const chunk of req as AsyncIterable<Uint8Array>) {
      let part = chunk;
      if (skip > 0) {
        const dropped = Math.min(skip, part.length);
        part = part.subarray(dropped);
        skip -= dropped;
      }
      if (cutAfter !== undefined && session.received + part.length > cutAfter) {
        const keep = Math.max(0, cutAfter - session.received);
        session.chunks.push(part.slice(0, keep));
        session.received += keep;
        req.socket.destroy();
        return;
      }
      const copy = part.slice();
      if (damage && copy.length > 0) {
        copy[0] ^= 0xff;
        damage = false;
      }
      session.chunks.push(copy);
      session.received += part.length;
    }
    if (range.total !== undefined) session.total = range.total;
    const final = session.total !== undefined && session.received >= session.total;
    const length = range.first === undefined ? 0 : range.last! - range.first + 1;
    if (!final && length % CHUNK_GRANULE !== 0) {
      return sendError(res, 400, "Non-final chunks must be multiples of 256 KiB", "invalid");
    }
    if (final) return finalize(req, res, id, session);
    const headers: Record<string, string> = { "content-length": "0" };
    if (session.received > 0) headers.range = `bytes=0-${session.received - 1}`;
    res.writeHead(308, headers).end();
  }

  function finalize(req: IncomingMessage, res: ServerResponse, id: string, session: Session) {
    sessions.delete(id);
    const objects = buckets.get(session.bucket);
    if (!objects) return sendError(res, 404, "The specified bucket does not exist.", "notFound");
    if (session.received !== session.total) {
      return sendError(res, 400, "More bytes than the declared size", "invalid");
    }
    const created = store(res, objects, session.bucket, {
      name: session.name,
      data: Buffer.concat(session.chunks),
      ifGenerationMatch: session.ifGenerationMatch,
      metadata: session.metadata,
      uploadedBy: session.uploadedBy,
      requests: session.requests,
    });
    if (created === undefined) return;
    finished.set(id, created);
    reply(req, res, created);
  }

  /** Answers a created object, unless the answer is to be lost. */
  function reply(req: IncomingMessage, res: ServerResponse, created: Record<string, unknown>) {
    if (loseAnswers) req.socket.destroy();
    else sendJson(res, 200, created);
  }

  async function multipartUpload(
    req: IncomingMessage,
    res: ServerResponse,
    url: URL,
    bucket: string,
    principal: string,
  ): Promise<void> {
    const body = await readBody(req, cutAfter);
    if (body === undefined) return;
    const objects = buckets.get(bucket);
    if (!objects) return sendError(res, 404, "The specified bucket does not exist.", "notFound");
    const boundary = req.headers["content-type"]?.match(/boundary="?([^";]+)"?/)?.[1];
    const parts = boundary === undefined ? [] : multipartParts(body, boundary);
    if (parts.length !== 2) return sendError(res, 400, "Expected metadata and media", "invalid");
    const metadata = JSON.parse(new TextDecoder().decode(parts[0])) as Record<string, unknown>;
    const created = store(res, objects, bucket, {
      name: url.searchParams.get("name") ?? String(metadata.name ?? ""),
      data: parts[1],
      ifGenerationMatch: url.searchParams.get("ifGenerationMatch"),
      metadata,
      uploadedBy: principal,
      requests: 1,
    });
    if (created !== undefined) reply(req, res, created);
  }

  /**
   * Creates the object if the precondition holds and any declared hash matches the bytes, and
   * returns its resource; otherwise answers the error.
   */
  function store(
    res: ServerResponse,
    objects: Map<string, Entry>,
    bucket: string,
    upload: {
      name: string;
      data: Uint8Array;
      ifGenerationMatch: string | null;
      metadata: Record<string, unknown>;
      uploadedBy: string;
      requests: number;
    },
  ): Record<string, unknown> | undefined {
    if (!preconditionHolds(objects, upload.name, upload.ifGenerationMatch)) {
      return preconditionFailed(res);
    }
    const md5Hash = createHash("md5").update(upload.data).digest("base64");
    const crc = crc32c(upload.data);
    const { md5Hash: declaredMd5, crc32c: declaredCrc } = upload.metadata;
    if (declaredMd5 !== undefined && declaredMd5 !== md5Hash) {
      return sendError(res, 400, "Provided MD5 hash does not match the data", "invalid");
    }
    if (declaredCrc !== undefined && declaredCrc !== crc) {
      return sendError(res, 400, "Provided CRC32C does not match the data", "invalid");
    }
    const entry: Entry = {
      name: upload.name,
      data: upload.data,
      generation: String(++generation),
      uploadedBy: upload.uploadedBy,
      requests: upload.requests,
      contentType: String(upload.metadata.contentType ?? "application/octet-stream"),
      md5Hash,
      crc32c: crc,
      updated: new Date().toISOString(),
      custom: upload.metadata.metadata as Record<string, string> | undefined,
    };
    objects.set(entry.name, entry);
    history.get(bucket)?.push(entry.name);
    return resource(bucket, entry);
  }

  async function metadataServer(req: IncomingMessage, res: ServerResponse, url: URL) {
    await drain(req);
    const headers = { "metadata-flavor": "Google" };
    if (req.headers["metadata-flavor"] !== "Google") {
      res.writeHead(403, headers).end("Missing Metadata-Flavor header");
      return;
    }
    if (url.pathname === "/computeMetadata/v1/instance") {
      res.writeHead(200, { ...headers, "content-type": "text/plain" }).end("attributes/\n");
      return;
    }
    if (url.pathname === "/computeMetadata/v1/instance/service-accounts/default/token") {
      res.writeHead(200, { ...headers, "content-type": "application/json" })
        .end(JSON.stringify(issueToken("metadata server")));
      return;
    }
    res.writeHead(404, headers).end("Not Found");
  }

  /**
   * The OAuth token endpoint: a service account's signed assertion (JWT bearer grant) or a user's
   * refresh token buys an access token; anything else is `invalid_grant`, as Google answers a
   * deleted key or a revoked refresh token.
   */
  async function tokenEndpoint(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const form = new URLSearchParams(new TextDecoder().decode(await readBody(req)));
    const grant = form.get("grant_type");
    const principal = grant === "urn:ietf:params:oauth:grant-type:jwt-bearer"
      ? await assertionIssuer(form.get("assertion") ?? "")
      : grant === "refresh_token"
      ? refreshTokenOwner(form)
      : undefined;
    if (principal === undefined) {
      sendJson(res, 400, { error: "invalid_grant", error_description: "Invalid grant." });
      return;
    }
    sendJson(res, 200, issueToken(principal));
  }

  /** The service account whose key signed a valid, unexpired storage-scoped assertion. */
  async function assertionIssuer(assertion: string): Promise<string | undefined> {
    const [head, body, signature] = assertion.split(".");
    if (signature === undefined) return undefined;
    try {
      const header = JSON.parse(new TextDecoder().decode(base64url(head)));
      const claims = JSON.parse(new TextDecoder().decode(base64url(body)));
      const key = keys.get(claims.iss);
      if (key === undefined || header.alg !== "RS256") return undefined;
      if (typeof claims.exp !== "number" || claims.exp * 1000 < Date.now()) return undefined;
      if (!String(claims.scope ?? "").includes("devstorage")) return undefined;
      const valid = await crypto.subtle.verify(
        "RSASSA-PKCS1-v1_5",
        key,
        base64url(signature),
        new TextEncoder().encode(`${head}.${body}`),
      );
      return valid ? claims.iss : undefined;
    } catch {
      return undefined;
    }
  }

  function refreshTokenOwner(form: URLSearchParams): string | undefined {
    const user = users.get(form.get("refresh_token") ?? "");
    const matches = user?.clientId === form.get("client_id") &&
      user?.clientSecret === form.get("client_secret");
    return matches ? user?.email : undefined;
  }

  function issueToken(principal: string) {
    const token = `ya29.${crypto.randomUUID()}`;
    tokens.set(token, principal);
    return { access_token: token, expires_in: 3599, token_type: "Bearer" };
  }

  /** Reads a request body; undefined when the connection was dropped past `cut` bytes. */
  async function readBody(req: IncomingMessage, cut?: number): Promise<Uint8Array | undefined> {
    const chunks: Uint8Array[] = [];
    let length = 0;
    for await (const chunk of req as AsyncIterable<Uint8Array>) {
      length += chunk.length;
      if (cut !== undefined && length > cut) {
        req.socket.destroy();
        return undefined;
      }
      chunks.push(chunk);
    }
    return Buffer.concat(chunks);
  }

  return {
    endpoint,
    tokenUrl: `${endpoint}/token`,
    metadataHost: `127.0.0.1:${port}`,
    async newServiceAccount(options = {}) {
      const pair = await crypto.subtle.generateKey(
        {
          name: "RSASSA-PKCS1-v1_5",
          modulusLength: 2048,
          publicExponent: new Uint8Array([1, 0, 1]),
          hash: "SHA-256",
        },
        true,
        ["sign", "verify"],
      );
      const id = crypto.randomUUID().replaceAll("-", "");
      const email = `rivet-${id.slice(0, 8)}@rivet-test.iam.gserviceaccount.com`;
      if (options.trusted ?? true) keys.set(email, pair.publicKey);
      const pkcs8 = Buffer.from(await crypto.subtle.exportKey("pkcs8", pair.privateKey));
      const lines = pkcs8.toString("base64").match(/.{1,64}/g)!.join("\n");
      return {
        type: "service_account",
        project_id: "rivet-test",
        private_key_id: id,
        private_key: `-----BEGIN PRIVATE KEY-----\n${lines}\n-----END PRIVATE KEY-----\n`,
        client_email: email,
        client_id: "100000000000000000001",
        // As in real key files; google-auth-library ignores it (see the module doc).
        token_uri: "https://oauth2.googleapis.com/token",
      };
    },
    newUserCredentials(options = {}) {
      const id = crypto.randomUUID().slice(0, 8);
      const email = `user-${id}@example.com`;
      const file: UserCredentials = {
        type: "authorized_user",
        client_id: `${id}.apps.googleusercontent.com`,
        client_secret: `secret-${crypto.randomUUID()}`,
        refresh_token: `1//refresh-${crypto.randomUUID()}`,
      };
      if (options.trusted ?? true) {
        users.set(file.refresh_token, {
          clientId: file.client_id,
          clientSecret: file.client_secret,
          email,
        });
      }
      return { file, email };
    },
    revokeTokens() {
      tokens.clear();
    },
    createBucket(name) {
      buckets.set(name, new Map());
      history.set(name, []);
    },
    deleteBucket(name) {
      buckets.delete(name);
    },
    putObject(bucket, name, data) {
      buckets.get(bucket)!.set(name, {
        name,
        data,
        generation: String(++generation),
        uploadedBy: "test",
        requests: 0,
        contentType: "application/octet-stream",
        md5Hash: createHash("md5").update(data).digest("base64"),
        crc32c: crc32c(data),
        updated: new Date().toISOString(),
      });
    },
    objects(bucket) {
      return [...(buckets.get(bucket)?.values() ?? [])]
        .sort(byName)
        .map(({ name, data, generation, uploadedBy, requests }) => ({
          name,
          data,
          generation,
          uploadedBy,
          requests,
        }));
    },
    created(bucket) {
      return [...(history.get(bucket) ?? [])];
    },
    openSessions() {
      return [...sessions.values()].map(({ bucket, name, received }) => ({
        bucket,
        name,
        received,
      }));
    },
    failUploadsAfter(bytes) {
      cutAfter = bytes;
    },
    loseAnswers(on) {
      loseAnswers = on;
    },
    corruptUploads(on) {
      corrupt = on;
    },
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** GCS lists names in byte order. */
function byName(a: { name: string }, b: { name: string }): number {
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}

function resource(bucket: string, o: Entry): Record<string, unknown> {
  return {
    kind: "storage#object",
    id: `${bucket}/${o.name}/${o.generation}`,
    name: o.name,
    bucket,
    generation: o.generation,
    metageneration: "1",
    contentType: o.contentType,
    size: String(o.data.length),
    md5Hash: o.md5Hash,
    crc32c: o.crc32c,
    ...(o.custom === undefined ? {} : { metadata: o.custom }),
    etag: o.md5Hash,
    timeCreated: o.updated,
    updated: o.updated,
  };
}

function preconditionHolds(
  objects: Map<string, Entry>,
  name: string,
  ifGenerationMatch: string | null,
): boolean {
  if (ifGenerationMatch === null) return true;
  const current = objects.get(name);
  return ifGenerationMatch === "0"
    ? current === undefined
    : current?.generation === ifGenerationMatch;
}

function preconditionFailed(res: ServerResponse): undefined {
  sendError(
    res,
    412,
    "At least one of the pre-conditions you specified did not hold.",
    "conditionNotMet",
  );
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    "content-type": "application/json; charset=UTF-8",
    "content-length": String(Buffer.byteLength(text)),
  }).end(text);
}

function sendError(
  res: ServerResponse,
  status: number,
  message: string,
  reason: string,
): undefined {
  sendJson(res, status, {
    error: { code: status, message, errors: [{ domain: "global", reason, message }] },
  });
}

async function drain(req: IncomingMessage): Promise<void> {
  for await (const _ of req as AsyncIterable<Uint8Array>) {
    // Discarded: the request is answered without its body.
  }
}

/** `bytes a-b/total`, `bytes a-b/*`, `bytes *\/total` or `bytes *\/*`. */
function parseContentRange(
  header: string | undefined,
): { first?: number; last?: number; total?: number } | undefined {
  const m = header?.match(/^bytes (?:(\d+)-(\d+)|\*)\/(\d+|\*)$/);
  if (!m) return undefined;
  return {
    ...(m[1] === undefined ? {} : { first: Number(m[1]), last: Number(m[2]) }),
    ...(m[3] === "*" ? {} : { total: Number(m[3]) }),
  };
}

/** The bodies of a `multipart/related` request, in order. */
function multipartParts(body: Uint8Array, boundary: string): Uint8Array[] {
  const buffer = Buffer.from(body);
  const delimiter = Buffer.from(`--${boundary}`);
  const parts: Uint8Array[] = [];
  let at = buffer.indexOf(delimiter);
  while (at !== -1) {
    const start = at + delimiter.length;
    if (buffer.subarray(start, start + 2).toString() === "--") break;
    const next = buffer.indexOf(delimiter, start);
    if (next === -1) break;
    const part = buffer.subarray(start, next - 2); // without the CRLF before the delimiter
    const headersEnd = part.indexOf("\r\n\r\n");
    parts.push(part.subarray(headersEnd + 4));
    at = next;
  }
  return parts;
}

function base64url(text: string): Uint8Array<ArrayBuffer> {
  return new Uint8Array(Buffer.from(text, "base64url"));
}

const CRC32C_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

/** CRC32C (Castagnoli), base64 of the big-endian value, as GCS reports it. */
export function crc32c(data: Uint8Array): string {
  let c = 0xffffffff;
  for (let i = 0; i < data.length; i++) c = CRC32C_TABLE[(c ^ data[i]) & 0xff] ^ (c >>> 8);
  const out = Buffer.alloc(4);
  out.writeUInt32BE((c ^ 0xffffffff) >>> 0);
  return out.toString("base64");
}
