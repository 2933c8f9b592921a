/**
 * `--export NAME` resolution, shared by every command that takes it: a name the config does not
 * define is a usage error listing the names it does, never a silent no-op.
 *
 * @module
 */
import { ConfigError } from "../errors.ts";

/**
 * Throws a {@link ConfigError} naming every entry of `wanted` that is not in `known`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 *
 * requireExportNames(["users", "orders"], ["orders"], "rivet.yaml");
 * assert.throws(
 *   () => requireExportNames(["users"], ["order"], "rivet.yaml"),
 *   /unknown export 'order' \(exports in rivet.yaml: users\)/,
 * );
 * ```
 */
export function requireExportNames(
  known: readonly string[],
  wanted: readonly string[],
  configPath: string,
): void {
  const unknown = wanted.filter((n) => !known.includes(n));
  if (unknown.length === 0) return;
  throw new ConfigError(
    `unknown export ${unknown.map((n) => `'${n}'`).join(", ")} (exports in ${configPath}: ${
      known.join(", ") || "none"
    })`,
  );
}
