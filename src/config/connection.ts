/**
 * Resolves `source` credentials: exactly one of `url` / `url_env` / `url_file`, or the structured
 * fields, never both (spec "Credential precedence"). Every secret is registered for redaction.
 *
 * @module
 */
import { resolve } from "node:path";
import { registerSecret } from "../util/secrets.ts";
import type { ConnectionSettings, SourceType } from "./types.ts";

/** The raw `source` keys this module reads. */
export interface RawSource {
  type: SourceType;
  url?: string;
  url_env?: string;
  url_file?: string;
  host?: string;
  port?: number;
  user?: string;
  password?: string;
  password_env?: string;
  database?: string;
}

/** A credential problem, with the key it concerns. */
export class CredentialError extends Error {
  constructor(message: string, readonly key: string) {
    super(message);
  }
}

const DEFAULT_PORT: Record<SourceType, number> = { postgres: 5432, mysql: 3306 };
const SCHEMES: Record<SourceType, string[]> = {
  postgres: ["postgres:", "postgresql:"],
  mysql: ["mysql:", "mariadb:"],
};
const URL_KEYS = ["url", "url_env", "url_file"] as const;
const STRUCTURED_KEYS = ["host", "port", "user", "password", "password_env", "database"] as const;

/** Resolves the connection settings; `env` reads variables, `dir` anchors `url_file`. */
export async function resolveConnection(
  raw: RawSource,
  dir: string,
  env: (name: string) => string | undefined,
): Promise<ConnectionSettings> {
  const urlKeys = URL_KEYS.filter((k) => raw[k] !== undefined);
  const structured = STRUCTURED_KEYS.filter((k) => raw[k] !== undefined);
  if (urlKeys.length > 0 && structured.length > 0) {
    throw new CredentialError(
      `use either URL-based config (${urlKeys.join(", ")}) or structured fields (${
        structured.join(", ")
      }), not both`,
      structured[0],
    );
  }
  if (urlKeys.length > 1) {
    throw new CredentialError(
      `specify exactly one of 'url', 'url_env' or 'url_file' (found ${urlKeys.join(", ")})`,
      urlKeys[1],
    );
  }
  if (urlKeys.length === 1) return parseUrl(raw.type, await readUrl(raw, dir, env), urlKeys[0]);
  if (structured.length === 0) {
    throw new CredentialError(
      "must specify url, url_env, url_file, or structured fields (host, user, database)",
      "type",
    );
  }
  for (const key of ["host", "user", "database"] as const) {
    if (raw[key] === undefined) {
      throw new CredentialError(`structured config requires '${key}'`, key);
    }
  }
  if (raw.password !== undefined && raw.password_env !== undefined) {
    throw new CredentialError("specify 'password' or 'password_env', not both", "password_env");
  }
  let password = raw.password;
  if (raw.password_env !== undefined) {
    password = env(raw.password_env);
    if (password === undefined) {
      throw new CredentialError(
        `environment variable '${raw.password_env}' is not set (password_env)`,
        "password_env",
      );
    }
  }
  registerSecret(password);
  return {
    host: raw.host!,
    port: raw.port ?? DEFAULT_PORT[raw.type],
    user: raw.user!,
    password,
    database: raw.database!,
    options: {},
  };
}

async function readUrl(
  raw: RawSource,
  dir: string,
  env: (name: string) => string | undefined,
): Promise<string> {
  if (raw.url !== undefined) return raw.url;
  if (raw.url_env !== undefined) {
    const value = env(raw.url_env);
    if (value === undefined || value.trim() === "") {
      throw new CredentialError(
        `environment variable '${raw.url_env}' is not set (url_env)`,
        "url_env",
      );
    }
    return value.trim();
  }
  const file = resolve(dir, raw.url_file!);
  try {
    return (await Deno.readTextFile(file)).trim();
  } catch (err) {
    const why = err instanceof Deno.errors.NotFound ? "does not exist" : String(err);
    throw new CredentialError(`url_file '${file}' ${why}`, "url_file");
  }
}

function parseUrl(type: SourceType, text: string, key: string): ConnectionSettings {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    // The text may hold a password: never echo it.
    throw new CredentialError(`${key} is not a valid connection URL`, key);
  }
  if (!SCHEMES[type].includes(url.protocol)) {
    throw new CredentialError(
      `${key} must start with ${
        SCHEMES[type].map((s) => `${s}//`).join(" or ")
      } for a ${type} source, got '${url.protocol}//'`,
      key,
    );
  }
  const password = url.password ? decodeURIComponent(url.password) : undefined;
  registerSecret(password);
  registerSecret(text);
  const database = decodeURIComponent(url.pathname.replace(/^\//, ""));
  if (!url.hostname) throw new CredentialError(`${key} has no host`, key);
  if (!database) throw new CredentialError(`${key} has no database name`, key);
  return {
    host: url.hostname.replace(/^\[(.*)\]$/, "$1"),
    port: url.port ? Number(url.port) : DEFAULT_PORT[type],
    user: decodeURIComponent(url.username),
    password,
    database,
    options: Object.fromEntries(url.searchParams.entries()),
  };
}
