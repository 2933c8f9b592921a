/**
 * Turns JSON Schema (ajv) errors into one-line messages that name the key, the YAML line and, for
 * typos, the closest valid key or value.
 *
 * @module
 */
import type { ErrorObject } from "ajv";
import { closest, distance } from "fastest-levenshtein";
import type { KeyPath } from "./location.ts";

/** A schema violation resolved to a key path and a message. */
export interface SchemaProblem {
  path: KeyPath;
  message: string;
  /** The line should point at the key itself (unknown keys), not at its value. */
  keyLine: boolean;
}

/** Suggests the closest candidate when it is plausibly a typo. */
export function didYouMean(input: string, candidates: readonly string[]): string {
  if (candidates.length === 0) return "";
  const best = closest(input, candidates as string[]);
  const limit = Math.max(2, Math.floor(best.length / 3));
  return distance(input, best) <= limit ? ` (did you mean '${best}'?)` : "";
}

function toPath(instancePath: string): (string | number)[] {
  if (!instancePath) return [];
  return instancePath.slice(1).split("/").map((raw) => {
    const part = raw.replace(/~1/g, "/").replace(/~0/g, "~");
    return /^\d+$/.test(part) ? Number(part) : part;
  });
}

/** JSON Schema type names in the words of a YAML author. */
const TYPE_WORDS: Record<string, string> = {
  object: "a mapping",
  array: "a list",
  string: "a string",
  boolean: "true or false",
  integer: "an integer",
  number: "a number",
};

function describe(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "a list";
  if (typeof value === "object") return "a mapping";
  if (typeof value === "string") return `string '${value}'`;
  // In YAML's spelling: `.nan` is what the user wrote, `NaN` would read like rivet's own bug.
  if (typeof value === "number" && !Number.isFinite(value)) {
    return Number.isNaN(value) ? "number .nan" : value > 0 ? "number .inf" : "number -.inf";
  }
  return `${typeof value} ${String(value)}`;
}

/** Converts one ajv error. `value` is the offending value; `schemaProps` the allowed keys there. */
export function explain(
  error: ErrorObject,
  value: unknown,
  allowedKeys: (path: KeyPath) => string[],
): SchemaProblem {
  const path = toPath(error.instancePath);
  const params = error.params as Record<string, unknown>;
  switch (error.keyword) {
    case "additionalProperties": {
      const key = String(params.additionalProperty);
      return {
        path: [...path, key],
        keyLine: true,
        message: `unknown key '${key}'${didYouMean(key, allowedKeys(path))}`,
      };
    }
    case "required":
      return {
        path,
        keyLine: false,
        message: `missing required key '${String(params.missingProperty)}'`,
      };
    case "enum": {
      const allowed = (params.allowedValues as unknown[]).map(String);
      const hint = typeof value === "string" ? didYouMean(value, allowed) : "";
      return {
        path,
        keyLine: false,
        message: `must be one of ${allowed.join(" | ")}, got ${describe(value)}${hint}`,
      };
    }
    case "type":
      return {
        path,
        keyLine: false,
        // A key of several types (`max_file_size`) has them joined with commas: name each.
        message: `must be ${
          String(params.type).split(",").map((t) => TYPE_WORDS[t] ?? t).join(" or ")
        }, got ${describe(value)}`,
      };
    case "minimum":
    case "maximum":
      return {
        path,
        keyLine: false,
        message: `must be ${error.keyword === "minimum" ? ">=" : "<="} ${
          String(params.limit)
        }, got ${describe(value)}`,
      };
    case "minLength":
      return { path, keyLine: false, message: "must not be empty" };
    default:
      return { path, keyLine: false, message: error.message ?? "is invalid" };
  }
}
