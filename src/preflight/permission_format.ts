/**
 * Renders a {@link PermissionSet} the three ways `rivet permissions --format` offers: `deno run`
 * flags, a permission set for deno.json (`deno run -P=rivet`), or a `deno install` command line.
 * The flags and the install line carry rivet's runtime flags too (`runtime_flags.ts`); a
 * permission set cannot hold them.
 *
 * @module
 */
import { PERMISSION_NAMES, type PermissionSet } from "./permissions.ts";
import { RUNTIME_FLAGS } from "./runtime_flags.ts";

/** The output formats of `rivet permissions`. */
export const PERMISSION_FORMATS = ["flags", "deno-json", "install"] as const;

/** One of {@link PERMISSION_FORMATS}. */
export type PermissionFormat = typeof PERMISSION_FORMATS[number];

/** The name of the permission set in the deno-json format. */
export const PERMISSION_SET_NAME = "rivet";

/**
 * The `--allow-*` arguments, one per non-empty permission, unquoted (for an argument list).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 *
 * const set = { net: ["db:5432"], env: ["PG*", "USER"], read: ["/a"], write: [], sys: [] };
 * assert.deepEqual(permissionArgs(set), [
 *   "--allow-net=db:5432",
 *   "--allow-env=PG*,USER",
 *   "--allow-read=/a",
 * ]);
 * ```
 */
export function permissionArgs(set: PermissionSet): string[] {
  const args: string[] = [];
  for (const name of PERMISSION_NAMES) {
    const values = set[name];
    if (values.length === 0) continue;
    for (const value of values) {
      // Deno splits the list at commas: such a value cannot be granted on its own.
      if (value.includes(",")) {
        throw new Error(
          `'${value}' contains a comma, which a Deno --allow-${name} list cannot hold`,
        );
      }
    }
    args.push(`--allow-${name}=${values.join(",")}`);
  }
  return args;
}

/**
 * The text `rivet permissions` prints for `format`; `version` pins the package in the install
 * line.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 *
 * const set = { net: ["db:5432"], env: ["RIVET_LOG"], read: ["/etc/r.yaml"], write: [], sys: [] };
 * assert.equal(
 *   formatPermissions(set, "install", "0.1.0"),
 *   "deno install --global --force --name rivet --allow-net=db:5432 --allow-env=RIVET_LOG " +
 *     "--allow-read=/etc/r.yaml --v8-flags=--max-semi-space-size=2 jsr:@rivet/cli@0.1.0\n",
 * );
 * ```
 */
export function formatPermissions(
  set: PermissionSet,
  format: PermissionFormat,
  version: string,
): string {
  switch (format) {
    case "flags":
      return launchArgs(set).join("\n") + "\n";
    case "deno-json": {
      const entries = PERMISSION_NAMES.filter((name) => set[name].length > 0).map((name) => [
        name,
        set[name],
      ]);
      const permissions = { [PERMISSION_SET_NAME]: Object.fromEntries(entries) };
      return JSON.stringify({ permissions }, null, 2) + "\n";
    }
    case "install":
      return [
        "deno install --global --force --name rivet",
        ...launchArgs(set),
        `jsr:@rivet/cli@${version}`,
      ].join(" ") + "\n";
  }
}

/** The permission flags, then the runtime flags, each quoted for a shell. */
function launchArgs(set: PermissionSet): string[] {
  return [...permissionArgs(set), ...RUNTIME_FLAGS].map(shellQuote);
}

/** Quotes an argument for POSIX shells when it holds anything but plain characters. */
export function shellQuote(arg: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replaceAll("'", `'\\''`)}'`;
}
