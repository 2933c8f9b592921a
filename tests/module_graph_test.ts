/**
 * A compiled `rivet` binary cannot load native Node addons, so none may be reachable from the
 * program: the module graph of cli.ts (and of the Parquet encoder worker, which the graph does not
 * follow), as `deno info --json` reports it, and every npm package those modules depend on,
 * transitively, must be free of native code. Test-only packages such as DuckDB stay in tests/.
 */
import assert from "node:assert/strict";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("../", import.meta.url));

/** The entry points of the program: the CLI, and the worker started by URL. */
const PROGRAM = ["cli.ts", "src/writer/parquet_encoder.ts"];

/** Package names known to be native addons, whatever their files look like. */
const NATIVE_NAMES = [/^@duckdb\//];

/** The npm package directories the modules of `roots` import directly. */
async function importedPackages(roots: string[]): Promise<Set<string>> {
  const dirs = new Set<string>();
  for (const root of roots) {
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["info", "--json", root],
      cwd: ROOT,
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
    const info = JSON.parse(new TextDecoder().decode(out.stdout)) as {
      modules: { specifier: string }[];
    };
    for (const { specifier } of info.modules) {
      if (!specifier.startsWith("file:")) continue;
      const dir = packageDirOf(fileURLToPath(specifier));
      if (dir !== undefined) dirs.add(dir);
    }
  }
  return dirs;
}

/** `/…/node_modules/@scope/name` or `/…/node_modules/name` of a file inside a package. */
function packageDirOf(path: string): string | undefined {
  const at = path.lastIndexOf("/node_modules/");
  if (at < 0) return undefined;
  const parts = path.slice(at + "/node_modules/".length).split("/");
  const name = parts[0].startsWith("@") ? parts.slice(0, 2).join("/") : parts[0];
  return join(path.slice(0, at), "node_modules", name);
}

interface PackageJson {
  name: string;
  gypfile?: boolean;
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
}

async function packageJson(dir: string): Promise<PackageJson> {
  return JSON.parse(await Deno.readTextFile(join(dir, "package.json")));
}

/** Node's lookup: the nearest `node_modules/<name>` from `from` upwards. */
async function resolvePackage(name: string, from: string): Promise<string | undefined> {
  for (let dir = from; dir !== dirname(dir); dir = dirname(dir)) {
    const candidate = join(dir, "node_modules", name);
    try {
      await Deno.stat(join(candidate, "package.json"));
      return candidate;
    } catch {
      // Not here: one level up.
    }
  }
  return undefined;
}

/** Every package reachable from `start` through dependencies (optional ones when installed). */
async function closure(start: Set<string>): Promise<Map<string, PackageJson>> {
  const seen = new Map<string, PackageJson>();
  const queue = [...start];
  while (queue.length > 0) {
    const dir = queue.pop()!;
    if (seen.has(dir)) continue;
    const pkg = await packageJson(dir);
    seen.set(dir, pkg);
    const deps = { ...pkg.dependencies, ...pkg.optionalDependencies };
    for (const name of Object.keys(deps)) {
      const found = await resolvePackage(name, dir);
      if (found !== undefined) queue.push(found);
    }
  }
  return seen;
}

/** Why the package at `dir` is native code, or `undefined`. */
async function nativeReason(dir: string, pkg: PackageJson): Promise<string | undefined> {
  if (NATIVE_NAMES.some((re) => re.test(pkg.name))) return "a known native addon";
  if (pkg.gypfile) return "package.json says gypfile";
  const stack = [dir];
  while (stack.length > 0) {
    const current = stack.pop()!;
    for await (const entry of Deno.readDir(current)) {
      if (entry.name === "node_modules") continue;
      const path = join(current, entry.name);
      if (entry.isDirectory) stack.push(path);
      else if (entry.name === "binding.gyp" || entry.name.endsWith(".node")) {
        return `ships ${path.slice(dir.length + 1)}`;
      }
    }
  }
  return undefined;
}

async function nativePackages(roots: string[]): Promise<string[]> {
  const found: string[] = [];
  for (const [dir, pkg] of await closure(await importedPackages(roots))) {
    const why = await nativeReason(dir, pkg);
    if (why !== undefined) found.push(`${pkg.name} (${why})`);
  }
  return found.sort();
}

Deno.test("no native addon is reachable from the program's module graph", async () => {
  const packages = await closure(await importedPackages(PROGRAM));
  // The walk does reach the program's npm dependencies, transitively.
  const names = new Set([...packages.values()].map((p) => p.name));
  for (
    const name of ["pg", "mysql2", "parquet-wasm", "@aws-sdk/client-s3", "google-auth-library"]
  ) {
    assert.ok(names.has(name), `${name} not reached`);
  }
  assert.deepEqual(await nativePackages(PROGRAM), []);
});

Deno.test("the check sees a native addon where there is one: DuckDB, used by the tests", async () => {
  const found = await nativePackages(["tests/support/read_parquet.ts"]);
  assert.ok(found.some((p) => p.startsWith("@duckdb/node-bindings-linux-x64 (")), found.join());
});
