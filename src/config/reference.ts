/**
 * The configuration reference (docs/reference.md) rendered from the JSON Schema the loader
 * validates with, so the documented keys, types, defaults and descriptions are the enforced ones.
 *
 * @module
 */
import { CONFIG_SCHEMA, type JsonSchema } from "./schema.ts";

/** One mapping of the config and where it sits: `source.tuning`, `exports[]`. */
interface Section {
  path: string;
  schema: JsonSchema;
}

/**
 * Renders the reference as Markdown: one section per mapping, each with a table of its keys.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 *
 * const markdown = configReference();
 * assert.match(markdown, /^## `source\.tuning`$/m);
 * assert.match(markdown, /^\| `mode` \| `full` \\\| `incremental` \\\| `chunked` \\\| `time_window` \| `full` \|/m);
 * ```
 */
export function configReference(schema: JsonSchema = CONFIG_SCHEMA): string {
  const sections: Section[] = [];
  collect("", schema, sections);
  const out = [
    "# Configuration reference",
    "",
    "<!-- Generated from src/config/schema.ts by `deno task docs`; edit the schema, not this file. -->",
    "",
    `${prose(String(schema.description ?? ""))} Every key below is checked when the config loads:`,
    "an unknown key, a wrong type or a value out of range is an error naming the file, line and key.",
    "The same schema is printed by `rivet schema` for editors (see [editors.md](editors.md)); the",
    "rules that tie keys together (which keys each mode and destination takes) are in",
    "[config.md](config.md).",
  ];
  for (const section of sections) out.push("", ...renderSection(section));
  return `${out.join("\n")}\n`;
}

/** Depth first: a mapping's section comes before those of the mappings inside it. */
function collect(path: string, schema: JsonSchema, sections: Section[]): void {
  const properties = propertiesOf(schema);
  if (properties === undefined) return;
  if (path !== "") sections.push({ path, schema });
  for (const [key, child] of Object.entries(properties)) {
    const childPath = path === "" ? key : `${path}.${key}`;
    const items = child.items as JsonSchema | undefined;
    if (child.type === "array" && items && propertiesOf(items)) {
      collect(`${childPath}[]`, { ...items, description: child.description }, sections);
    } else {
      collect(childPath, child, sections);
    }
  }
}

function renderSection({ path, schema }: Section): string[] {
  const required = new Set((schema.required as string[] | undefined) ?? []);
  const rows = Object.entries(propertiesOf(schema)!).map(([key, child]) =>
    [
      code(key),
      typeOf(child, `${path}.${key}`),
      required.has(key) ? "required" : child.default === undefined ? "" : code(yaml(child.default)),
      prose(String(child.description ?? "")),
    ].map(cell)
  );
  return [
    `## ${code(path)}`,
    "",
    prose(String(schema.description ?? "")),
    "",
    "| key | type | default | description |",
    "| --- | --- | --- | --- |",
    ...rows.map((r) => `| ${r.join(" | ")} |`),
  ];
}

function propertiesOf(schema: JsonSchema): Record<string, JsonSchema> | undefined {
  return schema.properties as Record<string, JsonSchema> | undefined;
}

/** The value a key takes, in a reader's words. */
function typeOf(schema: JsonSchema, path: string): string {
  if (Array.isArray(schema.enum)) return schema.enum.map((v) => code(String(v))).join(" | ");
  if (Array.isArray(schema.anyOf)) {
    return (schema.anyOf as JsonSchema[]).map((s) => typeOf(s, path)).join(" or ");
  }
  if (Array.isArray(schema.type)) return schema.type.join(" or ");
  switch (schema.type) {
    case "object":
      return propertiesOf(schema)
        ? `mapping (see ${code(path)})`
        : `mapping of name to ${typeOf(schema.additionalProperties as JsonSchema, path)}`;
    case "array":
      return `list of ${typeOf(schema.items as JsonSchema, path)}`;
    case "integer":
    case "number":
      return `${schema.type}${range(schema)}`;
    case "string":
      return schema.minLength === 1 ? "non-empty string" : "string";
    default:
      return String(schema.type);
  }
}

function range(schema: JsonSchema): string {
  const min = schema.minimum as number | undefined;
  const max = schema.maximum as number | undefined;
  if (min !== undefined && max !== undefined && max !== Number.MAX_SAFE_INTEGER) {
    return ` ${min}..${max}`;
  }
  return min === undefined ? "" : ` ≥ ${min}`;
}

/** A default as it would be written in rivet.yaml. */
function yaml(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(yaml).join(", ")}]`;
  if (value === "") return '""';
  return String(value);
}

function code(text: string): string {
  return `\`${text}\``;
}

/**
 * Descriptions are plain text (editors show them as such): here, the words that are keys,
 * flags, placeholders, file names or YAML values (`[a, b]`, `{ k: v }`) are set as code, so that
 * Markdown leaves them alone.
 */
function prose(text: string): string {
  return text.replace(
    /(\[[^\]]+\]|\{[^}]+\}|\$\{[A-Z_]+\}|--[a-z][a-z-]*|(?<![\w`])[A-Za-z0-9.]*_[A-Za-z0-9_.]*[A-Za-z0-9_]|\w+\.ya?ml\b)/g,
    (word) => code(word),
  );
}

/** A table cell: a pipe would end it. */
function cell(text: string): string {
  return text.replaceAll("|", "\\|");
}
