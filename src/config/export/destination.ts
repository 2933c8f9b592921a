/**
 * Export rule: where the files go (spec "Destinations"). Each destination type takes its own keys
 * and rejects the others' (a `bucket` on a local destination is a mistake worth a line number):
 * local needs a `path` (relative to the config); S3 and GCS need a `bucket`; S3 keys come from
 * both of `access_key_env` and `secret_key_env` or neither (spec "Credential precedence"); stdout
 * takes nothing, and only exports that write one file can use it.
 *
 * @module
 */
import { resolve } from "node:path";
import { registerSecret } from "../../util/secrets.ts";
import type { DestinationConfig, S3Keys } from "../types.ts";
import { keyOf, labelOf, type RawExport, type RuleContext } from "./rule.ts";

type RawDestination = RawExport["destination"];

/** The keys each destination type takes, besides `type`. */
const KEYS: Record<RawDestination["type"], readonly (keyof RawDestination)[]> = {
  local: ["path"],
  stdout: [],
  s3: ["bucket", "prefix", "region", "endpoint", "access_key_env", "secret_key_env"],
  gcs: ["bucket", "prefix", "endpoint", "credentials_file"],
};

/** The export's destination. */
export function resolveDestination(ctx: RuleContext): DestinationConfig {
  const raw = ctx.raw.destination;
  rejectForeignKeys(ctx, raw);
  switch (raw.type) {
    case "local":
      return { type: "local", path: resolve(ctx.dir, required(ctx, raw, "path")) };
    case "stdout":
      refuseMultipleFiles(ctx);
      return { type: "stdout" };
    case "s3":
      return {
        type: "s3",
        bucket: required(ctx, raw, "bucket"),
        prefix: raw.prefix ?? "",
        ...(raw.region === undefined ? {} : { region: raw.region }),
        ...(raw.endpoint === undefined ? {} : { endpoint: raw.endpoint }),
        ...s3Keys(ctx, raw),
      };
    case "gcs":
      return {
        type: "gcs",
        bucket: required(ctx, raw, "bucket"),
        prefix: raw.prefix ?? "",
        ...(raw.endpoint === undefined ? {} : { endpoint: raw.endpoint }),
        ...(raw.credentials_file === undefined
          ? {}
          : { credentialsFile: resolve(ctx.dir, raw.credentials_file) }),
      };
  }
}

function required(ctx: RuleContext, raw: RawDestination, key: "path" | "bucket"): string {
  const value = raw[key];
  if (value === undefined) {
    ctx.fail(
      `${labelOf(ctx, "destination")}: a ${raw.type} destination requires '${key}'`,
      keyOf(ctx, "destination"),
    );
  }
  return value;
}

function rejectForeignKeys(ctx: RuleContext, raw: RawDestination): void {
  const allowed = KEYS[raw.type];
  for (const key of Object.keys(raw) as (keyof RawDestination)[]) {
    if (key === "type" || allowed.includes(key)) continue;
    ctx.fail(
      `${labelOf(ctx, `destination.${key}`)}: not used by a ${raw.type} destination`,
      keyOf(ctx, "destination", key),
      true,
    );
  }
}

/** Both variables or neither; a named variable that is not set is an error naming it. */
function s3Keys(ctx: RuleContext, raw: RawDestination): { keys?: S3Keys } {
  const { access_key_env: accessKeyEnv, secret_key_env: secretKeyEnv } = raw;
  if (accessKeyEnv === undefined && secretKeyEnv === undefined) return {};
  if (accessKeyEnv === undefined || secretKeyEnv === undefined) {
    const missing = accessKeyEnv === undefined ? "access_key_env" : "secret_key_env";
    ctx.fail(
      `${
        labelOf(ctx, "destination")
      }: S3 needs both access_key_env and secret_key_env, or neither (the default AWS credential chain); '${missing}' is missing`,
      keyOf(ctx, "destination"),
    );
  }
  const read = (key: "access_key_env" | "secret_key_env", name: string): string => {
    const value = ctx.vars.env(name);
    if (value === undefined || value === "") {
      ctx.fail(
        `${labelOf(ctx, `destination.${key}`)}: environment variable ${name} is not set`,
        keyOf(ctx, "destination", key),
      );
    }
    return value;
  };
  const accessKeyId = read("access_key_env", accessKeyEnv);
  const secretAccessKey = read("secret_key_env", secretKeyEnv);
  registerSecret(secretAccessKey);
  return { keys: { accessKeyEnv, secretKeyEnv, accessKeyId, secretAccessKey } };
}

/** stdout carries exactly one file: several (chunks, parts) would run together into one stream. */
function refuseMultipleFiles(ctx: RuleContext): void {
  const raw = ctx.raw;
  const multiFile = raw.mode === "chunked"
    ? "mode: chunked"
    : raw.max_file_size !== undefined
    ? "max_file_size"
    : undefined;
  if (multiFile !== undefined) {
    ctx.fail(
      `${
        labelOf(ctx, "destination")
      }: a stdout destination carries one file, but ${multiFile} writes several; use a local destination`,
      keyOf(ctx, "destination"),
    );
  }
}
