/**
 * `deno task compile`: builds a self-contained `rivet` executable with `deno compile`.
 *
 * ```sh
 * deno task compile                                   # dist/rivet for x86_64 Linux
 * deno task compile --target aarch64-apple-darwin     # dist/rivet-aarch64-apple-darwin
 * deno task compile --config rivet.yaml               # that config's narrow permissions baked in
 * deno task compile --list-targets
 * deno task compile --dry-run                         # print the deno compile command only
 * ```
 *
 * A compiled binary carries its permissions; they cannot be changed when it runs. Built for one
 * config (`--config`, with `--export` and `--param` as `rivet permissions` takes them), it gets
 * exactly that config's permissions. Built for any config, it gets file, network and environment
 * access without a list (which config it will read is unknown), the two OS calls its libraries
 * make, and nothing else: no subprocesses, no FFI, no imports from the network. It carries rivet's
 * runtime flags as well (src/preflight/runtime_flags.ts).
 *
 * The Parquet encoder runs in a Worker started from a URL, and the engines, destinations and
 * Parquet writer are imported lazily: `--include` puts each of them into the binary. The
 * WebAssembly of parquet-wasm is an import of the encoder (see src/writer/parquet_encoder.ts), so
 * it is embedded with it. `deno compile` downloads the `denort` runtime of the target from
 * dl.deno.land on first use, or takes `DENORT_BIN`.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { configPermissions } from "../src/cli/permissions.ts";
import { permissionArgs } from "../src/preflight/permission_format.ts";
import { GCE_DETECTION_SYS, S3_SYS } from "../src/preflight/permission_needs.ts";
import { RUNTIME_FLAGS } from "../src/preflight/runtime_flags.ts";

/** The targets `deno compile` builds for. */
export const TARGETS = [
  "x86_64-unknown-linux-gnu",
  "aarch64-unknown-linux-gnu",
  "x86_64-apple-darwin",
  "aarch64-apple-darwin",
  "x86_64-pc-windows-msvc",
  "aarch64-pc-windows-msvc",
] as const;

/** The target built when none is named. */
export const DEFAULT_TARGET = "x86_64-unknown-linux-gnu";

/** Modules the graph does not reach by itself: the worker, and every lazy import. */
export const INCLUDES = [
  "src/writer/parquet_encoder.ts",
  "src/writer/parquet.ts",
  "src/source/postgres/mod.ts",
  "src/source/mysql/mod.ts",
  "src/destination/s3.ts",
  "src/destination/gcs.ts",
];

/** The permissions of a binary built for any config (see the module doc). */
export const ANY_CONFIG_PERMISSIONS = [
  "--allow-net",
  "--allow-read",
  "--allow-write",
  "--allow-env",
  `--allow-sys=${[...S3_SYS, ...GCE_DETECTION_SYS].join(",")}`,
];

const ROOT = new URL("../", import.meta.url).pathname;

/** The `deno compile` arguments for `target`, with `permissions`, writing `output`. */
export function compileArgs(target: string, permissions: string[], output: string): string[] {
  return [
    "compile",
    "--target",
    target,
    ...permissions,
    ...RUNTIME_FLAGS,
    ...INCLUDES.flatMap((path) => ["--include", path]),
    "--output",
    output,
    "cli.ts",
  ];
}

function defaultOutput(target: string): string {
  const exe = target.includes("windows") ? ".exe" : "";
  return target === DEFAULT_TARGET ? `dist/rivet${exe}` : `dist/rivet-${target}${exe}`;
}

async function main(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      target: { type: "string", default: DEFAULT_TARGET },
      output: { type: "string" },
      config: { type: "string" },
      export: { type: "string", multiple: true },
      param: { type: "string", multiple: true },
      "list-targets": { type: "boolean" },
      "dry-run": { type: "boolean" },
    },
  });
  if (values["list-targets"]) {
    for (const target of TARGETS) {
      console.log(target === DEFAULT_TARGET ? `${target} (default)` : target);
    }
    return 0;
  }
  const target = values.target;
  if (!(TARGETS as readonly string[]).includes(target)) {
    console.error(`unknown target '${target}'; supported: ${TARGETS.join(", ")}`);
    return 1;
  }
  const permissions = values.config === undefined ? ANY_CONFIG_PERMISSIONS : permissionArgs(
    await configPermissions(values.config, {
      exports: values.export,
      params: Object.fromEntries((values.param ?? []).map((p) => splitParam(p))),
      embedded: true,
    }),
  );
  const command = compileArgs(target, permissions, values.output ?? defaultOutput(target));
  console.error(`deno ${command.join(" ")}`);
  if (values["dry-run"]) return 0;
  const { code } = await new Deno.Command(Deno.execPath(), {
    args: command,
    cwd: ROOT,
    stdin: "null",
    stdout: "inherit",
    stderr: "inherit",
  }).spawn().status;
  if (code !== 0) {
    console.error(
      "deno compile failed; if it could not download the denort runtime, this machine cannot " +
        "reach dl.deno.land: build where it can, or point DENORT_BIN at a denort binary",
    );
  }
  return code;
}

function splitParam(param: string): [string, string] {
  const eq = param.indexOf("=");
  if (eq <= 0) throw new Error(`--param expects key=value, got '${param}'`);
  return [param.slice(0, eq), param.slice(eq + 1)];
}

if (import.meta.main) Deno.exit(await main(Deno.args));
