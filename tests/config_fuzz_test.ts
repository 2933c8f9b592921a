/**
 * Config fuzzing: thousands of configs mutated from a few valid seeds (types swapped, keys
 * dropped, misspelt or duplicated, values out of range, placeholders unset, YAML broken) are
 * loaded in-process. Each must load into a sane config or fail with a one-line `ConfigError` that
 * names the file and line: a user who breaks a config must always learn where, and never see a
 * stack trace or a message built from `undefined`.
 *
 * Deterministic: the seed is printed with every failure, and `RIVET_FUZZ_SEED=<n>` replays a run
 * (`RIVET_FUZZ_ITERATIONS=<n>` changes its length).
 *
 * Run: deno test --allow-all tests/config_fuzz_test.ts
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { loadConfig } from "../src/config/load.ts";
import type { Config } from "../src/config/types.ts";
import { ConfigError } from "../src/errors.ts";
import { withTempDir } from "./support/files.ts";
import { captureLog } from "./support/log.ts";

const SEED = Number(Deno.env.get("RIVET_FUZZ_SEED") ?? 20_261_201);
const ITERATIONS = Number(Deno.env.get("RIVET_FUZZ_ITERATIONS") ?? 4_000);

/** mulberry32: small, fast, and the same sequence on every machine. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

class Rng {
  readonly next: () => number;
  constructor(seed: number) {
    this.next = prng(seed);
  }
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)];
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
}

/** YAML text emitted verbatim, for what no JS value can express (`.nan`, tags, aliases). */
class Raw {
  constructor(readonly text: string) {}
}

type Node = null | boolean | number | string | Raw | Node[] | { [key: string]: Node };
type MapNode = { [key: string]: Node };

/** The variables the fuzzed configs may name; anything else is unset. */
const ENV = new Map([
  ["DB_URL", "postgresql://app:envpw@db.example.com:5432/shop"],
  ["MYSQL_PW", "mysql-secret"],
  ["AWS_KEY", "AKIAFUZZ"],
  ["AWS_SECRET", "fuzz-secret-key"],
  ["SLACK_URL", "https://hooks.slack.com/services/T0/B0/fuzz"],
  ["SCHEMA", "public"],
  ["EMPTY", ""],
]);
// A Map, not an object: `password_env: constructor` must not find Object's constructor.
const env = (name: string) => ENV.get(name);

/** Valid configs covering every mode, destination, tuning, quality, meta columns, notifications. */
function seeds(): MapNode[] {
  return [
    {
      source: {
        type: "postgres",
        url: "postgresql://app:pw@db.example.com:5433/shop?sslmode=require",
        tuning: {
          profile: "balanced",
          batch_size: 5000,
          throttle_ms: 10,
          statement_timeout_s: 60,
          max_retries: 2,
          retry_backoff_ms: 100,
          lock_timeout_s: 5,
        },
      },
      exports: [
        {
          name: "orders",
          query: "SELECT * FROM ${SCHEMA}.orders",
          mode: "full",
          format: "parquet",
          compression: "zstd",
          compression_level: 3,
          max_file_size: "512MB",
          meta_columns: { exported_at: true, row_hash: false },
          quality: {
            row_count_min: 1,
            row_count_max: 1000000,
            null_ratio_max: { email: 0.1, name: 0 },
            unique_columns: ["id"],
          },
          destination: { type: "local", path: "./out" },
        },
        {
          name: "events",
          query: "SELECT * FROM events",
          mode: "incremental",
          cursor_column: "updated_at",
          key_column: ["updated_at", "id"],
          skip_empty: true,
          destination: {
            type: "s3",
            bucket: "my-bucket",
            prefix: "raw/events/",
            region: "eu-west-1",
            endpoint: "http://127.0.0.1:9000",
            access_key_env: "AWS_KEY",
            secret_key_env: "AWS_SECRET",
          },
        },
      ],
      notifications: {
        slack: { webhook_url_env: "SLACK_URL", on: ["failure", "schema_change", "degraded"] },
      },
    },
    {
      source: {
        type: "mysql",
        host: "127.0.0.1",
        port: 3306,
        user: "reader",
        password_env: "MYSQL_PW",
        database: "shop",
        tuning: { profile: "safe", batch_size_memory_mb: 64, max_retries: 0 },
      },
      exports: [
        {
          name: "big",
          query: "SELECT * FROM big",
          mode: "chunked",
          chunk_column: "id",
          chunk_size: 50000,
          parallel: 4,
          key_column: "id",
          compression: "gzip",
          compression_level: 6,
          destination: {
            type: "gcs",
            bucket: "gcs-bucket",
            prefix: "big/",
            endpoint: "http://127.0.0.1:4443",
            credentials_file: "./key.json",
          },
        },
        {
          name: "recent",
          query_file: "./recent.sql",
          mode: "time_window",
          time_column: "created",
          time_column_type: "unix",
          days_window: 7,
          format: "csv",
          destination: { type: "stdout" },
        },
      ],
    },
    {
      source: { type: "postgres", url_env: "DB_URL", tuning: { profile: "fast" } },
      exports: [
        {
          name: "users.v2",
          query: "SELECT id, email FROM users",
          format: "csv",
          max_file_size: 1048576,
          meta_columns: { row_hash: true },
          destination: { type: "local", path: "out/users" },
        },
      ],
      notifications: { slack: { webhook_url: "https://hooks.slack.com/services/T1/B1/x" } },
    },
    {
      source: { type: "mysql", url_file: "./db.url" },
      exports: [
        {
          name: "items",
          query: "SELECT * FROM items WHERE id > 0",
          mode: "incremental",
          cursor_column: "id",
          key_column: "id",
          compression: "snappy",
          destination: { type: "s3", bucket: "b" },
        },
      ],
    },
  ];
}

// ---- values to mutate with ----

const STRINGS = [
  "",
  " ",
  "x",
  "full",
  "postgres",
  "local",
  "12",
  "-1",
  "0",
  "1.5",
  "true",
  "null",
  "NaN",
  "Infinity",
  "-Infinity",
  "1e999",
  "undefined",
  "[object Object]",
  "line one\nline two",
  "tab\there",
  "quote ' and \" both",
  "${UNSET_VAR}",
  "${DB_URL}",
  "${SCHEMA}_x",
  "${}",
  "${1BAD}",
  "$${SCHEMA}",
  "${EMPTY}",
  "${",
  "é ü 中文 🚀",
  "x".repeat(300),
  "512 parsecs",
  "0MB",
  "-5MB",
  "99999999999999999999999999999999TB",
  "1".repeat(400),
  "http://",
  "postgresql://",
  "postgresql://u:p@/nodb",
  "mysql://h/db",
  "postgresql://h:99999/db",
  "%zz",
  "./does/not/exist",
  "/",
  "__proto__",
];
const NUMBERS = [
  0,
  -1,
  1,
  -0.5,
  0.5,
  1.5,
  2,
  22,
  23,
  65535,
  65536,
  2 ** 31,
  2 ** 53 + 2,
  1e21,
  1e300,
  -1e300,
];
const RAWS = [
  ".nan",
  ".NaN",
  ".inf",
  "-.inf",
  "~",
  "0x1F",
  "0o17",
  "1_000",
  "+12",
  "1e3",
  "2024-01-01",
  "12:30:00",
  "!!str 12",
  '!!int "7"',
  "!!float 1",
  "!!binary aGVsbG8=",
  "!!bool yes",
  "!!null ''",
  "!!set { a, b }",
  "!!omap [ a: 1 ]",
  "!!timestamp 2001-12-14",
  "!custom thing",
  "!!map []",
  "*nowhere",
  "&anchor plain",
  "[a, [b, {c: d}]]",
  "{a: 1, b: [2, 3]}",
  "{}",
  "[]",
  "'single ''quoted'''",
  '"escaped \\u0041 \\x42 \\n"',
  '"bad escape \\q"',
  "yes",
  "no",
  "on",
  "off",
  "True",
  "NULL",
];
const KEYS = [
  "__proto__",
  "constructor",
  "toString",
  "hasOwnProperty",
  "",
  "a b",
  "query ",
  "Query",
  "type",
  "exports",
  "tuning",
  "memory_threshold_mb",
  "allow_anonymous",
  "quality",
  "on",
  "123",
];

function randomLeaf(rng: Rng): Node {
  switch (rng.int(6)) {
    case 0:
      return rng.pick(STRINGS);
    case 1:
      return rng.pick(NUMBERS);
    case 2:
      return rng.chance(0.5);
    case 3:
      return null;
    default:
      return new Raw(rng.pick(RAWS));
  }
}

/** A value of another shape than `current`: the type swaps string↔number↔bool↔list↔map↔null. */
function swapped(rng: Rng, current: Node): Node {
  for (;;) {
    let value: Node;
    switch (rng.int(7)) {
      case 0:
        value = rng.pick(STRINGS);
        break;
      case 1:
        value = rng.pick(NUMBERS);
        break;
      case 2:
        value = rng.chance(0.5);
        break;
      case 3:
        value = null;
        break;
      case 4:
        value = rng.chance(0.3) ? [] : [randomLeaf(rng), ...(rng.chance(0.5) ? [current] : [])];
        break;
      case 5:
        value = rng.chance(0.3) ? {} : { [rng.pick(KEYS)]: current ?? randomLeaf(rng) };
        break;
      default:
        value = new Raw(rng.pick(RAWS));
    }
    if (typeof value !== typeof current || Array.isArray(value) !== Array.isArray(current)) {
      return value;
    }
  }
}

function misspell(rng: Rng, key: string): string {
  if (key.length === 0) return "x";
  const i = rng.int(key.length);
  switch (rng.int(6)) {
    case 0:
      return key.slice(0, i) + key.slice(i + 1);
    case 1:
      return key.slice(0, i) + key[i] + key.slice(i);
    case 2:
      return i + 1 < key.length
        ? key.slice(0, i) + key[i + 1] + key[i] + key.slice(i + 2)
        : key + "s";
    case 3:
      return key.toUpperCase();
    case 4:
      return key.replaceAll("_", rng.pick(["-", "", " "]));
    default:
      return key + rng.pick(["s", "_", "2", " "]);
  }
}

type Path = (string | number)[];

/** Every path to a map entry or list item in `node`. */
function paths(node: Node, prefix: Path = [], out: Path[] = []): Path[] {
  if (Array.isArray(node)) {
    node.forEach((child, i) => {
      out.push([...prefix, i]);
      paths(child, [...prefix, i], out);
    });
  } else if (node !== null && typeof node === "object" && !(node instanceof Raw)) {
    for (const [key, child] of Object.entries(node)) {
      out.push([...prefix, key]);
      paths(child, [...prefix, key], out);
    }
  }
  return out;
}

function parentOf(root: Node, path: Path): { parent: MapNode | Node[]; key: string | number } {
  let node = root;
  for (const part of path.slice(0, -1)) node = (node as MapNode)[part as string];
  return { parent: node as MapNode | Node[], key: path[path.length - 1] };
}

/**
 * Sets `map[key]` as an own key even for `__proto__`, which plain assignment would turn into a
 * prototype instead of a YAML key.
 */
function setKey(map: MapNode, key: string, value: Node): void {
  Object.defineProperty(map, key, { value, enumerable: true, writable: true, configurable: true });
}

/** Replaces a map key in place, keeping the key order (so lines stay where they were). */
function renameKey(map: MapNode, from: string, to: string): void {
  const entries = Object.entries(map).map(([k, v]): [string, Node] => [k === from ? to : k, v]);
  for (const k of Object.keys(map)) delete map[k];
  for (const [k, v] of entries) setKey(map, k, v);
}

const NUMERIC_KEYS = new Set([
  "batch_size",
  "throttle_ms",
  "statement_timeout_s",
  "max_retries",
  "retry_backoff_ms",
  "lock_timeout_s",
  "batch_size_memory_mb",
  "port",
  "chunk_size",
  "parallel",
  "days_window",
  "compression_level",
  "row_count_min",
  "row_count_max",
  "max_file_size",
  // The seeds' `null_ratio_max` columns; `name` also hits export names, which is fine.
  "email",
  "name",
]);
const OUT_OF_RANGE: Node[] = [
  -1,
  0,
  -0.0001,
  1.0001,
  2 ** 53,
  1e300,
  -1e300,
  new Raw(".nan"),
  new Raw(".inf"),
  new Raw("-.inf"),
  "NaN",
  "-0",
  "1e999",
  "Infinity",
  "0x10",
];

/** One structural mutation of `root` (in place); returns what it did, for the failure report. */
function mutate(rng: Rng, root: MapNode): string {
  const all = paths(root);
  const path = rng.pick(all);
  const { parent, key } = parentOf(root, path);
  const current = (parent as MapNode)[key as string];
  const at = path.join(".");
  switch (rng.int(9)) {
    case 0:
    case 1: {
      const value = swapped(rng, current);
      (parent as MapNode)[key as string] = value;
      return `swap ${at}`;
    }
    case 2:
      if (Array.isArray(parent)) parent.splice(key as number, 1);
      else delete parent[key as string];
      return `drop ${at}`;
    case 3: {
      if (Array.isArray(parent)) return mutate(rng, root);
      const to = misspell(rng, key as string);
      renameKey(parent, key as string, to);
      return `misspell ${at} -> ${JSON.stringify(to)}`;
    }
    case 4: {
      const numeric = all.filter((p) => NUMERIC_KEYS.has(String(p[p.length - 1])));
      const target = numeric.length > 0 ? rng.pick(numeric) : path;
      const t = parentOf(root, target);
      (t.parent as MapNode)[t.key as string] = rng.pick(OUT_OF_RANGE);
      return `out of range ${target.join(".")}`;
    }
    case 5: {
      const strings = all.filter((p) => {
        const t = parentOf(root, p);
        return typeof (t.parent as MapNode)[t.key as string] === "string";
      });
      const target = strings.length > 0 ? rng.pick(strings) : path;
      const t = parentOf(root, target);
      const placeholder = rng.pick(["${UNSET}", "${UNSET_B}", "${DB_URL}", "${EMPTY}", "${"]);
      const old = (t.parent as MapNode)[t.key as string];
      (t.parent as MapNode)[t.key as string] = typeof old === "string" && rng.chance(0.5)
        ? old + placeholder
        : placeholder;
      return `placeholder ${target.join(".")}`;
    }
    case 6: {
      const maps = [[], ...all].filter((p) => {
        const v = p.length === 0
          ? root
          : (parentOf(root, p).parent as MapNode)[p[p.length - 1] as string];
        return v !== null && typeof v === "object" && !Array.isArray(v) && !(v instanceof Raw);
      });
      const target = rng.pick(maps);
      const map = (target.length === 0 ? root : (parentOf(root, target).parent as MapNode)[
        target[target.length - 1] as string
      ]) as MapNode;
      const name = rng.pick(KEYS);
      setKey(map, name, randomLeaf(rng));
      return `add key ${target.join(".")}.${JSON.stringify(name)}`;
    }
    case 7: {
      // Keep the shape, change the value: an enum or string replaced by another string.
      (parent as MapNode)[key as string] = rng.pick(STRINGS);
      return `string ${at}`;
    }
    default: {
      (parent as MapNode)[key as string] = new Raw(rng.pick(RAWS));
      return `raw ${at}`;
    }
  }
}

/** Valid values per key name: each alone passes the schema, together they meet the rules. */
const VALID: Record<string, Node[]> = {
  type: ["postgres", "mysql", "local", "s3", "gcs", "stdout"],
  mode: ["full", "incremental", "chunked", "time_window"],
  format: ["parquet", "csv"],
  compression: ["zstd", "snappy", "gzip", "lz4", "none"],
  compression_level: [0, 1, 3, 10, 11, 22, 23],
  profile: ["fast", "balanced", "safe"],
  time_column_type: ["timestamp", "unix"],
  key_column: ["id", ["id"], ["updated_at", "id"], ["id", "id"], ["created", "id"]],
  cursor_column: ["id", "updated_at", "created"],
  max_file_size: ["1KB", "1.5GB", 1, "10 mb", "0.1B", 9007199254740991],
  on: [["failure"], [], ["degraded", "degraded"], ["schema_change"]],
  unique_columns: [["id", "id"], [], ["a", "b"]],
  row_count_min: [0, 5, 10],
  row_count_max: [0, 5, 10],
  null_ratio_max: [{}, { a: 0 }, { a: 1 }, { a: 0.5, b: 0.25 }],
  port: [1, 5432, 65535],
  days_window: [1, 30],
  chunk_size: [1, 1000],
  parallel: [1, 8],
  batch_size: [1, 10000],
  batch_size_memory_mb: [1, 512],
};

/** Keys that belong somewhere, to move where they may or may not (a `chunk_column` on a full export). */
const TRANSPLANTS: {
  into: "export" | "destination" | "source" | "tuning" | "slack";
  key: string;
  value: Node;
}[] = [
  { into: "export", key: "cursor_column", value: "id" },
  { into: "export", key: "chunk_column", value: "id" },
  { into: "export", key: "chunk_size", value: 10 },
  { into: "export", key: "parallel", value: 2 },
  { into: "export", key: "time_column", value: "created" },
  { into: "export", key: "time_column_type", value: "unix" },
  { into: "export", key: "days_window", value: 3 },
  { into: "export", key: "key_column", value: ["id", "updated_at"] },
  { into: "export", key: "query_file", value: "./recent.sql" },
  { into: "export", key: "query_file", value: "./missing.sql" },
  { into: "export", key: "query_file", value: "." },
  { into: "export", key: "query", value: "SELECT 1" },
  { into: "export", key: "quality", value: { row_count_min: 3, row_count_max: 2 } },
  { into: "export", key: "max_file_size", value: "1MB" },
  { into: "export", key: "compression_level", value: 5 },
  { into: "export", key: "meta_columns", value: { exported_at: true, row_hash: true } },
  { into: "destination", key: "path", value: "./out" },
  { into: "destination", key: "bucket", value: "b" },
  { into: "destination", key: "prefix", value: "p/" },
  { into: "destination", key: "region", value: "us-east-1" },
  { into: "destination", key: "endpoint", value: "http://127.0.0.1:1" },
  { into: "destination", key: "access_key_env", value: "AWS_KEY" },
  { into: "destination", key: "secret_key_env", value: "UNSET_SECRET" },
  { into: "destination", key: "secret_key_env", value: "EMPTY" },
  { into: "destination", key: "credentials_file", value: "./key.json" },
  { into: "source", key: "url", value: "postgresql://u:p@h/db" },
  { into: "source", key: "url", value: "mysql://u@h:3306/db" },
  { into: "source", key: "url_env", value: "EMPTY" },
  { into: "source", key: "url_env", value: "MYSQL_PW" },
  { into: "source", key: "url_file", value: "./key.json" },
  { into: "source", key: "url_file", value: "." },
  { into: "source", key: "host", value: "h" },
  { into: "source", key: "user", value: "u" },
  { into: "source", key: "password", value: "p" },
  { into: "source", key: "password_env", value: "UNSET_PW" },
  { into: "source", key: "database", value: "d" },
  { into: "tuning", key: "batch_size", value: 100 },
  { into: "tuning", key: "batch_size_memory_mb", value: 8 },
  { into: "slack", key: "webhook_url", value: "ftp://example.com/x" },
  { into: "slack", key: "webhook_url", value: "not a url" },
  { into: "slack", key: "webhook_url_env", value: "SLACK_URL" },
  { into: "slack", key: "webhook_url_env", value: "EMPTY" },
];

/** The maps of `root` a transplant may go into. */
function mapsFor(root: MapNode, into: (typeof TRANSPLANTS)[number]["into"]): MapNode[] {
  const isMap = (v: unknown): v is MapNode =>
    v !== null && typeof v === "object" && !Array.isArray(v) && !(v instanceof Raw);
  const exports = Array.isArray(root.exports) ? root.exports.filter(isMap) : [];
  const source = isMap(root.source) ? [root.source] : [];
  const notifications = isMap(root.notifications) ? root.notifications : {};
  const found: Record<typeof into, unknown[]> = {
    export: exports,
    destination: exports.map((e) => e.destination),
    source,
    tuning: source.map((s) => s.tuning),
    slack: [notifications.slack],
  };
  return found[into].filter(isMap);
}

/** A mutation that keeps every value valid on its own: what is left to break is the rules. */
function mutateGently(rng: Rng, root: MapNode): string {
  if (rng.chance(0.5)) {
    const t = rng.pick(TRANSPLANTS);
    const maps = mapsFor(root, t.into);
    if (maps.length > 0) {
      rng.pick(maps)[t.key] = structuredClone(t.value);
      return `put ${t.into}.${t.key}`;
    }
  }
  const all = paths(root);
  const keyed = all.filter((p) => String(p[p.length - 1]) in VALID);
  if (keyed.length === 0 || rng.chance(0.2)) {
    const path = rng.pick(all);
    const { parent, key } = parentOf(root, path);
    if (Array.isArray(parent)) parent.splice(key as number, 1);
    else delete parent[key as string];
    return `drop ${path.join(".")}`;
  }
  const path = rng.pick(keyed);
  const { parent, key } = parentOf(root, path);
  (parent as MapNode)[key as string] = structuredClone(rng.pick(VALID[String(key)]));
  return `valid ${path.join(".")}`;
}

// ---- YAML emission: block and flow styles, mixed, so errors land on varied lines ----

/** Plain scalars YAML would read as something other than a string. */
const NOT_A_STRING = /^(?:true|false|yes|no|on|off|null|~|[-+.]?\d.*|\.(?:inf|nan))$/i;

/** A scalar as YAML text; inside `[...]`/`{...}` a plain string may not hold flow indicators. */
function scalar(value: Exclude<Node, Node[] | MapNode>, inFlow: boolean): string {
  if (value instanceof Raw) return value.text;
  if (typeof value !== "string") return String(value);
  const plain = inFlow ? /^[A-Za-z_./][\w./ -]*$/ : /^[A-Za-z_./(][\w./ ()*=>$\{}'",-]*$/;
  if (plain.test(value) && !/ $|: | #/.test(value) && !NOT_A_STRING.test(value)) return value;
  // JSON strings are valid YAML double-quoted scalars, and escape what plain ones cannot hold.
  return JSON.stringify(value);
}

function isScalar(node: Node): node is Exclude<Node, Node[] | MapNode> {
  return node === null || typeof node !== "object" || node instanceof Raw;
}

/** `node` on one line: a scalar in block context, or a flow collection. */
function flow(node: Node, inFlow = false): string {
  if (isScalar(node)) return scalar(node, inFlow);
  if (Array.isArray(node)) return `[${node.map((v) => flow(v, true)).join(", ")}]`;
  const entries = Object.entries(node).map(([k, v]) => `${scalar(k, true)}: ${flow(v, true)}`);
  return `{ ${entries.join(", ")} }`;
}

function block(rng: Rng, node: Node, indent: number): string[] {
  const pad = " ".repeat(indent);
  const lines: string[] = [];
  if (Array.isArray(node)) {
    for (const item of node) {
      if (isScalar(item) || rng.chance(0.2) || Object.keys(item).length === 0) {
        lines.push(`${pad}- ${flow(item)}`);
      } else if (Array.isArray(item)) {
        lines.push(`${pad}-`, ...block(rng, item, indent + 2));
      } else {
        const [first, ...rest] = block(rng, item, indent + 2);
        lines.push(`${pad}- ${first.trimStart()}`, ...rest);
      }
    }
    return lines;
  }
  for (const [key, value] of Object.entries(node as MapNode)) {
    const empty = !isScalar(value) && Object.keys(value).length === 0;
    if (isScalar(value) || empty || rng.chance(0.15)) {
      lines.push(`${pad}${scalar(key, false)}: ${flow(value)}`);
    } else {
      lines.push(`${pad}${scalar(key, false)}:`, ...block(rng, value, indent + 2));
    }
  }
  return lines;
}

// ---- textual mutations: break the YAML itself ----

function breakText(rng: Rng, text: string): [string, string] {
  const lines = text.split("\n");
  const i = rng.int(Math.max(1, lines.length - 1));
  const line = lines[i];
  const col = rng.int(line.length + 1);
  const insert = (s: string) => {
    lines[i] = line.slice(0, col) + s + line.slice(col);
  };
  let what: string;
  switch (rng.int(12)) {
    case 0:
      insert(rng.pick(["[", "{", "]", "}", "[{", "}]"]));
      what = "bracket";
      break;
    case 1:
      lines[i] = " ".repeat(1 + rng.int(3)) + line;
      what = "indent +";
      break;
    case 2:
      lines[i] = line.replace(/^ {1,3}/, "");
      what = "indent -";
      break;
    case 3:
      lines[i] = line.replace(/^( *)/, (m) => "\t" + m.slice(2));
      what = "tab indent";
      break;
    case 4:
      insert("\t");
      what = "tab";
      break;
    case 5:
      return [text.slice(0, rng.int(text.length)), "truncate"];
    case 6:
      insert(rng.pick(["${", "${UNSET", "$", "}"]));
      what = "stray ${";
      break;
    case 7:
      lines.splice(i, 0, line);
      what = "duplicate line";
      break;
    case 8:
      lines.splice(i, 1);
      what = "delete line";
      break;
    case 9:
      insert(
        rng.pick([":", "- ", "? ", "&", "*", "!", "|", ">", "'", '"', "%", "@", "`", " #", ","]),
      );
      what = "punctuation";
      break;
    case 10:
      insert(rng.pick(["\r", "\u0000", "\ufeff", "\u0085", "\u2028", "---\n", "...\n"]));
      what = "control";
      break;
    default: {
      // A billion-laughs alias bomb at the top level.
      lines.unshift(
        'a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]',
        "b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]",
        "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]",
        "d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]",
      );
      what = "alias bomb";
    }
  }
  return [lines.join("\n"), `${what} at line ${i + 1}`];
}

// ---- the checks ----

/**
 * Words a message may only contain where it echoes what the user wrote (a column named `NaN` is
 * the user's business; `got number NaN` for `.nan` is rivet's own rendering).
 */
const FORBIDDEN = [
  / {4}at /,
  /undefined/,
  /\[object Object\]/,
  /NaN/,
  // JSON Schema's own words for a key of several types, not the user's.
  /(?:string|integer|number|boolean|object|array|null),(?:string|integer|number|boolean|object|array|null)/,
];

/** Why `message` is not an acceptable error for the file at `path`, or undefined when it is. */
function badMessage(message: string, path: string, yaml: string): string | undefined {
  if (/[\n\r\u2028\u2029]/.test(message)) return "message spans lines";
  const prefix = message.match(/^(.*?):(\d+): (.*)$/s);
  if (!prefix || prefix[1] !== path) return "message does not start with '<path>:<line>: '";
  const line = Number(prefix[2]);
  if (line < 1 || line > yaml.split("\n").length) return `line ${line} is outside the file`;
  if (prefix[3].trim() === "") return "empty message";
  const hit = FORBIDDEN.find((re) => {
    if (!re.test(prefix[3])) return false;
    // Only as the user wrote it: a whole plain or quoted word of the YAML, not `.NaN`.
    const word = new RegExp(`(?<![.\\w])${re.source}(?!\\w)`);
    return re.source.startsWith(" ") || !word.test(yaml);
  });
  return hit ? `message contains ${hit}` : undefined;
}

/** Resolved fields that are legitimately absent (a passwordless login, no size limit, ...). */
const OPTIONAL = new Set(["password", "maxFileSize", "compressionLevel"]);

/** Why a loaded config is not sane, or undefined when it is. */
function badConfig(config: Config): string | undefined {
  if (config.exports.length === 0) return "no exports";
  const weird: string[] = [];
  const walk = (v: unknown, at: string, key: string) => {
    if (typeof v === "number" && !Number.isFinite(v)) weird.push(`${at} = ${v}`);
    else if (v === undefined && !OPTIONAL.has(key)) weird.push(`${at} is undefined`);
    else if (typeof v === "function") weird.push(`${at} is a function`);
    else if (v !== null && typeof v === "object") {
      for (const [k, child] of Object.entries(v)) walk(child, `${at}.${k}`, k);
    }
  };
  walk(config, "config", "");
  const counts = [
    ...Object.entries(config.source.tuning).map(([k, v]) => [`tuning.${k}`, v]),
    ...config.exports.flatMap((e) => [
      [`${e.name}.maxFileSize`, e.maxFileSize],
      ...Object.entries(e.mode).map(([k, v]) => [`${e.name}.mode.${k}`, v]),
    ]),
  ];
  for (const [at, v] of counts) {
    if (typeof v === "number" && !Number.isSafeInteger(v)) weird.push(`${at} = ${v}`);
  }
  for (const e of config.exports) {
    if (e.query.trim() === "") weird.push(`${e.name}: empty query`);
  }
  return weird.length > 0 ? weird.join("; ") : undefined;
}

interface Finding {
  iteration: number;
  mutations: string[];
  problem: string;
  yaml: string;
}

Deno.test(`config fuzz: ${ITERATIONS} mutated configs load or fail with one located line (seed ${SEED})`, async () => {
  await withTempDir(async (dir) => {
    await Deno.writeTextFile(join(dir, "recent.sql"), "SELECT * FROM recent WHERE s = '${SCHEMA}'");
    await Deno.writeTextFile(join(dir, "key.json"), "{}");
    await Deno.writeTextFile(join(dir, "db.url"), "mysql://reader:pw@127.0.0.1:3306/shop\n");
    await Deno.mkdir(join(dir, "out"));
    const path = join(dir, "rivet.yaml");

    // The seeds themselves must load, or the fuzzer tests only the first error it meets.
    for (const [i, seed] of seeds().entries()) {
      await Deno.writeTextFile(path, block(new Rng(i), seed, 0).join("\n") + "\n");
      await captureLog("error", async () => {
        const config = await loadConfig(path, { env });
        assert.equal(badConfig(config), undefined, `seed ${i}`);
      });
    }

    const rng = new Rng(SEED);
    const findings: Finding[] = [];
    const outcomes = { loaded: 0, configError: 0 };
    await captureLog("error", async () => {
      for (let iteration = 0; iteration < ITERATIONS; iteration++) {
        const root = structuredClone(rng.pick(seeds()));
        const mutations: string[] = [];
        // Half the configs keep every value valid, so that the rules across keys get tested too.
        const gentle = rng.chance(0.5);
        const count = 1 + rng.int(3);
        for (let m = 0; m < count && paths(root).length > 0; m++) {
          mutations.push(gentle ? mutateGently(rng, root) : mutate(rng, root));
        }
        let yaml = block(rng, root, 0).join("\n") + "\n";
        if (!gentle && rng.chance(0.5)) {
          const [broken, what] = breakText(rng, yaml);
          yaml = broken;
          mutations.push(what);
        }
        await Deno.writeTextFile(path, yaml);
        let problem: string | undefined;
        try {
          const config = await loadConfig(path, { env });
          outcomes.loaded++;
          problem = badConfig(config);
          if (problem) problem = `loaded an unsound config: ${problem}`;
        } catch (err) {
          if (err instanceof ConfigError) {
            outcomes.configError++;
            const why = badMessage(err.message, path, yaml);
            if (why) problem = `${why}: ${JSON.stringify(err.message)}`;
          } else {
            problem = `threw ${(err as Error)?.constructor?.name ?? typeof err}: ${
              String((err as Error)?.stack ?? err)
            }`;
          }
        }
        if (problem) findings.push({ iteration, mutations, problem, yaml });
      }
    });

    if (findings.length > 0) {
      // One example per kind of problem: the kinds are the bugs, the counts their reach.
      const kinds = new Map<string, Finding[]>();
      for (const f of findings) {
        const kind = f.problem.replace(/"[^"]*"|'[^']*'|\d+/g, "…").slice(0, 120);
        kinds.set(kind, [...(kinds.get(kind) ?? []), f]);
      }
      const report = [...kinds.values()].map((group) => {
        const f = group[0];
        return [
          `── ${group.length}× (first: iteration ${f.iteration}; mutations: ${
            f.mutations.join(", ")
          })`,
          `   ${f.problem.split("\n").slice(0, 6).join("\n   ")}`,
          "   YAML:",
          ...f.yaml.split("\n").map((l, n) => `   ${String(n + 1).padStart(3)} | ${l}`),
        ].join("\n");
      });
      assert.fail(
        `config fuzz (seed ${SEED}, replay with RIVET_FUZZ_SEED=${SEED}): ${findings.length} of ${ITERATIONS} configs misbehaved, ${kinds.size} kinds:\n\n${
          report.join("\n\n")
        }`,
      );
    }
    // A fuzzer that only ever meets errors (or only ever loads) explores nothing.
    assert.ok(outcomes.loaded >= ITERATIONS / 50, `only ${outcomes.loaded} configs loaded`);
    assert.ok(outcomes.configError >= ITERATIONS / 2, `only ${outcomes.configError} errors`);
  });
});
