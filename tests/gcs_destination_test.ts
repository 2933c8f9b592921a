/**
 * The GCS destination against an in-process stand-in for Google Cloud Storage (see
 * tests/support/gcs_server.ts): objects appear complete or not at all, names are never reused, a
 * failed upload leaves no object and no open session, memory stays flat however large the file,
 * credentials follow the documented precedence (through the real CLI, one process per case, so
 * that no credential cached by the SDK carries over), and the CLI exports to GCS end to end.
 * Google's OAuth token URLs lead to the stand-in (tests/support/google_token_redirect.ts): in
 * this process, and through `--preload` in every CLI process.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { setTimeout as delay } from "node:timers/promises";
import { DatabaseSync } from "node:sqlite";
import { Storage } from "@google-cloud/storage";
import type { GcsDestinationConfig } from "../src/config/types.ts";
import type { Staged } from "../src/destination/destination.ts";
import { GcsDestination } from "../src/destination/gcs.ts";
import { DestinationError } from "../src/errors.ts";
import { type CliResult, parseSummaries, rivet } from "./support/cli.ts";
import { postgresDb, type TestDb, withDb } from "./support/engines.ts";
import { type GcsServer, type ServiceAccountKey, startGcsServer } from "./support/gcs_server.ts";
import { redirectGoogleTokenRequests } from "./support/google_token_redirect.ts";
import { withTempDir, writeFile } from "./support/files.ts";
import { captureLog } from "./support/log.ts";
import { readCsv } from "./support/read_csv.ts";
import { readParquet } from "./support/read_parquet.ts";

const MIB = 1024 * 1024;
const ROOT = new URL("../", import.meta.url).pathname;
const POSTGRES = { create: postgresDb };
const TOKEN_REDIRECT = `${ROOT}tests/support/google_token_redirect.ts`;

// One stand-in for the whole file; every test uses buckets of its own.
let starting: Promise<GcsServer> | undefined;
let running: GcsServer | undefined;
globalThis.addEventListener("unload", () => running?.close());

function server(): Promise<GcsServer> {
  starting ??= startGcsServer().then((s) => {
    redirectGoogleTokenRequests(s.tokenUrl);
    return (running = s);
  });
  return starting;
}

/** The SDK keeps timers and sockets between requests, and the server outlives each test. */
function gcsTest(name: string, fn: (gcs: GcsServer) => Promise<void>): void {
  Deno.test({
    name: `gcs: ${name}`,
    sanitizeOps: false,
    sanitizeResources: false,
    fn: async () => await fn(await server()),
  });
}

/** What a test gets: a new bucket and a key file the server accepts. */
interface Fixture {
  gcs: GcsServer;
  bucket: string;
  key: ServiceAccountKey;
  keyFile: string;
  dir: string;
}

async function withBucket(gcs: GcsServer, body: (f: Fixture) => Promise<void>): Promise<void> {
  const bucket = `rivet-${crypto.randomUUID().slice(0, 8)}`;
  gcs.createBucket(bucket);
  try {
    await withTempDir(async (dir) => {
      const key = await gcs.newServiceAccount();
      const keyFile = await writeJson(dir, "sa.json", key);
      await body({ gcs, bucket, key, keyFile, dir });
    });
  } finally {
    gcs.deleteBucket(bucket);
  }
}

function destination(f: Fixture, config: Partial<GcsDestinationConfig> = {}): GcsDestination {
  return new GcsDestination({
    type: "gcs",
    bucket: f.bucket,
    prefix: "",
    endpoint: f.gcs.endpoint,
    credentialsFile: f.keyFile,
    ...config,
  });
}

async function writeJson(dir: string, name: string, value: unknown): Promise<string> {
  const path = join(dir, name);
  await Deno.writeTextFile(path, JSON.stringify(value));
  return path;
}

async function stageBytes(dest: GcsDestination, bytes: Uint8Array | string): Promise<Staged> {
  const staged = await dest.stage();
  if (typeof bytes === "string") await Deno.writeTextFile(staged.path, bytes);
  else await Deno.writeFile(staged.path, bytes);
  return staged;
}

function randomBytes(n: number): Uint8Array {
  const bytes = new Uint8Array(n);
  for (let i = 0; i < n; i += 65536) crypto.getRandomValues(bytes.subarray(i, i + 65536));
  return bytes;
}

async function sha256(bytes: Uint8Array): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new Uint8Array(bytes));
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/** Downloads through the SDK, which checks the bytes against the CRC32C the server reports. */
async function download(f: Fixture, name: string): Promise<Uint8Array> {
  const storage = new Storage({
    apiEndpoint: f.gcs.endpoint,
    credentials: f.key,
    useAuthWithCustomEndpoint: true,
  });
  const [bytes] = await storage.bucket(f.bucket).file(name).download();
  return new Uint8Array(bytes);
}

function names(f: Fixture): string[] {
  return f.gcs.objects(f.bucket).map((o) => o.name);
}

/** Runs `body` with environment variables set (undefined: removed), restoring them after. */
async function withEnv(
  vars: Record<string, string | undefined>,
  body: () => Promise<void>,
): Promise<void> {
  const saved = Object.fromEntries(Object.keys(vars).map((k) => [k, Deno.env.get(k)]));
  const apply = (values: Record<string, string | undefined>) => {
    for (const [k, v] of Object.entries(values)) {
      v === undefined ? Deno.env.delete(k) : Deno.env.set(k, v);
    }
  };
  apply(vars);
  try {
    await body();
  } finally {
    apply(saved);
  }
}

/** A loopback port nothing listens on. */
function closedPort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  return port;
}

async function rejectsWith(
  promise: Promise<unknown>,
  category: DestinationError["category"],
  message: RegExp,
): Promise<void> {
  await assert.rejects(promise, (err: unknown) => {
    assert.ok(err instanceof DestinationError, String(err));
    assert.equal(err.category, category, err.message);
    assert.match(err.message, message);
    assert.doesNotMatch(err.message, /\n/, "one line");
    return true;
  });
}

// ---------------------------------------------------------------------------------------------
// The destination itself

gcsTest(
  "commit uploads the staged bytes under the prefix; the staged file is removed",
  async (gcs) => {
    const cases = [
      { prefix: "exports/daily", name: "exports/daily/orders_1.csv" },
      { prefix: "exports/daily/", name: "exports/daily/orders_1.csv" },
      { prefix: "", name: "orders_1.csv" },
    ];
    for (const c of cases) {
      await withBucket(gcs, async (f) => {
        const dest = destination(f, { prefix: c.prefix });
        const staged = await stageBytes(dest, "id,name\n1,a\n2,b\n");
        const done = await staged.commit("orders_1.csv");
        assert.deepEqual(done, {
          fileName: "orders_1.csv",
          location: `gs://${f.bucket}/${c.name}`,
        });
        assert.equal(dest.locationOf("orders_1.csv"), done.location);
        assert.deepEqual(names(f), [c.name]);
        assert.equal(new TextDecoder().decode(await download(f, c.name)), "id,name\n1,a\n2,b\n");
        assert.equal(f.gcs.objects(f.bucket)[0].uploadedBy, f.key.client_email);
        await assert.rejects(Deno.stat(staged.path), Deno.errors.NotFound, "staged file removed");
      });
    }
  },
);

gcsTest("a file of several resumable chunks round-trips byte for byte", async (gcs) => {
  await withBucket(gcs, async (f) => {
    const bytes = randomBytes(30 * MIB);
    const { location } = await (await stageBytes(destination(f), bytes)).commit("big.parquet");
    assert.equal(location, `gs://${f.bucket}/big.parquet`);
    const [object] = gcs.objects(f.bucket);
    assert.equal(object.requests, 4, "30 MiB in chunks of 8 MiB");
    assert.equal(await sha256(await download(f, "big.parquet")), await sha256(bytes));
    assert.deepEqual(gcs.openSessions(), []);
  });
});

gcsTest("an empty file becomes an empty object", async (gcs) => {
  await withBucket(gcs, async (f) => {
    await (await stageBytes(destination(f), new Uint8Array())).commit("empty.csv");
    assert.equal(gcs.objects(f.bucket)[0].data.length, 0);
  });
});

gcsTest("a taken name is never overwritten: the new file gets _2, then _3", async (gcs) => {
  await withBucket(gcs, async (f) => {
    gcs.putObject(f.bucket, "p/t.csv", new TextEncoder().encode("theirs"));
    const dest = destination(f, { prefix: "p" });
    const second = await (await stageBytes(dest, "mine 2")).commit("t.csv");
    assert.deepEqual(second, { fileName: "t_2.csv", location: `gs://${f.bucket}/p/t_2.csv` });
    const third = await (await stageBytes(dest, randomBytes(9 * MIB))).commit("t.csv");
    assert.equal(third.fileName, "t_3.csv");
    assert.deepEqual(names(f), ["p/t.csv", "p/t_2.csv", "p/t_3.csv"]);
    assert.equal(new TextDecoder().decode(gcs.objects(f.bucket)[0].data), "theirs");
    assert.deepEqual(gcs.openSessions(), []);
  });
});

gcsTest("a writer taking the name during the upload keeps it; ours gets _2", async (gcs) => {
  await withBucket(gcs, async (f) => {
    const bytes = randomBytes(20 * MIB);
    const committing = (await stageBytes(destination(f), bytes)).commit("race.parquet");
    while (!gcs.openSessions().some((s) => s.name === "race.parquet" && s.received > 0)) {
      await delay(5);
    }
    gcs.putObject(f.bucket, "race.parquet", new TextEncoder().encode("theirs"));
    assert.equal((await committing).fileName, "race_2.parquet");
    const [theirs, ours] = gcs.objects(f.bucket);
    assert.equal(new TextDecoder().decode(theirs.data), "theirs");
    assert.equal(await sha256(ours.data), await sha256(bytes));
    assert.deepEqual(gcs.openSessions(), []);
  });
});

gcsTest("an upload failing half way leaves no object and no open session", async (gcs) => {
  await withBucket(gcs, async (f) => {
    const staged = await stageBytes(destination(f, { prefix: "x" }), randomBytes(20 * MIB));
    gcs.failUploadsAfter(12 * MIB);
    try {
      await rejectsWith(
        staged.commit("half.parquet"),
        "connectivity",
        new RegExp(
          `cannot upload half\\.parquet to gs://${f.bucket}/x/half\\.parquet: .*ECONNRESET`,
        ),
      );
    } finally {
      gcs.failUploadsAfter(undefined);
    }
    assert.deepEqual(names(f), []);
    assert.deepEqual(gcs.created(f.bucket), []);
    assert.deepEqual(gcs.openSessions(), [], "the session was cancelled");
    await assert.rejects(Deno.stat(staged.path), Deno.errors.NotFound, "staged file removed");
  });
});

gcsTest("bytes damaged on the way never become an object", async (gcs) => {
  await withBucket(gcs, async (f) => {
    const staged = await stageBytes(destination(f), randomBytes(MIB));
    gcs.corruptUploads(true);
    try {
      await rejectsWith(
        staged.commit("damaged.parquet"),
        "other",
        /cannot upload damaged\.parquet to gs:\/\/\S+: Provided MD5 hash does not match the data \(HTTP 400\)/,
      );
    } finally {
      gcs.corruptUploads(false);
    }
    assert.deepEqual(gcs.created(f.bucket), []);
    assert.deepEqual(gcs.openSessions(), []);
  });
});

gcsTest("a connection dropped mid-upload resumes where the server stopped", async (gcs) => {
  await withBucket(gcs, async (f) => {
    const bytes = randomBytes(20 * MIB);
    const staged = await stageBytes(destination(f), bytes);
    gcs.failUploadsAfter(12 * MIB);
    const committing = staged.commit("resumed.parquet");
    try {
      // The SDK waits a second or more before it retries: the network is back by then.
      while (!gcs.openSessions().some((s) => s.received === 12 * MIB)) await delay(5);
    } finally {
      gcs.failUploadsAfter(undefined);
    }
    await committing;
    assert.equal(await sha256(await download(f, "resumed.parquet")), await sha256(bytes));
    // 8 MiB; a chunk dropped after 4 MiB; the last 8 MiB, from where the server stopped.
    assert.equal(gcs.objects(f.bucket)[0].requests, 3);
  });
});

gcsTest("an upload whose last answer is lost still commits, once", async (gcs) => {
  await withBucket(gcs, async (f) => {
    const dest = destination(f);
    // Chunked (the SDK's retry then fails on the finished session) and single-request.
    const big = await stageBytes(dest, randomBytes(20 * MIB));
    const empty = await stageBytes(dest, new Uint8Array());
    gcs.loseAnswers(true);
    try {
      assert.equal((await big.commit("big.parquet")).fileName, "big.parquet");
      assert.equal((await empty.commit("empty.csv")).fileName, "empty.csv");
    } finally {
      gcs.loseAnswers(false);
    }
    assert.deepEqual(gcs.created(f.bucket), ["big.parquet", "empty.csv"]);
    assert.deepEqual(gcs.openSessions(), []);
  });
});

gcsTest("abort discards the staged file and uploads nothing", async (gcs) => {
  await withBucket(gcs, async (f) => {
    const staged = await stageBytes(destination(f), "x");
    await staged.abort();
    await assert.rejects(Deno.stat(staged.path), Deno.errors.NotFound);
    assert.deepEqual(gcs.created(f.bucket), []);
  });
});

gcsTest("retract deletes the object; a location in another bucket is refused", async (gcs) => {
  await withBucket(gcs, async (f) => {
    const dest = destination(f, { prefix: "r/" });
    const { location } = await (await stageBytes(dest, "x")).commit("gone.csv");
    await dest.retract(location);
    assert.deepEqual(names(f), []);
    await dest.retract(location); // already gone: nothing to do
    await assert.rejects(dest.retract("gs://other-bucket/r/gone.csv"), /not in gs:\/\//);
  });
});

gcsTest("probe writes a probe object under the prefix and leaves nothing", async (gcs) => {
  await withBucket(gcs, async (f) => {
    await destination(f, { prefix: "exports" }).probe();
    const created = gcs.created(f.bucket);
    assert.equal(created.length, 1);
    assert.match(created[0], /^exports\/\.rivet_doctor_probe_[0-9a-f-]{36}$/);
    assert.deepEqual(names(f), []);
    assert.deepEqual(gcs.openSessions(), []);
  });
});

gcsTest("probe failures name the bucket or file and say who must act", async (gcs) => {
  await withBucket(gcs, async (f) => {
    const missing = join(f.dir, "no-such-key.json");
    await rejectsWith(
      destination(f, { credentialsFile: missing }).probe(),
      "auth",
      new RegExp(`credentials_file ${missing}: .*No such file`),
    );
    const unknownKey = await writeJson(
      f.dir,
      "unknown.json",
      await gcs.newServiceAccount({ trusted: false }),
    );
    await rejectsWith(
      destination(f, { credentialsFile: unknownKey }).probe(),
      "auth",
      new RegExp(`cannot obtain credentials from credentials_file ${unknownKey}: invalid_grant`),
    );
    const revoked = destination(f);
    await revoked.probe();
    gcs.revokeTokens();
    await rejectsWith(
      revoked.probe(),
      "auth",
      new RegExp(`cannot write gs://${f.bucket}/\\.rivet_doctor_probe_.*Invalid Credentials`),
    );
    await rejectsWith(
      destination(f, { bucket: "no-such-bucket" }).probe(),
      "not_found",
      /cannot write gs:\/\/no-such-bucket\/\.rivet_doctor_probe_.*bucket does not exist/,
    );
    await rejectsWith(
      destination(f, { endpoint: `http://127.0.0.1:${closedPort()}` }).probe(),
      "connectivity",
      new RegExp(`cannot write gs://${f.bucket}/\\.rivet_doctor_probe_.*ECONNREFUSED`),
    );
  });
});

gcsTest("a user refresh token the token endpoint refuses is an auth error", async (gcs) => {
  await withBucket(gcs, async (f) => {
    const gcloud = join(f.dir, "gcloud");
    await Deno.mkdir(gcloud);
    const adc = await writeJson(
      gcloud,
      "application_default_credentials.json",
      gcs.newUserCredentials({ trusted: false }).file,
    );
    const env = { CLOUDSDK_CONFIG: gcloud, GOOGLE_APPLICATION_CREDENTIALS: undefined };
    const lines = await captureLog("info", async () => {
      await withEnv(env, async () => {
        await rejectsWith(
          destination(f, { credentialsFile: undefined }).probe(),
          "auth",
          new RegExp(
            `cannot obtain credentials from application default credentials \\(${adc}\\): invalid_grant`,
          ),
        );
      });
    });
    assert.match(lines.join(""), /GCS credentials for gs:\/\/\S+: application default credentials/);
    assert.deepEqual(gcs.created(f.bucket), []);
  });
});

gcsTest("memory stays flat: peak RSS does not grow with the file", async (gcs) => {
  await withBucket(gcs, async (f) => {
    const config = JSON.stringify({
      type: "gcs",
      bucket: f.bucket,
      prefix: "",
      endpoint: gcs.endpoint,
      credentialsFile: f.keyFile,
    });
    /** Uploads `mib` MiB in a process of its own; returns that process's peak RSS in MiB. */
    const peak = async (mib: number) => {
      const script = `
        import { GcsDestination } from "${ROOT}src/destination/gcs.ts";
        import { redirectGoogleTokenRequests } from "${TOKEN_REDIRECT}";
        redirectGoogleTokenRequests("${gcs.tokenUrl}");
        const staged = await new GcsDestination(${config}).stage();
        using file = await Deno.open(staged.path, { write: true, create: true });
        const block = new Uint8Array(${MIB}).fill(7);
        for (let i = 0; i < ${mib}; i++) await file.write(block);
        await staged.commit("rss_${mib}.bin");
        const status = await Deno.readTextFile("/proc/self/status");
        console.log(status.match(/VmHWM:\\s+(\\d+) kB/)[1]);`;
      const out = await new Deno.Command(Deno.execPath(), {
        args: ["eval", "--ext=ts", script],
        cwd: ROOT,
        env: { RIVET_LOG: "warn" },
        stdout: "piped",
        stderr: "piped",
      }).output();
      assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
      const object = gcs.objects(f.bucket).find((o) => o.name === `rss_${mib}.bin`);
      assert.equal(object?.data.length, mib * MIB);
      return Number(new TextDecoder().decode(out.stdout).trim()) / 1024;
    };
    const small = await peak(64);
    const large = await peak(256);
    console.log(
      `peak RSS: ${small.toFixed(0)} MiB (64 MiB file), ${large.toFixed(0)} MiB (256 MiB)`,
    );
    assert.ok(large - small < 48, "192 MiB more file must not mean much more memory");
  });
});

// ---------------------------------------------------------------------------------------------
// Credential precedence, through the CLI

interface ExportOptions {
  credentialsFile?: string;
  prefix?: string;
}

function gcsYaml(
  gcs: GcsServer,
  bucket: string,
  url: string,
  exports: { name: string; query: string; format?: string; cursor?: string }[],
  options: ExportOptions = {},
): string {
  const lines = ["source:", "  type: postgres", `  url: "${url}"`, "exports:"];
  for (const e of exports) {
    lines.push(`  - name: ${e.name}`, `    query: ${JSON.stringify(e.query)}`);
    lines.push(`    format: ${e.format ?? "csv"}`);
    if (e.cursor) lines.push("    mode: incremental", `    cursor_column: ${e.cursor}`);
    lines.push("    destination:", "      type: gcs", `      bucket: ${bucket}`);
    lines.push(`      endpoint: ${gcs.endpoint}`);
    if (options.prefix !== undefined) lines.push(`      prefix: ${options.prefix}`);
    if (options.credentialsFile) lines.push(`      credentials_file: ${options.credentialsFile}`);
  }
  return lines.join("\n") + "\n";
}

/**
 * The environment of a CLI run that sees only the credentials a case gives it: no ambient
 * `GOOGLE_APPLICATION_CREDENTIALS`, a gcloud folder of the test's own, and the stand-in as
 * metadata server.
 */
function isolatedEnv(gcs: GcsServer, gcloud: string, extra: Record<string, string> = {}) {
  return {
    GOOGLE_APPLICATION_CREDENTIALS: "",
    CLOUDSDK_CONFIG: gcloud,
    GCE_METADATA_HOST: gcs.metadataHost,
    RIVET_TEST_TOKEN_URL: gcs.tokenUrl,
    ...extra,
  };
}

/** The CLI, with Google's token endpoints redirected to the stand-in. */
function rivetGcs(args: string[], env: Record<string, string>): Promise<CliResult> {
  return rivet(args, env, ["--preload", TOKEN_REDIRECT]);
}

/** Exports one row through the CLI; returns the run and the object's uploader. */
async function exportOneRow(
  f: Fixture,
  options: ExportOptions,
  env: Record<string, string>,
): Promise<CliResult> {
  const config = await writeFile(
    f.dir,
    "rivet.yaml",
    gcsYaml(f.gcs, f.bucket, "postgresql://postgres@127.0.0.1:5432/test", [
      { name: "one", query: "SELECT 1 AS x" },
    ], options),
  );
  return await rivetGcs(["run", "-c", config], env);
}

function assertNoSecrets(r: CliResult, secrets: string[]): void {
  const text = r.stdout + r.stderr;
  assert.doesNotMatch(text, /PRIVATE KEY/);
  for (const secret of secrets) assert.ok(!text.includes(secret), "a secret was printed");
}

/** The gcloud config folder of a test, optionally with an ADC file. */
async function gcloudDir(f: Fixture, adc?: unknown): Promise<string> {
  const gcloud = join(f.dir, "gcloud");
  await Deno.mkdir(gcloud, { recursive: true });
  if (adc !== undefined) await writeJson(gcloud, "application_default_credentials.json", adc);
  return gcloud;
}

gcsTest(
  "credentials: credentials_file in the config wins over GOOGLE_APPLICATION_CREDENTIALS",
  async (gcs) => {
    await withBucket(gcs, async (f) => {
      const other = await writeJson(f.dir, "other.json", await gcs.newServiceAccount());
      const r = await exportOneRow(
        f,
        { credentialsFile: "./sa.json" },
        isolatedEnv(gcs, await gcloudDir(f), { GOOGLE_APPLICATION_CREDENTIALS: other }),
      );
      assert.equal(r.code, 0, r.stdout + r.stderr);
      assert.match(
        r.stderr,
        new RegExp(`INFO  GCS credentials for gs://${f.bucket}: credentials_file ${f.keyFile}\n`),
      );
      assert.deepEqual(gcs.objects(f.bucket).map((o) => o.uploadedBy), [f.key.client_email]);
      assertNoSecrets(r, [f.key.private_key_id]);
    });
  },
);

gcsTest("credentials: GOOGLE_APPLICATION_CREDENTIALS wins over the ADC file", async (gcs) => {
  await withBucket(gcs, async (f) => {
    const adc = gcs.newUserCredentials();
    const r = await exportOneRow(
      f,
      {},
      isolatedEnv(gcs, await gcloudDir(f, adc.file), { GOOGLE_APPLICATION_CREDENTIALS: f.keyFile }),
    );
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(
      r.stderr,
      new RegExp(
        `GCS credentials for gs://${f.bucket}: GOOGLE_APPLICATION_CREDENTIALS ${f.keyFile}\n`,
      ),
    );
    assert.deepEqual(gcs.objects(f.bucket).map((o) => o.uploadedBy), [f.key.client_email]);
    assertNoSecrets(r, [f.key.private_key_id]);
  });
});

gcsTest("credentials: the user's ADC file wins over the metadata server", async (gcs) => {
  await withBucket(gcs, async (f) => {
    const adc = gcs.newUserCredentials();
    const gcloud = await gcloudDir(f, adc.file);
    const r = await exportOneRow(f, {}, isolatedEnv(gcs, gcloud));
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(
      r.stderr,
      new RegExp(
        `GCS credentials for gs://${f.bucket}: application default credentials \\(${gcloud}/application_default_credentials\\.json\\)\n`,
      ),
    );
    assert.deepEqual(gcs.objects(f.bucket).map((o) => o.uploadedBy), [adc.email]);
    assertNoSecrets(r, [adc.file.client_secret, adc.file.refresh_token]);
  });
});

gcsTest(
  "credentials: a refused ADC refresh token fails the export, naming the source",
  async (gcs) => {
    await withBucket(gcs, async (f) => {
      const adc = gcs.newUserCredentials({ trusted: false });
      const r = await exportOneRow(f, {}, isolatedEnv(gcs, await gcloudDir(f, adc.file)));
      assert.equal(r.code, 2, r.stdout + r.stderr);
      assert.match(r.stderr, /GCS credentials for gs:\/\/\S+: application default credentials/);
      assert.match(
        r.stderr,
        /ERROR .*cannot obtain credentials from application default credentials/,
      );
      assert.deepEqual(gcs.created(f.bucket), []);
      assertNoSecrets(r, [adc.file.client_secret, adc.file.refresh_token]);
    });
  },
);

gcsTest("credentials: with nothing else, the metadata server's account is used", async (gcs) => {
  await withBucket(gcs, async (f) => {
    const gcloud = await gcloudDir(f);
    const r = await exportOneRow(f, {}, isolatedEnv(gcs, gcloud));
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stderr, new RegExp(`GCS credentials for gs://${f.bucket}: metadata server\n`));
    assert.deepEqual(gcs.objects(f.bucket).map((o) => o.uploadedBy), ["metadata server"]);

    const none = await exportOneRow(
      f,
      {},
      isolatedEnv(gcs, gcloud, { GCE_METADATA_HOST: `127.0.0.1:${closedPort()}` }),
    );
    assert.equal(none.code, 2, none.stdout + none.stderr);
    assert.match(
      none.stderr,
      /ERROR .*no credentials found \(no credentials_file, GOOGLE_APPLICATION_CREDENTIALS or ADC file at .*\) and none from the metadata server/,
    );
    assert.equal(gcs.objects(f.bucket).length, 1);
  });
});

// ---------------------------------------------------------------------------------------------
// End to end on PostgreSQL

/** The locations the state store's file manifest records, sorted. */
function manifestLocations(stateDb: string): string[] {
  const db = new DatabaseSync(stateDb, { readOnly: true });
  try {
    return db.prepare("SELECT location FROM file_manifest").all().map((r) => String(r.location))
      .sort();
  } finally {
    db.close();
  }
}

async function createItems(db: TestDb, first: number, last: number): Promise<void> {
  await db.exec(
    `CREATE TABLE IF NOT EXISTS ${db.ns}.items (id bigint primary key, name text, note text)`,
  );
  await db.exec(
    `INSERT INTO ${db.ns}.items
     SELECT i, 'item ' || i || ', "q"', repeat(md5(i::text), 3)
     FROM generate_series(${first}, ${last}) AS i`,
  );
}

/** Downloads an object to `dir/name` for the file readers. */
async function downloadTo(f: Fixture, object: string, path: string): Promise<string> {
  await Deno.writeFile(path, await download(f, object));
  return path;
}

gcsTest(
  "e2e: full exports to Parquet and CSV under a prefix, recorded as gs:// URIs",
  async (gcs) => {
    await withDb(POSTGRES, async (db) => {
      await createItems(db, 1, 25);
      await withBucket(gcs, async (f) => {
        const query = `SELECT id, name FROM ${db.ns}.items ORDER BY id`;
        const config = await writeFile(
          f.dir,
          "rivet.yaml",
          gcsYaml(gcs, f.bucket, db.url, [
            { name: "items_pq", query, format: "parquet" },
            { name: "items_csv", query },
          ], { prefix: "exports/items", credentialsFile: "./sa.json" }),
        );
        const env = isolatedEnv(gcs, await gcloudDir(f));
        const r = await rivetGcs(["run", "-c", config, "--validate"], env);
        assert.equal(r.code, 0, r.stdout + r.stderr);
        const summaries = parseSummaries(r.stdout);
        assert.equal(summaries.items_pq.rows, "25");
        assert.equal(summaries.items_csv.rows, "25");
        const objects = names(f);
        assert.equal(objects.length, 2, objects.join(" "));
        for (const name of objects) assert.match(name, /^exports\/items\/items_(pq|csv)_\d{8}_/);

        const pqName = objects.find((k) => k.endsWith(".parquet"))!;
        const pq = await readParquet(await downloadTo(f, pqName, join(f.dir, "items.parquet")));
        assert.equal(pq.rows.length, 25);
        assert.equal(String(pq.rows[0].id), "1");
        assert.equal(pq.rows[24].name, 'item 25, "q"');
        const csvName = objects.find((k) => k.endsWith(".csv"))!;
        const csv = await readCsv(await downloadTo(f, csvName, join(f.dir, "items.csv")));
        assert.deepEqual(csv[0], ["id", "name"]);
        assert.deepEqual(csv[25], ["25", 'item 25, "q"']);

        const listed = await rivetGcs(["state", "files", "-c", config], env);
        assert.equal(listed.code, 0, listed.stderr);
        for (const name of objects) assert.ok(listed.stdout.includes(name.split("/").at(-1)!));
        assert.deepEqual(
          manifestLocations(join(f.dir, ".rivet_state.db")),
          objects.map((k) => `gs://${f.bucket}/${k}`),
        );
      });
    });
  },
);

gcsTest(
  "e2e: incremental runs upload exactly the new rows; a failed upload moves nothing",
  async (gcs) => {
    await withDb(POSTGRES, async (db) => {
      await createItems(db, 1, 10);
      await withBucket(gcs, async (f) => {
        const config = await writeFile(
          f.dir,
          "rivet.yaml",
          gcsYaml(gcs, f.bucket, db.url, [{
            name: "inc",
            query: `SELECT id, name, note FROM ${db.ns}.items`,
            format: "parquet",
            cursor: "id",
          }], { prefix: "inc/", credentialsFile: "./sa.json" }),
        );
        const env = isolatedEnv(gcs, await gcloudDir(f));
        const cursor = async () => (await rivetGcs(["state", "show", "-c", config], env)).stdout;

        const first = await rivetGcs(["run", "-c", config], env);
        assert.equal(first.code, 0, first.stdout + first.stderr);
        assert.equal(parseSummaries(first.stdout).inc.rows, "10");
        assert.match(await cursor(), /inc\s+10\s/);

        await createItems(db, 11, 400);
        gcs.failUploadsAfter(2000);
        let failed: CliResult;
        try {
          failed = await rivetGcs(["run", "-c", config], env);
        } finally {
          gcs.failUploadsAfter(undefined);
        }
        assert.equal(failed.code, 2, failed.stdout + failed.stderr);
        assert.equal(parseSummaries(failed.stdout).inc.status, "failed");
        assert.match(
          failed.stdout + failed.stderr,
          /cannot upload inc_\d{8}_\S+\.parquet to gs:\/\//,
        );
        assert.equal(names(f).length, 1, "no object from the failed run");
        assert.deepEqual(gcs.openSessions(), []);
        assert.match(await cursor(), /inc\s+10\s/, "cursor unchanged");

        const retry = await rivetGcs(["run", "-c", config], env);
        assert.equal(retry.code, 0, retry.stdout + retry.stderr);
        assert.equal(parseSummaries(retry.stdout).inc.rows, "390");
        const newest = names(f).sort().at(-1)!;
        const rows = (await readParquet(await downloadTo(f, newest, join(f.dir, "new.parquet"))))
          .rows;
        assert.deepEqual(
          rows.map((r) => Number(r.id)),
          Array.from({ length: 390 }, (_, i) => i + 11),
        );
        assert.match(await cursor(), /inc\s+400\s/);
        assert.equal(manifestLocations(join(f.dir, ".rivet_state.db")).length, 2);
      });
    });
  },
);
