/**
 * `rivet doctor` through the real CLI: OK lines for a working setup, and each failure category
 * (`auth error`, `connectivity error`, `bucket not found`, `error`) recognised for the source and
 * for local and S3 destinations, with a non-zero exit and nothing left behind.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { rivet } from "./support/cli.ts";
import { ENGINES } from "./support/engines.ts";
import { listDir, withTempDir, writeFile } from "./support/files.ts";
import { startGcsServer } from "./support/gcs_server.ts";
import { listKeys, server, withBucket } from "./support/s3_fixture.ts";

const TOKEN_REDIRECT = new URL("./support/google_token_redirect.ts", import.meta.url).pathname;

function yaml(source: string[], destinations: string[]): string {
  return [
    "source:",
    ...source.map((l) => `  ${l}`),
    "exports:",
    ...destinations.map((d, i) => `  - { name: e${i}, query: "SELECT 1", destination: ${d} }`),
  ].join("\n") + "\n";
}

/** A port nothing listens on. */
function closedPort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

for (const engine of ENGINES) {
  Deno.test(`doctor ${engine.name}: all OK, then each source failure named by category`, async () => {
    await withTempDir(async (dir) => {
      const url = engine.name === "postgres"
        ? "postgresql://postgres@127.0.0.1:5432/test"
        : "mysql://root@127.0.0.1:3306/test";
      const good = await writeFile(
        dir,
        "good.yaml",
        yaml([`type: ${engine.name}`, `url: "${url}"`], [
          "{ type: local, path: ./out }",
          "{ type: local, path: ./out }",
          "{ type: stdout }",
        ]),
      );
      const ok = await rivet(["doctor", "-c", good]);
      assert.equal(ok.code, 0, ok.stdout + ok.stderr);
      assert.equal(
        ok.stdout,
        [
          `rivet doctor: verifying auth for config '${good}'`,
          "[OK] Config parsed successfully",
          `[OK] Source auth (${engine.name === "postgres" ? "Postgres" : "MySQL"})`,
          `[OK] Destination Local(${join(dir, "out")})`,
          "[OK] Destination stdout",
          `[OK] State database (${join(dir, ".rivet_state.db")})`,
          "All checks passed.",
          "",
        ].join("\n"),
      );
      assert.deepEqual(await listDir(join(dir, "out")), [], "the probe left nothing behind");

      const badUser = engine.name === "postgres"
        ? "postgresql://no_such_role_rivet:pw123456@127.0.0.1:5432/test"
        : "mysql://no_such_user_rivet:pw123456@127.0.0.1:3306/test";
      const auth = await rivet([
        "doctor",
        "-c",
        await writeFile(
          dir,
          "auth.yaml",
          yaml([`type: ${engine.name}`, `url: "${badUser}"`], [
            "{ type: local, path: ./out }",
          ]),
        ),
      ]);
      assert.equal(auth.code, 1);
      assert.match(auth.stdout, /^\[FAIL\] Source auth \(\w+\) -- auth error: .+$/m);
      assert.match(auth.stdout, /^ {7}hint: check the user and password/m);
      assert.ok(!auth.stdout.includes("pw123456"), "the password is never printed");
      assert.match(
        auth.stdout,
        /Some checks failed\. Fix the issues above before running exports\.\n$/,
      );

      const port = closedPort();
      const down = await rivet([
        "doctor",
        "-c",
        await writeFile(
          dir,
          "down.yaml",
          yaml([
            `type: ${engine.name}`,
            `url: "${url.replace(/:\d+\//, `:${port}/`)}"`,
            "tuning: { max_retries: 0 }",
          ], ["{ type: local, path: ./out }"]),
        ),
      ]);
      assert.equal(down.code, 1);
      assert.match(down.stdout, /^\[FAIL\] Source auth \(\w+\) -- connectivity error: /m);
    });
  });
}

Deno.test("doctor: local destinations that cannot be written, and a config that does not parse", async () => {
  await withTempDir(async (dir) => {
    await Deno.writeTextFile(join(dir, "blocker"), "a file, not a directory");
    const path = await writeFile(
      dir,
      "rivet.yaml",
      yaml(["type: postgres", 'url: "postgresql://postgres@127.0.0.1:5432/test"'], [
        "{ type: local, path: ./blocker/out }",
      ]),
    );
    const r = await rivet(["doctor", "-c", path]);
    assert.equal(r.code, 1);
    assert.match(r.stdout, /^\[OK\] Source auth \(Postgres\)$/m);
    assert.match(
      r.stdout,
      /^\[FAIL\] Destination Local\(\S+\/blocker\/out\) -- error: cannot write to /m,
    );

    const broken = await writeFile(dir, "broken.yaml", "source: [unclosed\n");
    const parse = await rivet(["doctor", "-c", broken]);
    assert.equal(parse.code, 1);
    assert.match(parse.stdout, /^\[FAIL\] Config -- error: .*YAML syntax error/m);
  });
});

Deno.test({
  name:
    "doctor s3: OK leaves no probe object; wrong key, unknown bucket and closed port are each named",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    const s3 = await server();
    await withBucket(s3, async (bucket, admin) => {
      await withTempDir(async (dir) => {
        const source = ["type: postgres", 'url: "postgresql://postgres@127.0.0.1:5432/test"'];
        const dest = (b: string, endpoint = s3.endpoint) =>
          `{ type: s3, bucket: ${b}, prefix: probe/, region: us-east-1, endpoint: "${endpoint}", access_key_env: K, secret_key_env: S }`;
        const env = { K: s3.accessKey, S: s3.secretKey };
        const ok = await rivet([
          "doctor",
          "-c",
          await writeFile(dir, "ok.yaml", yaml(source, [dest(bucket)])),
        ], env);
        assert.equal(ok.code, 0, ok.stdout + ok.stderr);
        assert.match(ok.stdout, new RegExp(`^\\[OK\\] Destination S3\\(${bucket}\\)$`, "m"));
        assert.deepEqual(await listKeys(admin, bucket), [], "the probe object is gone");

        const bad = await rivet([
          "doctor",
          "-c",
          await writeFile(
            dir,
            "bad.yaml",
            yaml(source, [
              dest(bucket),
              dest("rivet-no-such-bucket-x1"),
              dest(bucket, `http://127.0.0.1:${closedPort()}`),
            ]),
          ),
        ], { K: s3.accessKey, S: "not-the-secret-key" });
        assert.equal(bad.code, 1);
        assert.match(
          bad.stdout,
          new RegExp(`^\\[FAIL\\] Destination S3\\(${bucket}\\) -- auth error: `, "m"),
        );
        assert.match(
          bad.stdout,
          /^\[FAIL\] Destination S3\(rivet-no-such-bucket-x1\) -- (bucket not found|auth error): /m,
        );
        assert.match(bad.stdout, /^\[FAIL\] Destination S3\(\S+\) -- connectivity error: /m);
        assert.ok(!bad.stdout.includes("not-the-secret-key"), "the secret is never printed");

        const missing = await rivet([
          "doctor",
          "-c",
          await writeFile(dir, "missing.yaml", yaml(source, [dest("rivet-no-such-bucket-x2")])),
        ], env);
        assert.match(
          missing.stdout,
          /^\[FAIL\] Destination S3\(rivet-no-such-bucket-x2\) -- bucket not found: /m,
        );
      });
    });
  },
});

Deno.test({
  name:
    "doctor gcs: OK leaves no probe object; a missing key file, a refused key and an unknown bucket are each named",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    const gcs = await startGcsServer();
    try {
      await withTempDir(async (dir) => {
        const bucket = `rivet-d-${crypto.randomUUID().slice(0, 8)}`;
        gcs.createBucket(bucket);
        await writeFile(dir, "good.json", JSON.stringify(await gcs.newServiceAccount()));
        await writeFile(
          dir,
          "refused.json",
          JSON.stringify(await gcs.newServiceAccount({ trusted: false })),
        );
        const source = ["type: postgres", 'url: "postgresql://postgres@127.0.0.1:5432/test"'];
        const dest = (b: string, key: string) =>
          `{ type: gcs, bucket: ${b}, prefix: probe, endpoint: "${gcs.endpoint}", credentials_file: ${key} }`;
        const env = {
          GOOGLE_APPLICATION_CREDENTIALS: "",
          CLOUDSDK_CONFIG: dir,
          RIVET_TEST_TOKEN_URL: gcs.tokenUrl,
        };
        const doctor = async (name: string, destinations: string[]) =>
          await rivet(
            ["doctor", "-c", await writeFile(dir, name, yaml(source, destinations))],
            env,
            ["--preload", TOKEN_REDIRECT],
          );
        const ok = await doctor("ok.yaml", [dest(bucket, "good.json")]);
        assert.equal(ok.code, 0, ok.stdout + ok.stderr);
        assert.match(ok.stdout, new RegExp(`^\\[OK\\] Destination GCS\\(${bucket}\\)$`, "m"));
        assert.deepEqual(gcs.objects(bucket), [], "the probe object is gone");

        const bad = await doctor("bad.yaml", [
          dest(bucket, "missing.json"),
          dest(`${bucket}-x`, "refused.json"),
          dest("rivet-no-such-bucket", "good.json"),
        ]);
        assert.equal(bad.code, 1);
        assert.match(
          bad.stdout,
          new RegExp(
            `^\\[FAIL\\] Destination GCS\\(${bucket}\\) -- auth error: .*missing\\.json`,
            "m",
          ),
        );
        assert.match(bad.stdout, /^\[FAIL\] Destination GCS\(\S+-x\) -- auth error: /m);
        assert.match(
          bad.stdout,
          /^\[FAIL\] Destination GCS\(rivet-no-such-bucket\) -- bucket not found: /m,
        );
      });
    } finally {
      await gcs.close();
    }
  },
});
