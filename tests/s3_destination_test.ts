/**
 * The S3 destination against a real S3 server (Ceph radosgw, started once for this file): objects
 * appear complete or not at all, names are never reused, a failed upload leaves no object and no
 * incomplete multipart upload, credentials follow the documented precedence, and the CLI exports
 * to S3 end to end (read back by downloading the objects).
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import {
  GetObjectCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  type S3Client,
} from "@aws-sdk/client-s3";
import type { S3DestinationConfig } from "../src/config/types.ts";
import { removeStagingDir } from "../src/destination/staging.ts";
import { S3Destination } from "../src/destination/s3.ts";
import { DestinationError } from "../src/errors.ts";
import { parseSummaries, rivet } from "./support/cli.ts";
import { postgresDb, type TestDb, withDb } from "./support/engines.ts";
import { withTempDir, writeFile } from "./support/files.ts";
import { readCsv } from "./support/read_csv.ts";
import { readParquet } from "./support/read_parquet.ts";
import { listKeys, server, withBucket } from "./support/s3_fixture.ts";
import type { S3Server } from "./support/s3_server.ts";
import { startTcpProxy } from "./support/tcp_proxy.ts";

const MIB = 1024 * 1024;
const POSTGRES = { create: postgresDb };

/** The SDK keeps connections open between requests, and the server outlives each test. */
function s3Test(name: string, fn: (s3: S3Server) => Promise<void>): void {
  Deno.test({
    name: `s3: ${name}`,
    sanitizeOps: false,
    sanitizeResources: false,
    fn: async () => await fn(await server()),
  });
}

async function incompleteUploads(admin: S3Client, bucket: string): Promise<string[]> {
  const listing = await admin.send(new ListMultipartUploadsCommand({ Bucket: bucket }));
  return (listing.Uploads ?? []).map((u) => `${u.Key} ${u.UploadId}`);
}

async function download(admin: S3Client, bucket: string, key: string): Promise<Uint8Array> {
  const object = await admin.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  return await object.Body!.transformToByteArray();
}

async function downloadTo(admin: S3Client, bucket: string, key: string, path: string) {
  await Deno.writeFile(path, await download(admin, bucket, key));
}

async function sha256(bytes: Uint8Array): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", bytes as Uint8Array<ArrayBuffer>);
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

function randomBytes(size: number): Uint8Array {
  const bytes = new Uint8Array(size);
  for (let i = 0; i < size; i += 65536) crypto.getRandomValues(bytes.subarray(i, i + 65536));
  return bytes;
}

function destination(
  s3: S3Server,
  bucket: string,
  overrides: Partial<S3DestinationConfig> = {},
): S3Destination {
  return new S3Destination({
    type: "s3",
    bucket,
    prefix: "",
    endpoint: s3.endpoint,
    region: "us-east-1",
    keys: {
      accessKeyEnv: "TEST_KEY",
      secretKeyEnv: "TEST_SECRET",
      accessKeyId: s3.accessKey,
      secretAccessKey: s3.secretKey,
    },
    ...overrides,
  });
}

async function stageBytes(dest: S3Destination, bytes: Uint8Array | string) {
  const staged = await dest.stage();
  if (typeof bytes === "string") await Deno.writeTextFile(staged.path, bytes);
  else await Deno.writeFile(staged.path, bytes);
  return staged;
}

async function rejection(promise: Promise<unknown>): Promise<DestinationError> {
  try {
    await promise;
  } catch (err) {
    assert.ok(err instanceof DestinationError, `a DestinationError, got ${err}`);
    assert.doesNotMatch(err.message, /\n/, "one line");
    return err;
  }
  assert.fail("expected a rejection");
}

s3Test("commit uploads the staged file; the object holds exactly its bytes", async (s3) => {
  await withBucket(s3, async (bucket, admin) => {
    const dest = destination(s3, bucket, { prefix: "exports/orders" });
    const staged = await stageBytes(dest, "id,name\n1,a\n2,b\n");
    assert.deepEqual(await listKeys(admin, bucket), [], "nothing visible before commit");
    const done = await staged.commit("orders_1.csv");
    assert.deepEqual(done, {
      fileName: "orders_1.csv",
      location: `s3://${bucket}/exports/orders/orders_1.csv`,
    });
    assert.equal(dest.locationOf("orders_1.csv"), done.location);
    assert.equal(
      new TextDecoder().decode(await download(admin, bucket, "exports/orders/orders_1.csv")),
      "id,name\n1,a\n2,b\n",
    );
    await assert.rejects(Deno.stat(staged.path), Deno.errors.NotFound, "staged file removed");
  });
});

s3Test("a file of several multipart parts round-trips byte for byte", async (s3) => {
  await withBucket(s3, async (bucket, admin) => {
    const bytes = randomBytes(30 * MIB);
    const dest = destination(s3, bucket);
    const staged = await stageBytes(dest, bytes);
    const { location } = await staged.commit("big.parquet");
    assert.equal(location, `s3://${bucket}/big.parquet`);
    const head = await admin.send(new HeadObjectCommand({ Bucket: bucket, Key: "big.parquet" }));
    assert.equal(head.ContentLength, bytes.length);
    assert.match(head.ETag ?? "", /-4"$/, "uploaded as 4 parts of 8 MiB");
    assert.equal(await sha256(await download(admin, bucket, "big.parquet")), await sha256(bytes));
    assert.deepEqual(await incompleteUploads(admin, bucket), []);
  });
});

s3Test("the prefix gets exactly one '/' before the file name; an empty prefix none", async (s3) => {
  await withBucket(s3, async (bucket, admin) => {
    const cases = [
      { prefix: "exports/daily", name: "a.csv", key: "exports/daily/a.csv" },
      { prefix: "exports/daily/", name: "b.csv", key: "exports/daily/b.csv" },
      { prefix: "", name: "c.csv", key: "c.csv" },
    ];
    for (const c of cases) {
      const dest = destination(s3, bucket, { prefix: c.prefix });
      assert.equal(dest.locationOf(c.name), `s3://${bucket}/${c.key}`);
      const { location } = await (await stageBytes(dest, c.name)).commit(c.name);
      assert.equal(location, `s3://${bucket}/${c.key}`);
    }
    assert.deepEqual(await listKeys(admin, bucket), cases.map((c) => c.key).sort());
  });
});

s3Test("a name already taken is never overwritten: both objects are kept", async (s3) => {
  await withBucket(s3, async (bucket, admin) => {
    const dest = destination(s3, bucket, { prefix: "p/" });
    const first = await (await stageBytes(dest, "first")).commit("t.csv");
    const second = await (await stageBytes(dest, "second")).commit("t.csv");
    assert.equal(first.fileName, "t.csv");
    assert.equal(second.fileName, "t_2.csv");
    assert.equal(second.location, `s3://${bucket}/p/t_2.csv`);
    // Two commits of one name at the same moment: the conditional write settles the race.
    const racing = await Promise.all(
      ["x", "y"].map(async (text) => await (await stageBytes(dest, text)).commit("r.csv")),
    );
    assert.deepEqual(racing.map((r) => r.fileName).sort(), ["r.csv", "r_2.csv"]);
    const contents = await Promise.all(
      ["p/r.csv", "p/r_2.csv"].map(async (k) =>
        new TextDecoder().decode(await download(admin, bucket, k))
      ),
    );
    assert.deepEqual(contents.sort(), ["x", "y"]);
    assert.equal(new TextDecoder().decode(await download(admin, bucket, "p/t.csv")), "first");
    assert.equal(new TextDecoder().decode(await download(admin, bucket, "p/t_2.csv")), "second");
  });
});

s3Test("an upload cut half way leaves no object and no incomplete multipart upload", async (s3) => {
  await withBucket(s3, async (bucket, admin) => {
    const proxy = startTcpProxy(Number(new URL(s3.endpoint).port));
    try {
      const dest = destination(s3, bucket, { endpoint: `http://127.0.0.1:${proxy.port}` });
      const staged = await stageBytes(dest, randomBytes(30 * MIB));
      // Part 1 (8 MiB) gets through; part 2 and each of its retries are cut after 256 KiB.
      proxy.cutLongTransfers(12 * MIB, 256 * 1024);
      const err = await rejection(staged.commit("cut.parquet"));
      assert.ok(proxy.forwarded() > 12 * MIB, "the upload was under way when it was cut");
      assert.equal(err.category, "connectivity", err.message);
      assert.match(err.message, new RegExp(`s3://${bucket}/cut\\.parquet`));
      assert.deepEqual(await listKeys(admin, bucket), []);
      assert.deepEqual(await incompleteUploads(admin, bucket), []);
      await assert.rejects(Deno.stat(staged.path), Deno.errors.NotFound, "staged file removed");
    } finally {
      proxy.close();
    }
  });
});

s3Test("a lost reply to a completed upload is no failure and leaves no duplicate", async (s3) => {
  await withBucket(s3, async (bucket, admin) => {
    const proxy = startTcpProxy(Number(new URL(s3.endpoint).port));
    try {
      const dest = destination(s3, bucket, { endpoint: `http://127.0.0.1:${proxy.port}` });
      const bytes = randomBytes(64 * 1024);
      const staged = await stageBytes(dest, bytes);
      // The PutObject is stored but its reply lost: the SDK's retry meets a taken key (412).
      proxy.loseNextReply(32 * 1024);
      const { fileName } = await staged.commit("lost.csv");
      assert.equal(fileName, "lost.csv", "recognised as its own object, not moved to lost_2.csv");
      assert.deepEqual(await listKeys(admin, bucket), ["lost.csv"]);
      assert.equal(await sha256(await download(admin, bucket, "lost.csv")), await sha256(bytes));
    } finally {
      proxy.close();
    }
  });
});

s3Test("abort discards the staged file and uploads nothing", async (s3) => {
  await withBucket(s3, async (bucket, admin) => {
    const staged = await stageBytes(destination(s3, bucket), "partial");
    await staged.abort();
    await assert.rejects(Deno.stat(staged.path), Deno.errors.NotFound);
    assert.deepEqual(await listKeys(admin, bucket), []);
  });
});

s3Test("retract deletes the object; a location in another bucket is refused", async (s3) => {
  await withBucket(s3, async (bucket, admin) => {
    const dest = destination(s3, bucket, { prefix: "r" });
    const { location } = await (await stageBytes(dest, "x")).commit("gone.csv");
    await dest.retract(location);
    assert.deepEqual(await listKeys(admin, bucket), []);
    const err = await rejection(dest.retract("s3://some-other-bucket/r/gone.csv"));
    assert.match(err.message, /not in s3:\/\//);
  });
});

s3Test("probe writes and removes a probe object, leaving nothing", async (s3) => {
  await withBucket(s3, async (bucket, admin) => {
    await destination(s3, bucket, { prefix: "doctor/" }).probe();
    assert.deepEqual(await listKeys(admin, bucket), []);
  });
});

s3Test("probe failures name their category: auth, not_found, connectivity", async (s3) => {
  await withBucket(s3, async (bucket) => {
    const secret = "definitely-not-the-secret";
    const wrongSecret = destination(s3, bucket, {
      keys: {
        accessKeyEnv: "K",
        secretKeyEnv: "S",
        accessKeyId: s3.accessKey,
        secretAccessKey: secret,
      },
    });
    const auth = await rejection(wrongSecret.probe());
    assert.equal(auth.category, "auth", auth.message);
    assert.match(auth.message, new RegExp(`s3://${bucket}/\\.rivet_doctor_probe_`));
    assert.ok(!auth.message.includes(secret), "the secret is never printed");

    const missing = await rejection(destination(s3, `${bucket}-missing`).probe());
    assert.equal(missing.category, "not_found", missing.message);
    assert.match(missing.message, /NoSuchBucket/);

    const closed = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const port = (closed.addr as Deno.NetAddr).port;
    closed.close();
    const unreachable = destination(s3, bucket, { endpoint: `http://127.0.0.1:${port}` });
    const refused = await rejection(unreachable.probe());
    assert.equal(refused.category, "connectivity", refused.message);
  });
  await removeStagingDir();
});

// ── Through the CLI: credential precedence and end-to-end exports ────────────────────────────

interface S3Export {
  name: string;
  query: string;
  mode?: "full" | "incremental";
  cursor?: string;
  format?: "parquet" | "csv";
}

/** A config exporting to `bucket`; with `keys`, credentials come from the two named variables. */
function s3Config(
  url: string,
  s3Endpoint: string,
  bucket: string,
  exports: S3Export[],
  options: { prefix?: string; keys?: boolean; region?: string } = {},
): string {
  const destination = [
    "type: s3",
    `bucket: ${bucket}`,
    `prefix: ${JSON.stringify(options.prefix ?? "")}`,
    `endpoint: "${s3Endpoint}"`,
    // Without a region the SDK's resolution applies, falling back to us-east-1.
    ...(options.region === undefined ? [] : [`region: ${options.region}`]),
    ...(options.keys ? ["access_key_env: RIVET_T_KEY", "secret_key_env: RIVET_T_SECRET"] : []),
  ];
  const lines = [
    "source:",
    "  type: postgres",
    `  url: "${url}"`,
    "  tuning: { profile: fast, max_retries: 0 }",
    "exports:",
  ];
  for (const e of exports) {
    lines.push(`  - name: ${e.name}`, `    query: ${JSON.stringify(e.query)}`);
    lines.push(`    mode: ${e.mode ?? "full"}`, `    format: ${e.format ?? "parquet"}`);
    if (e.cursor) lines.push(`    cursor_column: ${e.cursor}`);
    lines.push(`    destination: { ${destination.join(", ")} }`);
  }
  return lines.join("\n") + "\n";
}

const PG_URL = "postgresql://postgres@127.0.0.1:5432/test";

/** Credentials the SDK's default chain could find on the test machine, switched off. */
const NO_AMBIENT_AWS = {
  AWS_ACCESS_KEY_ID: "",
  AWS_SECRET_ACCESS_KEY: "",
  AWS_SESSION_TOKEN: "",
  AWS_PROFILE: "",
  AWS_SHARED_CREDENTIALS_FILE: "/nonexistent/rivet-test/credentials",
  AWS_CONFIG_FILE: "/nonexistent/rivet-test/config",
  AWS_EC2_METADATA_DISABLED: "true",
};

/** Runs a one-row export of `SELECT 1` to `bucket` with `env`; returns the CLI result. */
async function exportOneRow(
  s3: S3Server,
  bucket: string,
  env: Record<string, string>,
  keys: boolean,
) {
  return await withTempDir(async (dir) => {
    const config = await writeFile(
      dir,
      "rivet.yaml",
      s3Config(PG_URL, s3.endpoint, bucket, [{ name: "one", query: "SELECT 1 AS id" }], { keys }),
    );
    return await rivet(["run", "-c", config], { ...NO_AMBIENT_AWS, ...env });
  });
}

s3Test("credentials: config keys are used and win over AWS_* variables", async (s3) => {
  await withBucket(s3, async (bucket, admin) => {
    const r = await exportOneRow(s3, bucket, {
      RIVET_T_KEY: s3.accessKey,
      RIVET_T_SECRET: s3.secretKey,
      AWS_ACCESS_KEY_ID: s3.accessKey,
      AWS_SECRET_ACCESS_KEY: "wrong-secret-from-env",
    }, true);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.equal((await listKeys(admin, bucket)).length, 1);
  });
});

s3Test("credentials: without config keys, AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY", async (s3) => {
  await withBucket(s3, async (bucket, admin) => {
    const r = await exportOneRow(s3, bucket, {
      AWS_ACCESS_KEY_ID: s3.accessKey,
      AWS_SECRET_ACCESS_KEY: s3.secretKey,
    }, false);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.equal((await listKeys(admin, bucket)).length, 1);
  });
});

s3Test(
  "credentials: without config keys, a shared credentials file and AWS_PROFILE",
  async (s3) => {
    await withBucket(s3, async (bucket, admin) => {
      await withTempDir(async (dir) => {
        const file = await writeFile(
          dir,
          "credentials",
          `[default]
        aws_access_key_id = ${s3.accessKey}
        aws_secret_access_key = wrong-default-secret
        [rivet-test]
        aws_access_key_id = ${s3.accessKey}
        aws_secret_access_key = ${s3.secretKey}
        `,
        );
        const r = await exportOneRow(s3, bucket, {
          AWS_SHARED_CREDENTIALS_FILE: file,
          AWS_PROFILE: "rivet-test",
        }, false);
        assert.equal(r.code, 0, r.stdout + r.stderr);
      });
      assert.equal((await listKeys(admin, bucket)).length, 1);
    });
  },
);

s3Test("credentials: none anywhere fails the export with an auth error", async (s3) => {
  await withBucket(s3, async (bucket, admin) => {
    const r = await exportOneRow(s3, bucket, {}, false);
    assert.notEqual(r.code, 0);
    assert.match(r.stdout + r.stderr, /Could not load credentials/);
    assert.deepEqual(await listKeys(admin, bucket), []);
  });
});

/** The locations the state store's file manifest records, sorted. */
function manifestLocations(stateDb: string): string[] {
  const db = new DatabaseSync(stateDb, { readOnly: true });
  try {
    const rows = db.prepare("SELECT location FROM file_manifest").all();
    return rows.map((r) => String(r.location)).sort();
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

s3Test(
  "e2e: full exports to Parquet and CSV under a prefix, recorded as s3:// URIs",
  async (s3) => {
    await withDb(POSTGRES, async (db) => {
      await createItems(db, 1, 25);
      await withBucket(s3, async (bucket, admin) => {
        await withTempDir(async (dir) => {
          const query = `SELECT id, name FROM ${db.ns}.items ORDER BY id`;
          const config = await writeFile(
            dir,
            "rivet.yaml",
            s3Config(db.url, s3.endpoint, bucket, [
              { name: "items_pq", query },
              { name: "items_csv", query, format: "csv" },
            ], { prefix: "exports/items", keys: true, region: "us-east-1" }),
          );
          const env = { RIVET_T_KEY: s3.accessKey, RIVET_T_SECRET: s3.secretKey };
          const r = await rivet(["run", "-c", config, "--validate"], env);
          assert.equal(r.code, 0, r.stdout + r.stderr);
          const summaries = parseSummaries(r.stdout);
          assert.equal(summaries.items_pq.rows, "25");
          assert.equal(summaries.items_csv.rows, "25");
          const keys = await listKeys(admin, bucket);
          assert.equal(keys.length, 2, keys.join(" "));
          for (const key of keys) assert.match(key, /^exports\/items\/items_(pq|csv)_\d{8}_/);

          const pqKey = keys.find((k) => k.endsWith(".parquet"))!;
          await downloadTo(admin, bucket, pqKey, join(dir, "items.parquet"));
          const pq = await readParquet(join(dir, "items.parquet"));
          assert.equal(pq.rows.length, 25);
          assert.equal(String(pq.rows[0].id), "1");
          assert.equal(pq.rows[24].name, 'item 25, "q"');
          const csvKey = keys.find((k) => k.endsWith(".csv"))!;
          await downloadTo(admin, bucket, csvKey, join(dir, "items.csv"));
          const csv = await readCsv(join(dir, "items.csv"));
          assert.deepEqual(csv[0], ["id", "name"]);
          assert.deepEqual(csv[25], ["25", 'item 25, "q"']);

          const listed = await rivet(["state", "files", "-c", config], env);
          assert.equal(listed.code, 0, listed.stderr);
          for (const key of keys) assert.ok(listed.stdout.includes(key.split("/").at(-1)!));
          assert.deepEqual(
            manifestLocations(join(dir, ".rivet_state.db")),
            keys.map((k) => `s3://${bucket}/${k}`),
          );
        });
      });
    });
  },
);

s3Test(
  "e2e: incremental runs upload exactly the new rows; a failed upload moves nothing",
  async (s3) => {
    await withDb(POSTGRES, async (db) => {
      await createItems(db, 1, 10);
      await withBucket(s3, async (bucket, admin) => {
        await withTempDir(async (dir) => {
          // Through a proxy that can drop uploads: the object of the third run is ~40 KB.
          const proxy = startTcpProxy(Number(new URL(s3.endpoint).port));
          try {
            const config = await writeFile(
              dir,
              "rivet.yaml",
              s3Config(db.url, `http://127.0.0.1:${proxy.port}`, bucket, [{
                name: "inc",
                query: `SELECT id, name, note FROM ${db.ns}.items`,
                mode: "incremental",
                cursor: "id",
                format: "csv",
              }], { prefix: "inc/" }),
            );
            const env = { AWS_ACCESS_KEY_ID: s3.accessKey, AWS_SECRET_ACCESS_KEY: s3.secretKey };
            const first = await rivet(["run", "-c", config], env);
            assert.equal(first.code, 0, first.stdout + first.stderr);
            await createItems(db, 11, 13);
            const second = await rivet(["run", "-c", config], env);
            assert.equal(second.code, 0, second.stdout + second.stderr);
            assert.equal(parseSummaries(second.stdout).inc.rows, "3");
            const keys = await listKeys(admin, bucket);
            assert.equal(keys.length, 2);
            await downloadTo(admin, bucket, keys[1], join(dir, "second.csv"));
            assert.deepEqual((await readCsv(join(dir, "second.csv"))).slice(1).map((r) => r[0]), [
              "11",
              "12",
              "13",
            ]);

            await createItems(db, 14, 400);
            proxy.cutLongTransfers(0, 16 * 1024);
            const failed = await rivet(["run", "-c", config], env);
            assert.notEqual(failed.code, 0, failed.stdout);
            assert.match(failed.stdout + failed.stderr, new RegExp(`s3://${bucket}/inc/inc_`));
            assert.deepEqual(await listKeys(admin, bucket), keys, "no new object");
            assert.deepEqual(await incompleteUploads(admin, bucket), []);
            const state = await rivet(["state", "show", "-c", config], env);
            assert.match(state.stdout, /inc\s+13\s/, "cursor unchanged");
          } finally {
            proxy.close();
          }
        });
      });
    });
  },
);
