import assert from "node:assert/strict";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { rivet } from "./support/cli.ts";
import { withTempDir, writeFile } from "./support/files.ts";

const CONFIG = `
source:
  type: postgres
  url: "postgresql://postgres:topsecretpw@127.0.0.1:1/test"
  tuning:
    max_retries: 0
exports:
  - name: users
    query: "SELECT 1 AS one"
    destination:
      type: local
      path: ./out
`;

Deno.test("cli: --help and --version exit 0", async () => {
  const help = await rivet(["--help"]);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /run .*state.*metrics/s);
  const runHelp = await rivet(["run", "--help"]);
  assert.equal(runHelp.code, 0);
  assert.match(runHelp.stdout, /--config <path>/);
  assert.match(runHelp.stdout, /--param <key=value>/);
  for (const args of [["--version"], ["run", "--version"], ["state", "show", "--version"]]) {
    const version = await rivet(args);
    assert.equal(version.code, 0, args.join(" "));
    assert.match(version.stdout.trim(), /^\d+\.\d+\.\d+$/);
  }
  for (const args of [["state", "reset", "--help"], ["metrics", "--help"]]) {
    const help = await rivet(args);
    assert.equal(help.code, 0, args.join(" "));
    assert.match(help.stdout, /--config <path>/);
  }
});

Deno.test("cli: usage errors exit 1 with one clear line", async () => {
  const noConfig = await rivet(["run"]);
  assert.equal(noConfig.code, 1);
  assert.match(noConfig.stderr, /required option '-c, --config <path>' not specified/);
  const unknownFlag = await rivet(["run", "--config", "x.yaml", "--bogus"]);
  assert.equal(unknownFlag.code, 1);
  assert.match(unknownFlag.stderr, /unknown option '--bogus'/);
  const missing = await rivet(["run", "--config", "/nonexistent/rivet.yaml"]);
  assert.equal(missing.code, 1);
  assert.equal(missing.stderr.trim(), "error: config file not found: /nonexistent/rivet.yaml");
  const badParam = await rivet(["run", "--config", "x.yaml", "--param", "novalue"]);
  assert.equal(badParam.code, 1);
  assert.match(badParam.stderr, /--param expects key=value, got 'novalue'/);
  const badShell = await rivet(["completions", "tcsh"]);
  assert.equal(badShell.code, 1);
  assert.match(
    badShell.stderr,
    /value 'tcsh' is invalid for argument 'shell'\. Allowed choices are bash, zsh, fish, powershell/,
  );
});

Deno.test("cli: unknown export names are errors for run, state reset, state files, metrics", async () => {
  await withTempDir(async (dir) => {
    const config = await writeFile(dir, "rivet.yaml", CONFIG);
    for (
      const args of [
        ["run", "--config", config, "--export", "nope"],
        ["state", "reset", "--config", config, "--export", "nope"],
        ["state", "files", "--config", config, "--export", "nope"],
        ["metrics", "--config", config, "--export", "nope"],
      ]
    ) {
      const r = await rivet(args);
      assert.equal(r.code, 1, args.join(" "));
      assert.match(r.stderr, /unknown export 'nope' \(exports in .*: users\)/);
    }
  });
});

Deno.test("cli: empty state prints friendly messages", async () => {
  await withTempDir(async (dir) => {
    const config = await writeFile(dir, "rivet.yaml", CONFIG);
    assert.equal(
      (await rivet(["state", "show", "-c", config])).stdout,
      "No export state recorded yet.\n",
    );
    assert.equal(
      (await rivet(["state", "files", "-c", config])).stdout,
      "No files recorded yet.\n",
    );
    assert.equal((await rivet(["metrics", "-c", config])).stdout, "No metrics recorded yet.\n");
    const reset = await rivet(["state", "reset", "-c", config, "-e", "users"]);
    assert.equal(reset.code, 0);
    assert.match(reset.stdout, /No state recorded for export 'users'/);
  });
});

Deno.test("cli: unreachable database fails with exit 2 and never prints the password", async () => {
  await withTempDir(async (dir) => {
    const config = await writeFile(dir, "rivet.yaml", CONFIG);
    const r = await rivet(["run", "--config", config]);
    assert.equal(r.code, 2);
    assert.match(r.stdout, /status:\s+failed/);
    assert.match(r.stdout + r.stderr, /error:.*(refused|connect)/i);
    assert.ok(!(r.stdout + r.stderr).includes("topsecretpw"));
    const metrics = await rivet(["metrics", "-c", config]);
    assert.match(metrics.stdout, /users\s+failed/);
  });
});

Deno.test("cli: a state database from a newer rivet is refused with exit 1 by every command, and left untouched", async () => {
  await withTempDir(async (dir) => {
    const config = await writeFile(dir, "rivet.yaml", CONFIG);
    const path = join(dir, ".rivet_state.db");
    const db = new DatabaseSync(path);
    db.exec("CREATE TABLE schema_version (version INTEGER NOT NULL)");
    db.exec("INSERT INTO schema_version (version) VALUES (999)");
    db.close();
    for (const args of [["run"], ["state", "show"], ["state", "files"], ["metrics"]]) {
      const r = await rivet([...args, "-c", config]);
      assert.equal(r.code, 1, args.join(" "));
      assert.match(
        r.stderr,
        /^error: state database schema version 999 is newer than this rivet supports \(\d+\); upgrade rivet\n$/,
      );
    }
    const after = new DatabaseSync(path);
    const tables = after.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all();
    after.close();
    assert.deepEqual(tables.map((t) => t.name), ["schema_version"], "nothing was migrated");
  });
});
