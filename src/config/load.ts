/**
 * Loads `rivet.yaml`: parse (with line numbers), reject not-yet-supported keys, expand `${VAR}`,
 * validate against the schema and the cross-field rules, then resolve credentials, tuning and
 * queries into a {@link Config}.
 *
 * @module
 */
import { Ajv, type ValidateFunction } from "ajv";
import { dirname, resolve } from "node:path";
import { type Document, isAlias, LineCounter, parseDocument, visit } from "yaml";
import { ConfigError } from "../errors.ts";
import { CredentialError, type RawSource, resolveConnection } from "./connection.ts";
import { expandPlaceholders, MissingVariableError, readEnv, type Variables } from "./expand.ts";
import { formatPath, type KeyPath, Locator } from "./location.ts";
import { type RawNotifications, resolveNotifications } from "./notifications.ts";
import { resolveTuning, type TuningOverrides } from "./profiles.ts";
import { resolveExport } from "./export/resolve.ts";
import type { Fail, RawExport } from "./export/rule.ts";
import { CONFIG_SCHEMA, type JsonSchema, NOT_YET_SUPPORTED_KEYS } from "./schema.ts";
import { explain } from "./schema_errors.ts";
import type { Config, ExportConfig } from "./types.ts";

/** Options for {@link loadConfig}. */
export interface LoadOptions {
  /** `--param key=value` pairs; they win over environment variables for `${key}`. */
  params?: Record<string, string>;
  /** Environment lookup; defaults to `Deno.env`. */
  env?: (name: string) => string | undefined;
}

interface RawConfig {
  source: RawSource & { tuning?: TuningOverrides };
  exports: RawExport[];
  notifications?: RawNotifications;
}

let compiled: ValidateFunction | undefined;

/**
 * The schema's validator, compiled on first use: compiling takes ~0.1 s, which commands that read
 * no config (`--version`, `completions`, `schema`) should not pay.
 *
 * Every run pays the compile, so two of ajv's steps that serve no purpose here are off: checking
 * the schema against the draft-07 meta-schema (which compiles that one too; the schema is
 * checked once, by `tests/schema_test.ts`) and optimizing the generated code, which then runs
 * once on a config of a few keys. In a fresh process that took the compile from 71 to 40 ms.
 */
function schemaValidator(): ValidateFunction {
  compiled ??= new Ajv({
    allErrors: true,
    strict: true,
    allowUnionTypes: true,
    validateSchema: false,
    code: { optimize: false },
  }).compile(CONFIG_SCHEMA);
  return compiled;
}

/** Names an export may have: safe as a file name prefix and a state key. */
const EXPORT_NAME = /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/;

/**
 * Loads and validates a config file. Every problem is a {@link ConfigError} naming the file, the
 * YAML line, the export and the key.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { loadConfig } from "@rivet/cli";
 *
 * const dir = await Deno.makeTempDir();
 * await Deno.writeTextFile(
 *   `${dir}/rivet.yaml`,
 *   [
 *     "source: { type: postgres, url: 'postgresql://app@db.example.com/shop' }",
 *     "exports:",
 *     "  - name: orders",
 *     "    query: SELECT * FROM orders_${env}",
 *     "    mode: incremental",
 *     "    cursor_column: updated_at",
 *     "    destination: { type: local, path: ./out }",
 *     "  - name: users",
 *     "    query: SELECT * FROM users",
 *     "    formatt: csv",
 *     "    destination: { type: stdout }",
 *   ].join("\n"),
 * );
 * await assert.rejects(
 *   loadConfig(`${dir}/rivet.yaml`, { params: { env: "prod" } }),
 *   /rivet\.yaml:10: export 'users': exports\[1\]\.formatt: unknown key 'formatt' \(did you mean 'format'\?\)/,
 * );
 * await Deno.writeTextFile(
 *   `${dir}/rivet.yaml`,
 *   (await Deno.readTextFile(`${dir}/rivet.yaml`)).replace("formatt", "format"),
 * );
 * const config = await loadConfig(`${dir}/rivet.yaml`, { params: { env: "prod" } });
 * assert.equal(config.exports[0].query, "SELECT * FROM orders_prod");
 * assert.deepEqual(config.exports[0].mode, { kind: "incremental", cursorColumn: "updated_at" });
 * assert.equal(config.source.tuning.profile, "balanced");
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function loadConfig(path: string, options: LoadOptions = {}): Promise<Config> {
  const file = resolve(path);
  const dir = dirname(file);
  const vars: Variables = { params: options.params ?? {}, env: options.env ?? readEnv };
  const text = await readConfigText(file, path);

  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: true, uniqueKeys: true });
  const where = new Locator(doc, lines);

  if (doc.errors.length > 0) {
    const first = doc.errors[0];
    throw new ConfigError(`YAML syntax error: ${escapeControls(first.message.split("\n")[0])}`, {
      file: path,
      line: first.linePos?.[0].line,
    });
  }
  const data: unknown = toData(doc, lines, path);
  const fail = (message: string, keyPath: KeyPath = [], keyLine = false): never => {
    throw new ConfigError(escapeControls(withExport(message, keyPath, data)), {
      file: path,
      line: where.line(keyPath, keyLine),
      key: formatPath(keyPath),
    });
  };
  const site = (keyPath: KeyPath) => ({
    file: path,
    line: where.line(keyPath),
    key: formatPath(keyPath),
  });
  if (data === null || typeof data !== "object" || Array.isArray(data)) {
    fail("the config must be a YAML mapping with 'source' and 'exports'");
  }

  rejectNotYetSupported(data, [], fail);
  expandStrings(data, [], vars, fail);

  const validateSchema = schemaValidator();
  if (!validateSchema(data)) {
    const errors = [...(validateSchema.errors ?? [])];
    // Report the error nearest the top of the file: that is where a reader looks first.
    const problems = errors.map((e) =>
      explain(e, valueAt(data, e.instancePath), (p) => allowedKeys(p))
    ).map((p) => ({ ...p, line: where.line(p.path, p.keyLine) ?? 0 }));
    problems.sort((a, b) => a.line - b.line);
    const first = problems[0];
    fail(
      `${formatPath(first.path) || "config"}: ${first.message}`,
      first.path,
      first.keyLine,
    );
  }
  const raw = data as RawConfig;
  const tuning = raw.source.tuning;
  if (tuning?.batch_size !== undefined && tuning.batch_size_memory_mb !== undefined) {
    fail(
      "source.tuning: batch_size and batch_size_memory_mb are mutually exclusive (set one)",
      ["source", "tuning", "batch_size_memory_mb"],
      true,
    );
  }

  if (raw.exports.length === 0) {
    fail("exports: the list is empty; define at least one export", ["exports"]);
  }
  const seen = new Map<string, number>();
  raw.exports.forEach((e, i) => {
    if (!EXPORT_NAME.test(e.name)) {
      fail(
        `exports[${i}].name: '${e.name}' is not a valid export name (letters, digits, '_', '-', '.'; not starting with '.' or '-')`,
        ["exports", i, "name"],
      );
    }
    const prev = seen.get(e.name);
    if (prev !== undefined) {
      fail(`exports[${i}].name: duplicate export name '${e.name}' (also exports[${prev}])`, [
        "exports",
        i,
        "name",
      ]);
    }
    seen.set(e.name, i);
  });

  let connection;
  try {
    connection = await resolveConnection(raw.source, dir, vars.env);
  } catch (err) {
    if (err instanceof CredentialError) {
      fail(`source.${err.key}: ${err.message}`, ["source", err.key]);
    }
    throw err;
  }

  const exports: ExportConfig[] = [];
  for (const [i, e] of raw.exports.entries()) {
    exports.push(await resolveExport({ raw: e, index: i, dir, vars, fail, site }));
  }
  const notifications = resolveNotifications(raw.notifications, vars.env, fail);
  return {
    path: file,
    dir,
    source: {
      type: raw.source.type,
      connection,
      tuning: resolveTuning(raw.source.tuning),
      ...(raw.source.url_file === undefined ? {} : { urlFile: resolve(dir, raw.source.url_file) }),
    },
    exports,
    ...(notifications === undefined ? {} : { notifications }),
  };
}

async function readConfigText(file: string, shown: string): Promise<string> {
  try {
    return await Deno.readTextFile(file);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) {
      throw new ConfigError(`config file not found: ${shown}`);
    }
    if (err instanceof Deno.errors.IsADirectory) {
      throw new ConfigError(`config path is a directory, not a file: ${shown}`);
    }
    throw new ConfigError(`cannot read config file ${shown}: ${(err as Error).message}`);
  }
}

/**
 * The document as plain data. `yaml` resolves aliases only here, and throws a `ReferenceError` for
 * an alias to no earlier anchor or for an alias bomb: both are the file's fault, so they are
 * reported at the alias's line like any other YAML error.
 */
function toData(doc: Document, lines: LineCounter, file: string): unknown {
  try {
    return doc.toJS();
  } catch (err) {
    if (!(err instanceof ReferenceError)) throw err;
    const anchors = new Set<string>();
    let line: number | undefined;
    visit(doc, {
      Node(_, node) {
        if (isAlias(node)) {
          const at = node.range ? lines.linePos(node.range[0]).line : undefined;
          line ??= at;
          if (!anchors.has(node.source)) {
            line = at;
            return visit.BREAK;
          }
        } else if (node.anchor) {
          anchors.add(node.anchor);
        }
      },
    });
    throw new ConfigError(`YAML error: ${escapeControls(err.message.split("\n")[0])}`, {
      file,
      line,
    });
  }
}

/**
 * Writes control characters (newlines, tabs, NUL, Unicode line separators) as escapes. Messages
 * quote what the user wrote, and a value spanning lines would break the one-line error into
 * several, or hide its end.
 */
function escapeControls(message: string): string {
  return message.replace(
    CONTROLS,
    (c) => SHORT_ESCAPES.get(c) ?? `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`,
  );
}

// deno-lint-ignore no-control-regex -- matching control characters is the point
const CONTROLS = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g;
const SHORT_ESCAPES = new Map([["\n", "\\n"], ["\r", "\\r"], ["\t", "\\t"]]);

/** Prefixes the export name when the path is inside `exports[i]`, so users see which one. */
function withExport(message: string, path: KeyPath, data: unknown): string {
  if (path[0] !== "exports" || typeof path[1] !== "number") return message;
  const entry = (data as { exports?: unknown[] } | undefined)?.exports?.[path[1]];
  const name = (entry as { name?: unknown } | undefined)?.name;
  return typeof name === "string" ? `export '${name}': ${message}` : message;
}

function valueAt(data: unknown, pointer: string): unknown {
  let node = data;
  for (const raw of pointer.split("/").slice(1)) {
    if (node === null || typeof node !== "object") return undefined;
    node = (node as Record<string, unknown>)[raw.replace(/~1/g, "/").replace(/~0/g, "~")];
  }
  return node;
}

function schemaAt(path: KeyPath): JsonSchema | undefined {
  let node: JsonSchema | undefined = CONFIG_SCHEMA;
  for (const part of path) {
    if (!node) return undefined;
    node = typeof part === "number"
      ? node.items as JsonSchema | undefined
      : (node.properties as Record<string, JsonSchema> | undefined)?.[part];
  }
  return node;
}

function allowedKeys(path: KeyPath): string[] {
  return Object.keys((schemaAt(path)?.properties as Record<string, unknown> | undefined) ?? {});
}

function patternOf(path: KeyPath): string {
  return path.map((p) => (typeof p === "number" ? "*" : p)).join(".");
}

/** Keys from later releases are named as such, never reported as typos or ignored. */
function rejectNotYetSupported(node: unknown, path: KeyPath, fail: Fail): void {
  if (Array.isArray(node)) {
    node.forEach((item, i) => rejectNotYetSupported(item, [...path, i], fail));
    return;
  }
  if (node === null || typeof node !== "object") return;
  for (const [key, value] of Object.entries(node)) {
    const child = [...path, key];
    const feature = NOT_YET_SUPPORTED_KEYS.get(patternOf(child));
    if (feature) {
      fail(
        `${formatPath(child)}: '${key}' (${feature}) is not supported yet by this release of rivet`,
        child,
        true,
      );
    }
    rejectNotYetSupported(value, child, fail);
  }
}

/** Expands `${VAR}` inside every string value, keeping the YAML structure (and lines) intact. */
function expandStrings(node: unknown, path: KeyPath, vars: Variables, fail: Fail): void {
  if (node === null || typeof node !== "object") return;
  const entries: [string | number, unknown][] = Array.isArray(node)
    ? node.map((v, i) => [i, v])
    : Object.entries(node);
  for (const [key, value] of entries) {
    const child = [...path, key];
    if (typeof value === "string") {
      try {
        (node as Record<string | number, unknown>)[key] = expandPlaceholders(value, vars);
      } catch (err) {
        if (err instanceof MissingVariableError) {
          fail(`${formatPath(child)}: ${err.message}`, child);
        }
        throw err;
      }
    } else {
      expandStrings(value, child, vars, fail);
    }
  }
}
