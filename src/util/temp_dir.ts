/**
 * The OS temp directory as `Deno.makeTempDir` picks it (Rust's `std::env::temp_dir`): `$TMPDIR`,
 * else `/tmp`; on Windows `%TMP%`, `%TEMP%`, then the user's profile. Named explicitly so that a
 * missing permission names the directory, and `rivet permissions` grants the same one.
 *
 * @module
 */

/** The variables {@link osTempDir} reads on this OS. */
export function tempDirVariables(os: typeof Deno.build.os = Deno.build.os): string[] {
  return os === "windows" ? ["TMP", "TEMP", "USERPROFILE"] : ["TMPDIR"];
}

/**
 * The temp directory, read from `env` (whose errors, such as a denied permission, are thrown).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 *
 * assert.equal(osTempDir((name) => ({ TMPDIR: "/var/tmp/" })[name], "linux"), "/var/tmp");
 * assert.equal(osTempDir(() => undefined, "darwin"), "/tmp");
 * ```
 */
export function osTempDir(
  env: (name: string) => string | undefined = (name) => Deno.env.get(name),
  os: typeof Deno.build.os = Deno.build.os,
): string {
  let dir: string | undefined;
  for (const name of tempDirVariables(os)) dir ||= env(name);
  dir ||= os === "windows" ? "C:\\Windows\\Temp" : "/tmp";
  return dir.length > 1 ? dir.replace(/[\\/]+$/, "") : dir;
}
