/**
 * `rivet permissions`' derivation, one config kind at a time: each test loads a real config file
 * (with the environment a run would see) and checks the hosts, variables, paths and API names the
 * derivation grants, and that it grants nothing a run of that config does not need. Also the three
 * output formats and the recognition of Deno's missing-permission errors.
 */
import assert from "node:assert/strict";
import { dirname } from "node:path";
import { loadConfig } from "../src/config/load.ts";
import { selectExports } from "../src/pipeline/run.ts";
import { formatPermissions, permissionArgs } from "../src/preflight/permission_format.ts";
import { RUNTIME_FLAGS } from "../src/preflight/runtime_flags.ts";
import { derivePermissions, type PermissionSet } from "../src/preflight/permissions.ts";
import { missingPermission, permissionLine } from "../src/util/permission_error.ts";
import { withTempDir, writeFile } from "./support/files.ts";

const HOME = "/home/ana";
const TMP = "/var/tmp/rivet-test";

/** What every run reads: the log level, the YAML parser's switches and the temp dir variable. */
const BASE_ENV = ["LOG_STREAM", "LOG_TOKENS", "RIVET_LOG", "RUST_LOG", "TMPDIR"];
/** pg's variables (a URL with a password: no pgpass). */
const PG_ENV = ["NODE_PG_FORCE_NATIVE", "PG*", "USER"];

interface Derivation {
  dir: string;
  set: PermissionSet;
}

/**
 * Writes `files` (the config is `rivet.yaml`) into a fresh directory, loads the config with `env`
 * as the environment and derives the permissions of `exports` (all when empty).
 */
async function derive(
  files: Record<string, string>,
  env: Record<string, string> = {},
  options: { exports?: string[]; params?: Record<string, string>; programDir?: string } = {},
): Promise<Derivation> {
  return await withTempDir(async (dir) => {
    for (const [name, text] of Object.entries(files)) {
      await Deno.mkdir(dirname(`${dir}/${name}`), { recursive: true });
      await writeFile(dir, name, text);
    }
    const read = new Set<string>();
    const lookup = (name: string) => {
      read.add(name);
      return env[name];
    };
    const config = await loadConfig(`${dir}/rivet.yaml`, { env: lookup, params: options.params });
    const set = derivePermissions(config, selectExports(config, options.exports), {
      configEnv: [...read],
      env: (name) => env[name],
      tempDir: TMP,
      home: HOME,
      cwd: dir,
      os: "linux",
      ...(options.programDir === undefined ? {} : { programDir: options.programDir }),
    });
    return { dir, set };
  });
}

/** The base reads and writes of a config in `dir`: itself, the state database, the temp dir. */
function baseFiles(dir: string) {
  return {
    read: [`${dir}/.rivet_state.db`, `${dir}/rivet.yaml`, TMP],
    write: [`${dir}/.rivet_state.db`, TMP],
  };
}

function sorted(values: string[]): string[] {
  return [...values].sort();
}

const LOCAL = "destination: { type: local, path: ./out }";

Deno.test("postgres url with a password, local destination: exactly the host, the files, pg's variables", async () => {
  const { dir, set } = await derive({
    "rivet.yaml": `
      source: { type: postgres, url: "postgresql://app:s3cret@db.internal:6432/shop" }
      exports:
        - name: orders
          query: SELECT * FROM orders
          ${LOCAL}
    `,
  });
  const base = baseFiles(dir);
  assert.deepEqual(set, {
    net: ["db.internal:6432"],
    env: sorted([...BASE_ENV, ...PG_ENV]),
    read: sorted([...base.read, `${dir}/out`]),
    write: sorted([...base.write, `${dir}/out`]),
    sys: [],
  });
});

Deno.test("postgres url without a password: pgpass's home variable and file, default port", async () => {
  const { set } = await derive({
    "rivet.yaml": `
      source: { type: postgres, url: "postgresql://app@db.internal/shop" }
      exports: [{ name: o, query: SELECT 1, destination: { type: stdout } }]
    `,
  });
  assert.deepEqual(set.net, ["db.internal:5432"]);
  assert.ok(set.env.includes("HOME"));
  assert.ok(set.read.includes(`${HOME}/.pgpass`));
});

Deno.test("PGPASSFILE moves the pgpass file that is granted", async () => {
  const { set } = await derive(
    {
      "rivet.yaml": `
      source: { type: postgres, url: "postgresql://app@db/shop" }
      exports: [{ name: o, query: SELECT 1, destination: { type: stdout } }]
    `,
    },
    { PGPASSFILE: "/etc/rivet/pgpass" },
  );
  assert.ok(set.read.includes("/etc/rivet/pgpass"));
  assert.ok(!set.read.includes(`${HOME}/.pgpass`));
});

Deno.test("mysql url: port 3306 by default, mysql2's TZ, none of pg's variables", async () => {
  const { dir, set } = await derive({
    "rivet.yaml": `
      source: { type: mysql, url: "mysql://root:pw@10.1.2.3/app" }
      exports: [{ name: t, query: SELECT 1, destination: { type: stdout } }]
    `,
  });
  assert.deepEqual(set, {
    net: ["10.1.2.3:3306"],
    env: sorted([...BASE_ENV, "TZ"]),
    ...baseFiles(dir),
    sys: [],
  });
});

Deno.test("url_env: the variable is granted, the host comes from its value", async () => {
  const { set } = await derive(
    {
      "rivet.yaml": `
      source: { type: mysql, url_env: SHOP_DB }
      exports: [{ name: t, query: SELECT 1, destination: { type: stdout } }]
    `,
    },
    { SHOP_DB: "mysql://u:p@replica.shop:3307/app" },
  );
  assert.deepEqual(set.net, ["replica.shop:3307"]);
  assert.ok(set.env.includes("SHOP_DB"));
});

Deno.test("url_file: the file is granted, the host comes from its content", async () => {
  const { dir, set } = await derive({
    "rivet.yaml": `
      source: { type: postgres, url_file: secrets/db.url }
      exports: [{ name: t, query: SELECT 1, destination: { type: stdout } }]
    `,
    "secrets/db.url": "postgresql://u:p@pg.from.file:5433/app\n",
  });
  assert.deepEqual(set.net, ["pg.from.file:5433"]);
  assert.ok(set.read.includes(`${dir}/secrets/db.url`));
});

Deno.test("structured source with password_env: host, port and the password variable", async () => {
  const { set } = await derive(
    {
      "rivet.yaml": `
      source:
        type: postgres
        host: warehouse.example.com
        port: 5439
        user: etl
        password_env: DB_PASS
        database: dw
      exports: [{ name: t, query: SELECT 1, destination: { type: stdout } }]
    `,
    },
    { DB_PASS: "x" },
  );
  assert.deepEqual(set.net, ["warehouse.example.com:5439"]);
  assert.ok(set.env.includes("DB_PASS"));
  // A password is configured: pg never asks pgpass.
  assert.ok(!set.env.includes("HOME"));
});

Deno.test("TLS file options of the URL are granted for reading (relative to the working dir)", async () => {
  const { dir, set } = await derive({
    "rivet.yaml": `
      source: { type: postgres, url: "postgresql://u:p@db/app?sslmode=verify-full&sslrootcert=ca.pem&sslkey=/etc/k.pem" }
      exports: [{ name: t, query: SELECT 1, destination: { type: stdout } }]
    `,
  });
  assert.ok(set.read.includes(`${dir}/ca.pem`));
  assert.ok(set.read.includes("/etc/k.pem"));
});

Deno.test("stdout destination adds nothing to the base", async () => {
  const { dir, set } = await derive({
    "rivet.yaml": `
      source: { type: postgres, url: "postgresql://u:p@db/app" }
      exports: [{ name: t, query: SELECT 1, destination: { type: stdout } }]
    `,
  });
  assert.deepEqual({ read: set.read, write: set.write }, baseFiles(dir));
  assert.deepEqual(set.sys, []);
});

Deno.test("query_file and ${VAR}s: the file, the variables of the config and of the query file", async () => {
  const { dir, set } = await derive(
    {
      "rivet.yaml": `
      source: { type: postgres, url: "postgresql://u:p@db/app" }
      exports:
        - name: t
          query_file: sql/t.sql
          destination: { type: local, path: "/data/\${REGION}" }
    `,
      "sql/t.sql": "SELECT * FROM t WHERE since > '${SINCE}'",
    },
    { REGION: "eu", SINCE: "2024-01-01" },
  );
  assert.ok(set.read.includes(`${dir}/sql/t.sql`));
  assert.ok(set.env.includes("REGION"));
  assert.ok(set.env.includes("SINCE"));
  assert.ok(set.write.includes("/data/eu"));
});

Deno.test("a ${VAR} given with --param is not read from the environment", async () => {
  const { set } = await derive(
    {
      "rivet.yaml": `
      source: { type: postgres, url: "postgresql://u:p@db/app" }
      exports: [{ name: t, query: "SELECT \${N}", destination: { type: stdout } }]
    `,
    },
    {},
    { params: { N: "1" } },
  );
  assert.ok(!set.env.includes("N"));
});

Deno.test("the state database sits beside the config, read and written", async () => {
  const { dir, set } = await derive({
    "rivet.yaml": `
      source: { type: postgres, url: "postgresql://u:p@db/app" }
      exports: [{ name: t, query: SELECT 1, destination: { type: stdout } }]
    `,
  });
  assert.ok(set.read.includes(`${dir}/.rivet_state.db`));
  assert.ok(set.write.includes(`${dir}/.rivet_state.db`));
});

Deno.test("s3 with an endpoint and keys: that endpoint only, the key variables, the SDK's needs", async () => {
  const { set } = await derive(
    {
      "rivet.yaml": `
      source: { type: postgres, url: "postgresql://u:p@db/app" }
      exports:
        - name: t
          query: SELECT 1
          destination:
            type: s3
            bucket: lake
            endpoint: http://minio.local:9000
            region: us-east-1
            access_key_env: MINIO_KEY
            secret_key_env: MINIO_SECRET
    `,
    },
    { MINIO_KEY: "k", MINIO_SECRET: "s" },
  );
  assert.deepEqual(set.net, ["db:5432", "minio.local:9000"]);
  for (const name of ["MINIO_KEY", "MINIO_SECRET", "AWS_*", "HOME"]) {
    assert.ok(set.env.includes(name), name);
  }
  assert.deepEqual(set.sys, ["osRelease"]);
  assert.ok(set.read.includes(`${HOME}/.aws/config`));
  assert.ok(set.read.includes(`${HOME}/.aws/credentials`));
  // Keys are given: no credential chain, so no metadata endpoints and no ~/.aws caches.
  assert.ok(!set.net.some((h) => h.startsWith("169.254.")));
  assert.ok(!set.read.includes(`${HOME}/.aws`));
});

Deno.test("s3 on AWS with the default credential chain: AWS endpoints, metadata, ~/.aws", async () => {
  const { set } = await derive(
    {
      "rivet.yaml": `
      source: { type: postgres, url: "postgresql://u:p@db/app" }
      exports: [{ name: t, query: SELECT 1, destination: { type: s3, bucket: lake } }]
    `,
    },
    { AWS_WEB_IDENTITY_TOKEN_FILE: "/var/run/secrets/token" },
  );
  assert.deepEqual(set.net, [
    "*.amazonaws.com:443",
    "169.254.169.254:80",
    "169.254.170.2:80",
    "db:5432",
  ]);
  assert.ok(set.read.includes(`${HOME}/.aws`));
  assert.ok(set.read.includes("/var/run/secrets/token"));
});

Deno.test("gcs with a credentials_file: the key file, the endpoint, Google's token hosts", async () => {
  const { dir, set } = await derive({
    "rivet.yaml": `
      source: { type: postgres, url: "postgresql://u:p@db/app" }
      exports:
        - name: t
          query: SELECT 1
          destination: { type: gcs, bucket: lake, credentials_file: keys/sa.json }
    `,
  });
  assert.deepEqual(set.net, [
    "db:5432",
    "oauth2.googleapis.com:443",
    "storage.googleapis.com:443",
    "www.googleapis.com:443",
  ]);
  assert.ok(set.read.includes(`${dir}/keys/sa.json`));
  assert.ok(set.env.includes("GOOGLE_APPLICATION_CREDENTIALS"));
  // The key file wins: no ADC file, no metadata server, no GCE detection.
  assert.ok(!set.read.some((p) => p.includes("gcloud") || p.startsWith("/sys/")));
  assert.deepEqual(set.sys, []);
});

Deno.test("gcs without a key file: GOOGLE_APPLICATION_CREDENTIALS, the ADC files, the metadata server", async () => {
  const { set } = await derive(
    {
      "rivet.yaml": `
      source: { type: postgres, url: "postgresql://u:p@db/app" }
      exports:
        - name: t
          query: SELECT 1
          destination: { type: gcs, bucket: lake, endpoint: "http://127.0.0.1:4443" }
    `,
    },
    { GOOGLE_APPLICATION_CREDENTIALS: "/etc/gcp/key.json", CLOUDSDK_CONFIG: "/etc/gcloud" },
  );
  assert.ok(set.net.includes("127.0.0.1:4443"));
  assert.ok(!set.net.includes("storage.googleapis.com:443"));
  assert.ok(set.net.includes("metadata.google.internal:80"));
  for (
    const path of [
      "/etc/gcp/key.json",
      "/etc/gcloud/application_default_credentials.json",
      `${HOME}/.config/gcloud/application_default_credentials.json`,
      "/sys/class/dmi/id/bios_vendor",
    ]
  ) {
    assert.ok(set.read.includes(path), path);
  }
  assert.deepEqual(set.sys, ["networkInterfaces"]);
});

Deno.test("notifications.slack: the webhook's host and port", async () => {
  const { set } = await derive(
    {
      "rivet.yaml": `
      source: { type: postgres, url: "postgresql://u:p@db/app" }
      exports: [{ name: t, query: SELECT 1, destination: { type: stdout } }]
      notifications:
        slack: { webhook_url_env: HOOK }
    `,
    },
    { HOOK: "https://hooks.slack.com/services/T/B/x" },
  );
  assert.deepEqual(set.net, ["db:5432", "hooks.slack.com:443"]);
  assert.ok(set.env.includes("HOOK"));
});

Deno.test("--export: only the named exports' files and destinations", async () => {
  const { dir, set } = await derive(
    {
      "rivet.yaml": `
      source: { type: postgres, url: "postgresql://u:p@db/app" }
      exports:
        - { name: a, query: SELECT 1, destination: { type: local, path: ./a } }
        - { name: b, query: SELECT 1, destination: { type: s3, bucket: x } }
    `,
    },
    {},
    { exports: ["a"] },
  );
  assert.ok(set.write.includes(`${dir}/a`));
  assert.deepEqual(set.net, ["db:5432"]);
  assert.ok(!set.env.includes("AWS_*"));
});

Deno.test("from a checkout, the program's own src/ is readable (the encoder worker's modules)", async () => {
  const { set } = await derive(
    {
      "rivet.yaml": `
      source: { type: postgres, url: "postgresql://u:p@db/app" }
      exports: [{ name: t, query: SELECT 1, destination: { type: stdout } }]
    `,
    },
    {},
    { programDir: "/opt/rivet/src" },
  );
  assert.ok(set.read.includes("/opt/rivet/src"));
  assert.ok(!set.write.includes("/opt/rivet/src"));
});

Deno.test("a path inside a granted directory is not listed again", async () => {
  const { dir, set } = await derive(
    {
      "rivet.yaml": `
      source: { type: postgres, url: "postgresql://u:p@db/app" }
      exports:
        - { name: a, query: SELECT 1, destination: { type: local, path: ./out } }
        - { name: b, query: SELECT 1, destination: { type: local, path: ./out/b } }
    `,
    },
    {},
    { programDir: "/" },
  );
  assert.deepEqual(set.read, ["/"]);
  assert.deepEqual(set.write, sorted([`${dir}/.rivet_state.db`, `${dir}/out`, TMP]));
});

const SAMPLE: PermissionSet = {
  net: ["db:5432"],
  env: ["PG*", "RIVET_LOG"],
  read: ["/etc/rivet/rivet.yaml", "/tmp"],
  write: ["/tmp"],
  sys: [],
};

Deno.test("format flags: one flag per line, quoted where a shell would glob or split, then the runtime flags", () => {
  assert.equal(
    formatPermissions(SAMPLE, "flags", "1.2.3"),
    [
      "--allow-net=db:5432",
      "'--allow-env=PG*,RIVET_LOG'",
      "--allow-read=/etc/rivet/rivet.yaml,/tmp",
      "--allow-write=/tmp",
      "--v8-flags=--max-semi-space-size=2",
      "",
    ].join("\n"),
  );
});

Deno.test("format deno-json: a permission set named rivet with the same entries", () => {
  const parsed = JSON.parse(formatPermissions(SAMPLE, "deno-json", "1.2.3"));
  assert.deepEqual(parsed, {
    permissions: {
      rivet: { net: SAMPLE.net, env: SAMPLE.env, read: SAMPLE.read, write: SAMPLE.write },
    },
  });
});

Deno.test("format install: a deno install line with the runtime flags, pinned to the version", () => {
  assert.equal(
    formatPermissions(SAMPLE, "install", "1.2.3"),
    "deno install --global --force --name rivet --allow-net=db:5432 '--allow-env=PG*,RIVET_LOG' " +
      "--allow-read=/etc/rivet/rivet.yaml,/tmp --allow-write=/tmp " +
      "--v8-flags=--max-semi-space-size=2 jsr:@rivet/cli@1.2.3\n",
  );
});

Deno.test("the rivet task in deno.json passes the runtime flags the printed lines carry", async () => {
  const config = JSON.parse(await Deno.readTextFile(new URL("../deno.json", import.meta.url)));
  const task = (config.tasks.rivet as string).split(" ");
  for (const flag of RUNTIME_FLAGS) assert.ok(task.includes(flag), `${flag} missing from the task`);
});

Deno.test("a path with a comma cannot be a Deno flag entry: said, not silently split", () => {
  assert.throws(
    () => permissionArgs({ ...SAMPLE, write: ["/data/a,b"] }),
    /'\/data\/a,b' contains a comma/,
  );
});

Deno.test("missing permissions are recognised thrown, wrapped, or quoted", async () => {
  // This file runs with --allow-all: a process with no permissions makes a real NotCapable.
  const denied = await deniedInProcess();
  assert.deepEqual(missingPermission(denied), {
    kind: "read",
    target: "/etc/hostname",
    flag: "--allow-read=/etc/hostname",
  });
  assert.equal(missingPermission(new Deno.errors.NotFound("No such file: /x")), undefined);
  const wrapped = new Error("cannot write x", { cause: new Error("outer", { cause: denied }) });
  assert.equal(missingPermission(wrapped)?.flag, "--allow-read=/etc/hostname");
  const quoted = new Error(
    'Parquet encoder crashed: Uncaught NotCapable: Requires env access to "TZ", run again with the --allow-env flag',
  );
  assert.equal(missingPermission(quoted)?.flag, "--allow-env=TZ");
  assert.equal(
    missingPermission(new Error("Requires write access, run again with the --allow-write flag"))
      ?.flag,
    "--allow-write",
  );
  assert.equal(
    permissionLine({ kind: "env", target: "TZ", flag: "--allow-env=TZ" }, "r.yaml"),
    "permission missing: run with --allow-env=TZ (or run 'rivet permissions --config r.yaml' for every flag the config needs)",
  );
});

/** The error a process without permissions gets reading /etc/hostname, as Deno words it. */
async function deniedInProcess(): Promise<Error> {
  const code = `try { Deno.readTextFileSync("/etc/hostname") } catch (err) {
    console.log(JSON.stringify({ name: err.name, message: err.message }));
  }`;
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--no-prompt", `data:application/javascript,${encodeURIComponent(code)}`],
    stdout: "piped",
    stderr: "inherit",
  }).output();
  const { name, message } = JSON.parse(new TextDecoder().decode(out.stdout));
  assert.equal(name, "NotCapable");
  return Object.assign(new Error(message), { name });
}
