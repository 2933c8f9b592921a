/**
 * Recognises Deno's missing-permission errors wherever they surface (thrown as they are, wrapped
 * as the cause of a rivet error, or only quoted in a message, as a worker's crash or a driver's
 * error quotes them) and names the flag that would have allowed the access, so a user never has
 * to read a `NotCapable` stack.
 *
 * @module
 */

/** The permission kinds Deno names in its messages. */
export type PermissionKind = "read" | "write" | "net" | "env" | "sys" | "run" | "ffi" | "import";

/** An access the process was not allowed. */
export interface MissingPermission {
  /** Which permission. */
  kind: PermissionKind;
  /** What was accessed (a path, `host:port`, a variable or API name), when Deno says. */
  target?: string;
  /** The flag that allows it, e.g. `--allow-read=/etc/rivet/rivet.yaml`. */
  flag: string;
}

// Deno words it "Requires read access to "/x", run again with the --allow-read flag"; without a
// target ("Requires env access, run again ...") when the whole permission was asked for.
const REQUIRES =
  /Requires (read|write|net|env|sys|run|ffi|import) access(?: to "((?:[^"\\]|\\.)*)")?/;

/**
 * The missing permission behind `err`, searched through its causes and its message; `undefined`
 * when the error is about something else.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 *
 * const denied = new Error(
 *   'cannot write t.csv to /srv/out: Requires write access to "/srv/out", run again with the --allow-write flag',
 * );
 * assert.deepEqual(missingPermission(denied), {
 *   kind: "write",
 *   target: "/srv/out",
 *   flag: "--allow-write=/srv/out",
 * });
 * assert.equal(missingPermission(new Error("connection refused")), undefined);
 * ```
 */
export function missingPermission(err: unknown): MissingPermission | undefined {
  const seen = new Set<unknown>();
  for (let e: unknown = err; e !== undefined && e !== null && !seen.has(e); e = causeOf(e)) {
    seen.add(e);
    const match = REQUIRES.exec(messageOf(e));
    if (match) {
      const kind = match[1] as PermissionKind;
      const target = match[2]?.replace(/\\(.)/g, "$1");
      return { kind, ...(target === undefined ? {} : { target }), flag: flagFor(kind, target) };
    }
  }
  return undefined;
}

/**
 * The one line rivet prints for a missing permission: the flag to add, and the command that
 * prints every flag a config needs.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 *
 * assert.equal(
 *   permissionLine({ kind: "net", target: "db:5432", flag: "--allow-net=db:5432" }, "rivet.yaml"),
 *   "permission missing: run with --allow-net=db:5432 (or run 'rivet permissions --config rivet.yaml' for every flag the config needs)",
 * );
 * ```
 */
export function permissionLine(missing: MissingPermission, configPath?: string): string {
  return `permission missing: run with ${missing.flag} (or run 'rivet permissions --config ${
    configPath ?? "<file>"
  }' for every flag the config needs)`;
}

function flagFor(kind: PermissionKind, target: string | undefined): string {
  if (target === undefined || target === "") return `--allow-${kind}`;
  return `--allow-${kind}=${target}`;
}

function messageOf(err: unknown): string {
  if (err instanceof Error) return err.message;
  if (typeof err === "object" && err !== null && "message" in err) {
    return String((err as { message: unknown }).message);
  }
  return String(err);
}

function causeOf(err: unknown): unknown {
  return typeof err === "object" && err !== null && "cause" in err
    ? (err as { cause: unknown }).cause
    : undefined;
}
