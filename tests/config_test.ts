import assert from "node:assert/strict";
import { join } from "node:path";
import { loadConfig } from "../src/config/load.ts";
import { ConfigError } from "../src/errors.ts";
import { withTempDir, writeFile } from "./support/files.ts";

const SOURCE = `
source:
  type: postgres
  url: "postgresql://app:s3cretpw@db.example.com:5433/shop?sslmode=require"
`;

function config(exportsYaml: string, source = SOURCE): string {
  return `${source.trim()}\nexports:\n${exportsYaml.replace(/^\n/, "")}`;
}

const ONE_EXPORT = `
  - name: users
    query: "SELECT 1"
    format: parquet
    destination:
      type: local
      path: ./out
`;

async function loadError(yaml: string, env: Record<string, string> = {}): Promise<string> {
  return await withTempDir(async (dir) => {
    const path = await writeFile(dir, "rivet.yaml", yaml);
    const err = await loadConfig(path, { env: (n) => env[n] }).then(
      () => undefined,
      (e: unknown) => e,
    );
    assert.ok(err instanceof ConfigError, `expected a ConfigError, got ${String(err)}`);
    return err.message;
  });
}

Deno.test("config: url source, balanced defaults, local path relative to the config", async () => {
  await withTempDir(async (dir) => {
    const path = await writeFile(dir, "rivet.yaml", config(ONE_EXPORT));
    const cfg = await loadConfig(path);
    assert.deepEqual(cfg.source.connection, {
      host: "db.example.com",
      port: 5433,
      user: "app",
      password: "s3cretpw",
      database: "shop",
      options: { sslmode: "require" },
    });
    assert.deepEqual(cfg.source.tuning, {
      profile: "balanced",
      batchSize: 10_000,
      throttleMs: 50,
      statementTimeoutS: 300,
      maxRetries: 3,
      retryBackoffMs: 2_000,
      lockTimeoutS: 30,
    });
    const [e] = cfg.exports;
    assert.deepEqual(e.mode, { kind: "full" });
    assert.deepEqual(e.compression, "zstd");
    assert.deepEqual(e.skipEmpty, false);
    assert.deepEqual(e.destination, { type: "local", path: `${await Deno.realPath(dir)}/out` });
  });
});

Deno.test("config: profile with per-field overrides", async () => {
  await withTempDir(async (dir) => {
    const src = `${SOURCE}  tuning:\n    profile: safe\n    batch_size: 5000\n`;
    const path = await writeFile(dir, "rivet.yaml", config(ONE_EXPORT, src));
    const t = (await loadConfig(path)).source.tuning;
    assert.deepEqual([t.profile, t.batchSize, t.throttleMs, t.statementTimeoutS, t.maxRetries], [
      "safe",
      5000,
      500,
      120,
      5,
    ]);
  });
});

Deno.test("config: structured source with password_env and default port", async () => {
  await withTempDir(async (dir) => {
    const src = `
source:
  type: postgres
  host: 127.0.0.1
  user: rivet
  password_env: DB_PASS
  database: shop
`;
    const path = await writeFile(dir, "rivet.yaml", config(ONE_EXPORT, src));
    const cfg = await loadConfig(path, { env: (n) => (n === "DB_PASS" ? "pw!" : undefined) });
    assert.deepEqual(cfg.source.connection.port, 5432);
    assert.deepEqual(cfg.source.connection.password, "pw!");
  });
});

Deno.test("config: url_env and url_file", async () => {
  await withTempDir(async (dir) => {
    await writeFile(dir, "db.url", "postgresql://u:p@h1/d1\n");
    const viaFile = await writeFile(
      dir,
      "a.yaml",
      config(ONE_EXPORT, "source:\n  type: postgres\n  url_file: db.url\n"),
    );
    assert.deepEqual((await loadConfig(viaFile)).source.connection.host, "h1");
    const viaEnv = await writeFile(
      dir,
      "b.yaml",
      config(ONE_EXPORT, "source:\n  type: postgres\n  url_env: DATABASE_URL\n"),
    );
    const cfg = await loadConfig(viaEnv, {
      env: (n) => (n === "DATABASE_URL" ? "postgres://u@h2:6000/d2" : undefined),
    });
    assert.deepEqual([cfg.source.connection.host, cfg.source.connection.port], ["h2", 6000]);
  });
});

Deno.test("config: ${VAR} expands from --param before the environment", async () => {
  await withTempDir(async (dir) => {
    const path = await writeFile(
      dir,
      "rivet.yaml",
      config(ONE_EXPORT.replace("SELECT 1", "SELECT * FROM t WHERE id <= ${MAX_ID}")),
    );
    const cfg = await loadConfig(path, { params: { MAX_ID: "10" }, env: () => "99" });
    assert.deepEqual(cfg.exports[0].query, "SELECT * FROM t WHERE id <= 10");
  });
});

Deno.test("config: query_file is read relative to the config and expanded", async () => {
  await withTempDir(async (dir) => {
    await Deno.mkdir(`${dir}/sql`);
    await writeFile(dir, "sql/users.sql", "SELECT * FROM users WHERE env = '${ENV}'\n");
    const path = await writeFile(
      dir,
      "rivet.yaml",
      config(ONE_EXPORT.replace('query: "SELECT 1"', "query_file: sql/users.sql")),
    );
    const cfg = await loadConfig(path, { params: { ENV: "prod" } });
    assert.deepEqual(cfg.exports[0].query.trim(), "SELECT * FROM users WHERE env = 'prod'");
  });
});

Deno.test("config errors: missing file", async () => {
  await assert.rejects(() => loadConfig("/nonexistent/rivet.yaml"), {
    name: "ConfigError",
    message: "config file not found: /nonexistent/rivet.yaml",
  });
});

Deno.test("config errors: YAML syntax error names the line", async () => {
  const msg = await loadError("source:\n  type: postgres\n  url: [unclosed\nexports: []\n");
  assert.match(msg, /rivet\.yaml:\d+: YAML syntax error/);
});

Deno.test("config errors: unknown key with a did-you-mean hint, export name and line", async () => {
  const msg = await loadError(config(ONE_EXPORT.replace("format: parquet", "formatt: parquet")));
  assert.match(
    msg,
    /rivet\.yaml:7: export 'users': exports\[0\]\.formatt: unknown key 'formatt' \(did you mean 'format'\?\)/,
  );
});

Deno.test("config errors: wrong type and bad enum value", async () => {
  const badType = await loadError(config(ONE_EXPORT, `${SOURCE}  tuning:\n    batch_size: lots\n`));
  assert.match(badType, /:5: source\.tuning\.batch_size: must be an integer, got string 'lots'/);
  const badEnum = await loadError(config(ONE_EXPORT.replace("parquet", "parquett")));
  assert.match(badEnum, /format: must be one of parquet \| csv.*did you mean 'parquet'/);
});

Deno.test("config errors: missing env var for ${VAR}, url_env and password_env", async () => {
  const inQuery = await loadError(config(ONE_EXPORT.replace("SELECT 1", "SELECT ${NOPE}")));
  assert.match(inQuery, /:6: export 'users': exports\[0\]\.query: \$\{NOPE\} is not set/);
  const urlEnv = await loadError(
    config(ONE_EXPORT, "source:\n  type: postgres\n  url_env: NOPE\n"),
  );
  assert.match(urlEnv, /source\.url_env: environment variable 'NOPE' is not set/);
  const pwEnv = await loadError(config(
    ONE_EXPORT,
    "source:\n  type: postgres\n  host: h\n  user: u\n  database: d\n  password_env: NOPE\n",
  ));
  assert.match(pwEnv, /:6: source\.password_env: environment variable 'NOPE' is not set/);
});

Deno.test("config errors: url and structured fields are never mixed", async () => {
  const mixed = await loadError(config(ONE_EXPORT, `${SOURCE}  host: other\n`));
  assert.match(
    mixed,
    /use either URL-based config \(url\) or structured fields \(host\), not both/,
  );
  const two = await loadError(config(ONE_EXPORT, `${SOURCE}  url_env: X\n`));
  assert.match(two, /exactly one of 'url', 'url_env' or 'url_file'/);
});

Deno.test("config errors: duplicate names, empty export list, compression levels", async () => {
  const dup = await loadError(config(ONE_EXPORT + ONE_EXPORT));
  assert.match(dup, /:12: export 'users': exports\[1\]\.name: duplicate export name 'users'/);
  const empty = await loadError(`${SOURCE.trim()}\nexports: []\n`);
  assert.match(empty, /exports: the list is empty/);
  const zstd = await loadError(
    config(ONE_EXPORT.replace("format: parquet", "format: parquet\n    compression_level: 23")),
  );
  assert.match(zstd, /:8: export 'users': .*zstd compression_level must be 1\.\.22, got 23/);
  const gzip = await loadError(config(ONE_EXPORT.replace(
    "format: parquet",
    "format: parquet\n    compression: gzip\n    compression_level: 10",
  )));
  assert.match(gzip, /gzip compression_level must be 0\.\.9, got 10/);
  const snappy = await loadError(config(ONE_EXPORT.replace(
    "format: parquet",
    "format: parquet\n    compression: snappy\n    compression_level: 3",
  )));
  assert.match(snappy, /only supported for zstd and gzip/);
});

Deno.test("config errors: incremental needs cursor_column; query xor query_file", async () => {
  const inc = await loadError(
    config(ONE_EXPORT.replace("format:", "mode: incremental\n    format:")),
  );
  assert.match(
    inc,
    /export 'users': exports\[0\]\.mode: incremental mode requires 'cursor_column'/,
  );
  const none = await loadError(config(ONE_EXPORT.replace('    query: "SELECT 1"\n', "")));
  assert.match(none, /must specify 'query' or 'query_file'/);
});

Deno.test("config errors: later-release keys are named as not supported, not ignored", async () => {
  const anonymous = await loadError(
    config(ONE_EXPORT.replace("type: local", "type: gcs\n      allow_anonymous: true")),
  );
  assert.match(anonymous, /'allow_anonymous' \(anonymous GCS access\) is not supported yet/);
  const memory = await loadError(
    config(ONE_EXPORT, `${SOURCE}  tuning:\n    memory_threshold_mb: 512\n`),
  );
  assert.match(memory, /:5: .*'memory_threshold_mb' \(memory thresholds\) is not supported yet/);
});

Deno.test("config errors: a bad URL never echoes the password", async () => {
  const msg = await loadError(
    config(ONE_EXPORT, 'source:\n  type: postgres\n  url: "mysql://u:hunter2pw@h/d"\n'),
  );
  assert.match(msg, /source\.url: url must start with postgres:\/\/ or postgresql:\/\//);
  assert.ok(!msg.includes("hunter2pw"));
});

Deno.test("config: chunked, time_window, max_file_size, meta_columns and memory batches resolve", async () => {
  await withTempDir(async (dir) => {
    const path = await writeFile(
      dir,
      "rivet.yaml",
      `source:
  type: postgres
  url: "postgresql://u@h/d"
  tuning: { profile: safe, batch_size_memory_mb: 64 }
exports:
  - name: chunks
    query: "SELECT * FROM \${TABLE}"
    mode: chunked
    chunk_column: \${KEY}
    parallel: 4
    max_file_size: 1.5GB
    meta_columns: { row_hash: true }
    destination: { type: local, path: "./\${TABLE}" }
  - name: recent
    query: "SELECT * FROM events"
    mode: time_window
    time_column: at
    days_window: 7
    destination: { type: stdout }
`,
    );
    const cfg = await loadConfig(path, { params: { TABLE: "orders", KEY: "id" } });
    assert.equal(cfg.source.tuning.batchSizeMemoryMb, 64);
    assert.equal(cfg.source.tuning.batchSize, 2000, "the profile's, unused with a memory budget");
    const [chunks, recent] = cfg.exports;
    assert.deepEqual(chunks.mode, {
      kind: "chunked",
      chunkColumn: "id",
      chunkSize: 100_000,
      parallel: 4,
    });
    assert.equal(chunks.query, "SELECT * FROM orders");
    assert.equal(chunks.maxFileSize, Math.floor(1.5 * 1024 ** 3));
    assert.deepEqual(chunks.metaColumns, { exportedAt: false, rowHash: true });
    assert.deepEqual(chunks.destination, { type: "local", path: join(dir, "orders") });
    assert.deepEqual(recent.mode, {
      kind: "time_window",
      timeColumn: "at",
      timeColumnType: "timestamp",
      daysWindow: 7,
    });
    assert.equal(recent.maxFileSize, undefined);
  });
});

Deno.test("config errors: mode keys, sizes, memory batches and stdout each name their key and line", async () => {
  const exp = (extra: string, destination = "destination: { type: local, path: ./out }") =>
    `source:\n  type: mysql\n  url: "mysql://u@h/d"\nexports:\n  - name: e\n    query: "SELECT 1"\n${
      extra.split("\n").map((l) => `    ${l}`).join("\n")
    }\n    ${destination}\n`;
  assert.match(
    await loadError(exp("mode: chunked")),
    /:7: export 'e': exports\[0\]\.mode: chunked mode requires 'chunk_column'/,
  );
  assert.match(
    await loadError(exp("mode: time_window\ntime_column: at")),
    /:7: export 'e': exports\[0\]\.mode: time_window mode requires 'days_window'/,
  );
  assert.match(
    await loadError(exp("chunk_column: id")),
    /:7: export 'e': exports\[0\]\.chunk_column: only used with mode: chunked \(mode is full\)/,
  );
  assert.match(
    await loadError(exp("mode: incremental\ncursor_column: id\nparallel: 2")),
    /:9: export 'e': exports\[0\]\.parallel: only used with mode: chunked \(mode is incremental\)/,
  );
  assert.match(
    await loadError(exp("max_file_size: 12 parsecs")),
    /:7: export 'e': exports\[0\]\.max_file_size: '12 parsecs' is not a size \(use e\.g\. 512MB, 1\.5GB, 300KB\)/,
  );
  assert.match(
    await loadError(exp("mode: chunked\nchunk_column: id", "destination: { type: stdout }")),
    /export 'e': exports\[0\]\.destination: a stdout destination carries one file, but mode: chunked writes several/,
  );
  assert.match(
    await loadError(exp("time_column_type: epoch\nmode: time_window")),
    /exports\[0\]\.time_column_type: must be one of timestamp \| unix/,
  );
  const both = await loadError(
    'source:\n  type: mysql\n  url: "mysql://u@h/d"\n  tuning:\n    batch_size: 100\n    batch_size_memory_mb: 64\nexports:\n  - { name: e, query: "SELECT 1", destination: { type: stdout } }\n',
  );
  assert.match(
    both,
    /:6: source\.tuning: batch_size and batch_size_memory_mb are mutually exclusive \(set one\)/,
  );
});

Deno.test("config: S3 and GCS destinations resolve their keys; S3 keys are both or neither, read from the named variables", async () => {
  const dest = (lines: string) =>
    `source:\n  type: postgres\n  url: "postgresql://u@h/d"\nexports:\n  - name: e\n    query: "SELECT 1"\n    destination:\n${
      lines.split("\n").map((l) => `      ${l}`).join("\n")
    }\n`;
  await withTempDir(async (dir) => {
    const s3 = await writeFile(
      dir,
      "s3.yaml",
      dest(
        "type: s3\nbucket: data\nprefix: exports/\nregion: eu-west-1\nendpoint: http://127.0.0.1:9000\naccess_key_env: MY_KEY\nsecret_key_env: MY_SECRET",
      ),
    );
    const env: Record<string, string> = {
      MY_KEY: "AKIAEXAMPLE",
      MY_SECRET: "wJalrXUtnFEMIK7MDENG",
    };
    const cfg = await loadConfig(s3, { env: (n) => env[n] });
    assert.deepEqual(cfg.exports[0].destination, {
      type: "s3",
      bucket: "data",
      prefix: "exports/",
      region: "eu-west-1",
      endpoint: "http://127.0.0.1:9000",
      keys: {
        accessKeyEnv: "MY_KEY",
        secretKeyEnv: "MY_SECRET",
        accessKeyId: "AKIAEXAMPLE",
        secretAccessKey: "wJalrXUtnFEMIK7MDENG",
      },
    });
    const gcs = await writeFile(
      dir,
      "gcs.yaml",
      dest("type: gcs\nbucket: lake\ncredentials_file: keys/sa.json"),
    );
    assert.deepEqual((await loadConfig(gcs)).exports[0].destination, {
      type: "gcs",
      bucket: "lake",
      prefix: "",
      credentialsFile: join(dir, "keys", "sa.json"),
    });
  });
  assert.match(
    await loadError(dest("type: s3\nbucket: data\naccess_key_env: MY_KEY")),
    /:8: export 'e': exports\[0\]\.destination: S3 needs both access_key_env and secret_key_env, or neither \(the default AWS credential chain\); 'secret_key_env' is missing/,
  );
  assert.match(
    await loadError(dest("type: s3\nbucket: data\naccess_key_env: MY_KEY\nsecret_key_env: NOPE"), {
      MY_KEY: "k",
    }),
    /:11: export 'e': exports\[0\]\.destination\.secret_key_env: environment variable NOPE is not set/,
  );
  assert.match(
    await loadError(dest("type: gcs\nprefix: x/")),
    /:8: export 'e': exports\[0\]\.destination: a gcs destination requires 'bucket'/,
  );
  assert.match(
    await loadError(dest("type: local\npath: ./out\nbucket: data")),
    /:10: export 'e': exports\[0\]\.destination\.bucket: not used by a local destination/,
  );
  assert.match(
    await loadError(dest("type: s3\nbucket: data\ncredentials_file: sa.json")),
    /exports\[0\]\.destination\.credentials_file: not used by a s3 destination/,
  );
});

Deno.test("config: quality resolves its rules with defaults; absent, the export has none", async () => {
  await withTempDir(async (dir) => {
    const yaml = config(
      ONE_EXPORT.replace(
        "format: parquet",
        "format: parquet\n    quality:\n      row_count_min: 1\n      null_ratio_max: { email: 0.1 }",
      ) + ONE_EXPORT.replace("name: users", "name: plain"),
    );
    const [checked, plain] = (await loadConfig(await writeFile(dir, "rivet.yaml", yaml))).exports;
    assert.deepEqual(checked.quality, {
      rowCountMin: 1,
      nullRatioMax: { email: 0.1 },
      uniqueColumns: [],
      // Where the columns are named, for the error if the query turns out not to return them.
      sites: {
        nullRatioMax: {
          email: {
            file: join(dir, "rivet.yaml"),
            line: 10,
            key: "exports[0].quality.null_ratio_max.email",
          },
        },
        uniqueColumns: [],
      },
    });
    assert.equal(plain.quality, undefined);
    assert.equal("quality" in plain, false);
  });
});

Deno.test("config errors: quality rules name their key and line", async () => {
  const exp = (extra: string) =>
    `source:\n  type: postgres\n  url: "postgresql://u@h/d"\nexports:\n  - name: e\n    query: "SELECT 1"\n${
      extra.split("\n").map((l) => `    ${l}`).join("\n")
    }\n    destination: { type: local, path: ./out }\n`;
  assert.match(
    await loadError(exp("quality:\n  row_count_min: 10\n  row_count_max: 5")),
    /:8: export 'e': exports\[0\]\.quality\.row_count_min: 10 is above row_count_max \(5\)/,
  );
  assert.match(
    await loadError(exp("quality:\n  unique_columns:\n    - id\n    - email\n    - id")),
    /:11: export 'e': exports\[0\]\.quality\.unique_columns: 'id' is listed twice/,
  );
  const chunked = await loadError(
    exp("mode: chunked\nchunk_column: id\nquality:\n  row_count_min: 1"),
  );
  assert.match(
    chunked,
    /:9: export 'e': exports\[0\]\.quality: not supported with mode: chunked; a chunked run delivers each window as soon as it is finished, so rules about the whole result cannot be checked before delivery \(check a full or incremental export of the same query instead, or drop quality\)/,
  );
  assert.match(
    await loadError(exp("quality:\n  null_ratio_max: { email: 1.5 }")),
    /:8: export 'e': exports\[0\]\.quality\.null_ratio_max\.email: must be <= 1/,
  );
  assert.match(
    await loadError(exp("quality:\n  row_count_minimum: 1")),
    /:8: .*exports\[0\]\.quality\.row_count_minimum: unknown key 'row_count_minimum' \(did you mean 'row_count_min'\?\)/,
  );
});

// Regressions found by tests/config_fuzz_test.ts: each was an exception other than ConfigError, or
// a message that was not one line naming the file and line.

Deno.test("config errors: an alias to no anchor, or an alias bomb, is a YAML error at its line", async () => {
  const exportWith = (destination: string) =>
    config(ONE_EXPORT.replace(/destination:\n.*\n.*\n$/, `destination: ${destination}\n`));
  assert.match(
    await loadError(exportWith("*nowhere")),
    /rivet\.yaml:8: YAML error: Unresolved alias \(the anchor must be set before the alias\): nowhere$/,
  );
  const lol = (name: string, of: string) => `${name}: &${name} [${Array(9).fill(of).join(", ")}]`;
  const bomb = [lol("a", "lol"), lol("b", "*a"), lol("c", "*b"), lol("d", "*c")].join("\n");
  assert.match(
    await loadError(`${bomb}\n${config(ONE_EXPORT)}`),
    /rivet\.yaml:2: YAML error: Excessive alias count indicates a resource exhaustion attack$/,
  );
});

Deno.test("config errors: control characters in echoed values are escaped, keeping one line", async () => {
  const format = await loadError(
    config(ONE_EXPORT.replace("format: parquet", 'format: "parquet\\nrm -rf\\t/"')),
  );
  assert.match(
    format,
    /rivet\.yaml:7: export 'users': exports\[0\]\.format: must be one of parquet \| csv, got string 'parquet\\nrm -rf\\t\/'$/,
  );
  const name = await loadError(config(ONE_EXPORT.replace("name: users", 'name: "a\\u2028b\\r"')));
  assert.ok(!/[\n\r\u2028]/.test(name), name);
  assert.match(
    name,
    /:5: export 'a\\u2028b\\r': exports\[0\]\.name: 'a\\u2028b\\r' is not a valid/,
  );
});

Deno.test("config errors: .nan and .inf are named as written, not as NaN", async () => {
  const tuning = (value: string) => `${SOURCE}  tuning:\n    batch_size: ${value}\n`;
  assert.match(
    await loadError(config(ONE_EXPORT, tuning(".nan"))),
    /rivet\.yaml:5: source\.tuning\.batch_size: must be an integer, got number \.nan$/,
  );
  assert.match(
    await loadError(config(ONE_EXPORT, tuning("-.inf"))),
    /source\.tuning\.batch_size: must be an integer, got number -\.inf$/,
  );
});

Deno.test("config errors: counts and sizes beyond 2^53 are refused, not loaded inexact", async () => {
  const tuning = (value: string) => `${SOURCE}  tuning:\n    retry_backoff_ms: ${value}\n`;
  assert.match(
    await loadError(config(ONE_EXPORT, tuning("1e300"))),
    /:5: source\.tuning\.retry_backoff_ms: must be <= 9007199254740991, got number 1e\+300$/,
  );
  assert.match(
    await loadError(config(ONE_EXPORT, tuning("9007199254740992"))),
    /retry_backoff_ms: must be <= 9007199254740991/,
  );
  for (const size of ["1e300", "99999999999999999999TB", `"${"1".repeat(400)}"`]) {
    const msg = await loadError(
      config(ONE_EXPORT.replace("format: parquet", `format: parquet\n    max_file_size: ${size}`)),
    );
    assert.match(msg, /:8: export 'users': exports\[0\]\.max_file_size: '.*' is not a size/);
  }
});

Deno.test("config errors: timeouts the servers cannot hold (over 2^31 - 1 ms) are refused", async () => {
  for (const key of ["statement_timeout_s", "lock_timeout_s"]) {
    const yaml = config(ONE_EXPORT, `${SOURCE}  tuning:\n    ${key}: 2147484\n`);
    assert.match(
      await loadError(yaml),
      new RegExp(`:5: source\\.tuning\\.${key}: must be <= 2147483, got number 2147484$`),
    );
  }
});

Deno.test("config errors: an empty config names line 1", async () => {
  for (const text of ["", "\n", "# nothing here\n"]) {
    assert.match(
      await loadError(text),
      /rivet\.yaml:1: the config must be a YAML mapping with 'source' and 'exports'$/,
    );
  }
});

Deno.test("config errors: a key of several types names them in words", async () => {
  const msg = await loadError(
    config(ONE_EXPORT.replace("format: parquet", "format: parquet\n    max_file_size: [1]")),
  );
  assert.match(msg, /:8: .*max_file_size: must be a string or an integer, got a list$/);
});
