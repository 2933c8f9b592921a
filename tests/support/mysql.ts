/**
 * Scratch MariaDB/MySQL databases for source tests: each test gets a database with a unique name
 * (`rivet_t_<random>`) on root@127.0.0.1:3306, dropped afterwards, so tests run in parallel and
 * rerun on a dirty machine.
 *
 * @module
 */
import mysql from "mysql2/promise";
import { resolveTuning, type TuningOverrides } from "../../src/config/profiles.ts";
import type { ConnectionSettings, SourceConfig } from "../../src/config/types.ts";

/** Where the test server listens. */
export const MYSQL_SERVER = { host: "127.0.0.1", port: 3306, user: "root" } as const;

/** A scratch database and an admin connection to it. */
export interface MysqlTestDb {
  /** The database name. */
  name: string;
  /** Runs statements (`;`-separated allowed). */
  exec(sql: string): Promise<void>;
  /** Runs a query; each value as the bytes the server sent, decoded as UTF-8 (NULL as null). */
  textRows(sql: string): Promise<(string | null)[][]>;
  /** A source config for this database; `tuning` overrides the `fast` profile. */
  config(tuning?: TuningOverrides, connection?: Partial<ConnectionSettings>): SourceConfig;
}

/** Creates a database, runs `setupSql` in it, passes it to `body`, and drops it afterwards. */
export async function withMysqlDb<T>(
  setupSql: string,
  body: (db: MysqlTestDb) => Promise<T>,
): Promise<T> {
  const name = `rivet_t_${crypto.randomUUID().replaceAll("-", "").slice(0, 12)}`;
  const admin = await mysql.createConnection({ ...MYSQL_SERVER, multipleStatements: true });
  try {
    await admin.query(`CREATE DATABASE ${name} CHARACTER SET utf8mb4`);
    await admin.query(`USE ${name}`);
    await admin.query("SET time_zone = '+00:00'");
    if (setupSql.trim() !== "") await admin.query(setupSql);
    const decoder = new TextDecoder();
    return await body({
      name,
      async exec(sql) {
        await admin.query(sql);
      },
      async textRows(sql) {
        const [rows] = await admin.query({ sql, rowsAsArray: true, typeCast: false });
        return (rows as (Uint8Array | null)[][]).map((r) =>
          r.map((v) => (v === null ? null : decoder.decode(v)))
        );
      },
      config(tuning = {}, connection = {}) {
        return {
          type: "mysql",
          connection: {
            ...MYSQL_SERVER,
            database: name,
            options: {},
            ...connection,
          },
          tuning: resolveTuning({ profile: "fast", ...tuning }),
        };
      },
    });
  } finally {
    try {
      await admin.query(`DROP DATABASE IF EXISTS ${name}`);
    } finally {
      await admin.end();
    }
  }
}
