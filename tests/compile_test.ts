/**
 * `deno task compile` builds a working self-contained binary: it prints its version, and runs an
 * export from the real PostgreSQL to a local directory (read back with DuckDB).
 *
 * `deno compile` downloads its `denort` runtime on first use. Where that download cannot be made
 * (no route to dl.deno.land, and no `DENORT_BIN`), the binary tests are reported as ignored with
 * the reason; any other failure of the build fails this file.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { postgresDb, withDb } from "./support/engines.ts";
import { listDir, withTempDir, writeFile } from "./support/files.ts";
import { readParquet } from "./support/read_parquet.ts";
import { INCLUDES } from "../tools/compile.ts";

const ROOT = new URL("../", import.meta.url).pathname;
const VERSION = JSON.parse(await Deno.readTextFile(join(ROOT, "deno.json"))).version as string;

/** Builds the default target into a temp dir; the binary, or why it could not be built. */
async function build(): Promise<{ binary: string } | { unavailable: string }> {
  const dir = await Deno.makeTempDir({ prefix: "rivet-compile-" });
  const binary = join(dir, "rivet");
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["task", "compile", "--output", binary],
    cwd: ROOT,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stderr = new TextDecoder().decode(out.stderr);
  if (out.code === 0) return { binary };
  await Deno.remove(dir, { recursive: true });
  const download = stderr.match(
    /error sending request for url \((https:\/\/dl\.deno\.land\/[^)]+)\)[^\n]*/,
  );
  if (download) {
    return { unavailable: `the denort runtime cannot be downloaded here (${download[1]})` };
  }
  throw new Error(`deno task compile failed:\n${stderr}`);
}

const built = await build();
const unavailable = "unavailable" in built ? ` [skipped: ${built.unavailable}]` : "";
const binary = "binary" in built ? built.binary : "";
if ("binary" in built) {
  globalThis.addEventListener("unload", () => {
    Deno.removeSync(join(binary, ".."), { recursive: true });
  });
}

Deno.test("every lazily imported module and the worker of src/ is --include'd in the binary", async () => {
  const lazy = new Set<string>();
  const pattern = /(?:await import\(|new Worker\(new URL\()"(\.{1,2}\/[^"]+)"/g;
  const walk = async (dir: string): Promise<void> => {
    for await (const entry of Deno.readDir(join(ROOT, dir))) {
      const path = `${dir}/${entry.name}`;
      if (entry.isDirectory) await walk(path);
      else if (path.endsWith(".ts")) {
        const text = await Deno.readTextFile(join(ROOT, path));
        for (const [, specifier] of text.matchAll(pattern)) {
          lazy.add(join(dir, specifier));
        }
      }
    }
  };
  await walk("src");
  assert.ok(lazy.has("src/writer/parquet_encoder.ts"), [...lazy].join());
  assert.deepEqual([...lazy].sort(), [...INCLUDES].sort());
  for (const path of INCLUDES) await Deno.stat(join(ROOT, path));
});

async function runBinary(args: string[], env: Record<string, string> = {}) {
  const out = await new Deno.Command(binary, { args, env, stdin: "null" }).output();
  const text = new TextDecoder();
  return { code: out.code, stdout: text.decode(out.stdout), stderr: text.decode(out.stderr) };
}

Deno.test({
  name: `compiled binary: --version${unavailable}`,
  ignore: unavailable !== "",
  fn: async () => {
    const run = await runBinary(["--version"]);
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stdout.trim(), VERSION);
  },
});

Deno.test({
  name: `compiled binary: a Parquet export from PostgreSQL to a local directory${unavailable}`,
  ignore: unavailable !== "",
  fn: () =>
    withDb({ create: postgresDb }, (db) =>
      withTempDir(async (dir) => {
        await db.exec(`
          CREATE TABLE ${db.ns}.t (id int PRIMARY KEY, name text);
          INSERT INTO ${db.ns}.t SELECT g, 'n' || g FROM generate_series(1, 100) g;
        `);
        const config = await writeFile(
          dir,
          "rivet.yaml",
          `
          source: { type: postgres, url: "${db.url}" }
          exports:
            - name: t
              query: SELECT * FROM ${db.ns}.t ORDER BY id
              destination: { type: local, path: ./out }
        `,
        );
        const run = await runBinary(["run", "--config", config]);
        assert.equal(run.code, 0, run.stderr);
        const [file] = await listDir(join(dir, "out"));
        const back = await readParquet(join(dir, "out", file));
        assert.equal(back.rows.length, 100);
        assert.deepEqual(back.rows[99], { id: 100, name: "n100" });
      })),
});
