/**
 * `rivet permissions` end to end: an export from the real PostgreSQL to a local directory runs
 * under exactly the flags the command printed (and nothing else: no prompt, no --allow-all), and
 * fails with one line naming the flag when any one of them is taken away. The file is read back
 * with DuckDB and compared with the table.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { RUNTIME_FLAGS } from "../src/preflight/runtime_flags.ts";
import { rivet } from "./support/cli.ts";
import { postgresDb, withDb } from "./support/engines.ts";
import { listDir, withTempDir, writeFile } from "./support/files.ts";
import { readParquet } from "./support/read_parquet.ts";

const CLI = new URL("../cli.ts", import.meta.url).pathname;
const POSTGRES = { create: postgresDb };

/** The printed flags as arguments: one per line, shell quoting removed. */
function parseFlags(stdout: string): string[] {
  return stdout.trim().split("\n").map((line) => line.replace(/^'(.*)'$/, "$1"));
}

/**
 * `deno run <flags> cli.ts <args>` with only `env` as the environment, and Deno's own cache
 * folder (which Deno reads without permissions).
 */
async function runUnder(flags: string[], args: string[], env: Record<string, string>) {
  const denoDir = Deno.env.get("DENO_DIR") ?? join(Deno.env.get("HOME") ?? "/root", ".cache/deno");
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--no-prompt", ...flags, CLI, ...args],
    env: { ...env, DENO_DIR: denoDir },
    clearEnv: true,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder();
  return { code: out.code, stdout: text.decode(out.stdout), stderr: text.decode(out.stderr) };
}

Deno.test({
  name: "an export runs under exactly the printed flags, and fails naming any flag taken away",
  // The runs under narrow flags end with their own connections; nothing leaks into this process.
  fn: () =>
    withDb(POSTGRES, (db) =>
      withTempDir(async (dir) => {
        await db.exec(`
          CREATE TABLE ${db.ns}.orders (id int PRIMARY KEY, customer text, amount numeric(10,2));
          INSERT INTO ${db.ns}.orders
            SELECT g, 'customer ' || g, g * 1.5 FROM generate_series(1, 500) g;
        `);
        // A staging area of the test's own, so that it is a permission of its own too.
        const staging = join(dir, "staging");
        await Deno.mkdir(staging);
        const out = join(dir, "out");
        const config = await writeFile(
          dir,
          "rivet.yaml",
          `
          source: { type: postgres, url_env: RIVET_PERM_TEST_URL }
          exports:
            - name: orders
              query: SELECT * FROM ${db.ns}.orders ORDER BY id
              mode: incremental
              cursor_column: id
              destination: { type: local, path: ./out }
        `,
        );
        const env = { RIVET_PERM_TEST_URL: db.url, TMPDIR: staging, HOME: dir, RIVET_LOG: "info" };

        const printed = await rivet(["permissions", "--config", config], env);
        assert.equal(printed.code, 0, printed.stderr);
        const flags = parseFlags(printed.stdout);
        assert.deepEqual(flags.map((f) => f.split("=")[0]), [
          "--allow-net",
          "--allow-env",
          "--allow-read",
          "--allow-write",
          ...RUNTIME_FLAGS.map((f) => f.split("=")[0]),
        ]);
        assert.deepEqual(flags.slice(4), RUNTIME_FLAGS);
        assert.equal(flags[0], "--allow-net=127.0.0.1:5432");
        assert.ok(flags[1].split(/[=,]/).includes("RIVET_PERM_TEST_URL"));
        assert.ok(flags[3].split(/[=,]/).includes(out));

        // Taken away one at a time, from the first run on: each permission is needed.
        for (const [i, flag] of flags.slice(0, 4).entries()) {
          const name = flag.split("=")[0];
          const without = flags.filter((_, j) => j !== i);
          const run = await runUnder(without, ["run", "--config", config], env);
          assert.notEqual(run.code, 0, `still ran without ${name}`);
          const lines = run.stderr.split("\n").filter((l) => l.includes("permission missing"));
          assert.equal(lines.length, 1, run.stderr);
          assert.match(lines[0], new RegExp(`permission missing: run with ${name}=\\S`));
          assert.doesNotMatch(run.stderr, /NotCapable|PermissionDenied|^\s+at /m);
        }
        // One entry taken away: the message names that entry.
        const noOut = flags.map((f) =>
          f.startsWith("--allow-write=")
            ? `--allow-write=${f.slice(14).split(",").filter((p) => p !== out).join(",")}`
            : f
        );
        const refused = await runUnder(noOut, ["run", "--config", config], env);
        assert.equal(refused.code, 2);
        assert.match(
          refused.stderr,
          new RegExp(`permission missing: run with --allow-write=${out} `),
        );
        assert.deepEqual(await listDir(out), []);

        const run = await runUnder(flags, ["run", "--config", config], env);
        assert.equal(run.code, 0, run.stderr);
        assert.match(run.stdout, /status: +success/);
        const files = await listDir(out);
        assert.equal(files.length, 1);
        const back = await readParquet(join(out, files[0]));
        const expected = await db.textRows(
          `SELECT id, customer, amount::text FROM ${db.ns}.orders ORDER BY id`,
        );
        assert.deepEqual(
          back.rows.map((r) => [String(r.id), r.customer, String(r.amount)]),
          expected,
        );
        // The state database was written under the same flags: the next run resumes after 500.
        await db.exec(`INSERT INTO ${db.ns}.orders VALUES (501, 'late', 1)`);
        const next = await runUnder(flags, ["run", "--config", config], env);
        assert.equal(next.code, 0, next.stderr);
        assert.match(next.stdout, /rows: +1\n/);
      })),
});
