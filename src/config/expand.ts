/**
 * `${NAME}` placeholder expansion: `--param NAME=value` wins over the environment.
 *
 * A missing variable is an error (never an empty string): an empty URL or a query with a hole in
 * it would otherwise run against the wrong thing.
 *
 * @module
 */

const PLACEHOLDER = /\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g;

/** Where placeholder values come from. */
export interface Variables {
  params: Readonly<Record<string, string>>;
  env: (name: string) => string | undefined;
}

/**
 * Reads an environment variable. A denied permission is thrown, not taken for "not set": the
 * variable may well be set, and the error names the `--allow-env` entry the run lacks.
 */
export function readEnv(name: string): string | undefined {
  return Deno.env.get(name);
}

/** Thrown by {@link expandPlaceholders} with the first unresolved name. */
export class MissingVariableError extends Error {
  constructor(readonly variable: string) {
    super(
      `\${${variable}} is not set: export the environment variable ${variable} or pass --param ${variable}=<value>`,
    );
  }
}

/**
 * Replaces every `${NAME}` in `text`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 *
 * const vars = { params: { MAX: "10" }, env: () => undefined };
 * assert.equal(expandPlaceholders("id <= ${MAX}", vars), "id <= 10");
 * ```
 */
export function expandPlaceholders(text: string, vars: Variables): string {
  return text.replace(PLACEHOLDER, (_, name: string) => {
    const value = Object.hasOwn(vars.params, name) ? vars.params[name] : vars.env(name);
    if (value === undefined) throw new MissingVariableError(name);
    return value;
  });
}
