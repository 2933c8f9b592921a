/**
 * Test helpers for the local PostgreSQL (127.0.0.1:5432, database `test`, user `postgres`, trust
 * auth; override with RIVET_TEST_PG_HOST / RIVET_TEST_PG_PORT).
 *
 * Every test works in its own schema (`rivet_t_<random>`), dropped afterwards, so tests run in
 * parallel and rerun cleanly on a machine left dirty by an interrupted run.
 *
 * @module
 */
import pg from "pg";
import type { ConnectionSettings, SourceConfig, Tuning } from "../../src/config/types.ts";

/** Connection settings of the test server. */
export function pgSettings(overrides: Partial<ConnectionSettings> = {}): ConnectionSettings {
  return {
    host: Deno.env.get("RIVET_TEST_PG_HOST") ?? "127.0.0.1",
    port: Number(Deno.env.get("RIVET_TEST_PG_PORT") ?? 5432),
    user: "postgres",
    database: "test",
    options: { sslmode: "disable" },
    ...overrides,
  };
}

/** Tuning of the `balanced` profile with `overrides` applied. */
export function tuning(overrides: Partial<Tuning> = {}): Tuning {
  return {
    profile: "balanced",
    batchSize: 10_000,
    throttleMs: 0,
    statementTimeoutS: 0,
    maxRetries: 0,
    retryBackoffMs: 0,
    lockTimeoutS: 0,
    ...overrides,
  };
}

/** A source config for the test server whose sessions resolve unqualified names in `schema`. */
export function sourceConfig(schema: string, overrides: Partial<Tuning> = {}): SourceConfig {
  const settings = pgSettings();
  return {
    type: "postgres",
    connection: {
      ...settings,
      options: { ...settings.options, options: `-c search_path=${schema}` },
    },
    tuning: tuning(overrides),
  };
}

/** A plain node-postgres client for setup and checks; the caller ends it. */
export async function adminClient(): Promise<pg.Client> {
  const s = pgSettings();
  const client = new pg.Client({
    host: s.host,
    port: s.port,
    user: s.user,
    database: s.database,
    ssl: false,
  });
  client.on("error", () => {});
  await client.connect();
  return client;
}

/** A fresh unique name with `prefix` (schema, role, ...). */
export function uniqueName(prefix: string): string {
  return `${prefix}_${crypto.randomUUID().replaceAll("-", "").slice(0, 12)}`;
}

/**
 * Creates a schema, runs `setupSql` in it, calls `fn(schema, admin)`, and drops the schema
 * (CASCADE) whatever happens.
 */
export async function withSchema<T>(
  setupSql: string,
  fn: (schema: string, admin: pg.Client) => Promise<T>,
): Promise<T> {
  const schema = uniqueName("rivet_t");
  const admin = await adminClient();
  try {
    await admin.query(`CREATE SCHEMA ${schema}`);
    await admin.query(`SET search_path = ${schema}`);
    if (setupSql.trim() !== "") await admin.query(setupSql);
    return await fn(schema, admin);
  } finally {
    try {
      await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    } finally {
      await admin.end();
    }
  }
}
