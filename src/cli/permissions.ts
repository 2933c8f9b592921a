/**
 * `rivet permissions`: prints the narrowest Deno permissions a `rivet run` of the config needs,
 * as `deno run` flags, a deno.json permission set, or a `deno install` command line.
 *
 * The config is loaded as a run loads it, in this environment: the hosts and files it names can
 * come from `${VAR}`s, `url_env` or `url_file`, so the flags are right for runs in the same
 * environment.
 *
 * @module
 */
import { Command, Option } from "commander";
import { fileURLToPath } from "node:url";
import meta from "../../deno.json" with { type: "json" };
import { loadConfig } from "../config/load.ts";
import { selectExports } from "../pipeline/run.ts";
import {
  formatPermissions,
  PERMISSION_FORMATS,
  type PermissionFormat,
} from "../preflight/permission_format.ts";
import {
  derivePermissions,
  type PermissionSet,
  type Surroundings,
} from "../preflight/permissions.ts";
import { ExitCode } from "../errors.ts";
import { collect, configOption, type SetExit } from "./options.ts";
import { osTempDir } from "../util/temp_dir.ts";
import { printOut } from "./output.ts";
import { collectParam } from "./run.ts";

/** Options of `rivet permissions`. */
interface PermissionsOptions {
  config: string;
  export?: string[];
  format: PermissionFormat;
  param?: Record<string, string>;
}

/** The `permissions` command. */
export function permissionsCommand(setExit: SetExit): Command {
  return new Command("permissions")
    .description("print the narrowest Deno permissions a run of the config needs")
    .addOption(configOption())
    .option("-e, --export <name>", "only the exports named (repeatable)", collect)
    .addOption(
      new Option("--format <format>", "flags, a deno.json permission set, or a deno install line")
        .choices(PERMISSION_FORMATS)
        .default("flags"),
    )
    .option(
      "-p, --param <key=value>",
      "value for ${key} placeholders, as the run will get it (repeatable; wins over env)",
      (v: string, prev: Record<string, string>) => collectParam(v, prev),
    )
    .action(async (opts: PermissionsOptions) => setExit(await permissions(opts)));
}

async function permissions(options: PermissionsOptions): Promise<number> {
  const set = await configPermissions(options.config, {
    exports: options.export,
    params: options.param,
  });
  printOut(formatPermissions(set, options.format, meta.version));
  return ExitCode.Ok;
}

/** Options of {@link configPermissions}. */
export interface ConfigPermissionsOptions {
  /** Only these exports (all when absent or empty). */
  exports?: string[];
  /** `--param` values, as the run will get them. */
  params?: Record<string, string>;
  /**
   * The program's modules are embedded in a compiled binary, which may always read them: no read
   * permission for its source directory.
   */
  embedded?: boolean;
}

/**
 * The permissions a run of the config at `path` needs on this machine: the config is loaded as a
 * run loads it, noting every variable it reads.
 */
export async function configPermissions(
  path: string,
  options: ConfigPermissionsOptions = {},
): Promise<PermissionSet> {
  const configEnv = new Set<string>();
  const config = await loadConfig(path, {
    params: options.params,
    env: (name) => {
      configEnv.add(name);
      return Deno.env.get(name);
    },
  });
  const exports = selectExports(config, options.exports);
  return derivePermissions(
    config,
    exports,
    surroundings([...configEnv], options.embedded ?? false),
  );
}

/** This machine's and this program's side of the derivation. */
function surroundings(configEnv: string[], embedded: boolean): Surroundings {
  const env = (name: string) => Deno.env.get(name) || undefined;
  const home = Deno.build.os === "windows" ? env("USERPROFILE") : env("HOME");
  const src = new URL("../", import.meta.url);
  return {
    configEnv,
    env,
    tempDir: osTempDir(env),
    ...(home === undefined ? {} : { home }),
    ...(src.protocol === "file:" && !embedded ? { programDir: fileURLToPath(src) } : {}),
    cwd: Deno.cwd(),
    os: Deno.build.os,
  };
}
