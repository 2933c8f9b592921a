/**
 * The two source engines for table-driven end-to-end tests. Each test gets its own schema
 * (PostgreSQL) or database (MySQL/MariaDB) with a unique name, dropped afterwards, so tests run in
 * parallel and rerun on a dirty machine.
 *
 * @module
 */
import pg from "pg";
import mysql from "mysql2/promise";

/** A scratch namespace on one engine. */
export interface TestDb {
  engine: EngineName;
  /** Schema (PostgreSQL) or database (MySQL) name; qualify tables with it. */
  ns: string;
  /** Connection URL for rivet configs. */
  url: string;
  /** Runs statements (`;`-separated allowed). */
  exec(sql: string): Promise<void>;
  /** Runs a query; each row is an array of values as the server renders them as text. */
  textRows(sql: string): Promise<(string | null)[][]>;
  /** Drops the namespace and disconnects. */
  drop(): Promise<void>;
}

/** Engine names as used in rivet configs. */
export type EngineName = "postgres" | "mysql";

/** Engine-specific SQL for the shared scenarios. */
export interface EngineSql {
  /** A timestamp column type with microseconds and no time zone. */
  timestamp: string;
  /** A short text column type usable as a key. */
  text: string;
}

/** SQL snippets per engine. */
export const SQL: Record<EngineName, EngineSql> = {
  postgres: { timestamp: "timestamp(6)", text: "text" },
  mysql: { timestamp: "datetime(6)", text: "varchar(200)" },
};

function uniqueName(): string {
  return `rivet_t_${crypto.randomUUID().replaceAll("-", "").slice(0, 12)}`;
}

/** Creates a scratch schema on PostgreSQL (127.0.0.1:5432, database `test`). */
export async function postgresDb(): Promise<TestDb> {
  const ns = uniqueName();
  const client = new pg.Client({
    host: "127.0.0.1",
    port: 5432,
    user: "postgres",
    database: "test",
  });
  // Text results everywhere: compare what the server says, not what a JS parser makes of it.
  const text = { getTypeParser: () => (v: string) => v };
  await client.connect();
  await client.query(`CREATE SCHEMA ${ns}`);
  return {
    engine: "postgres",
    ns,
    url: "postgresql://postgres@127.0.0.1:5432/test",
    async exec(sql) {
      await client.query(sql);
    },
    async textRows(sql) {
      const r = await client.query({ text: sql, rowMode: "array", types: text });
      return r.rows as (string | null)[][];
    },
    async drop() {
      try {
        await client.query(`DROP SCHEMA IF EXISTS ${ns} CASCADE`);
      } finally {
        await client.end();
      }
    },
  };
}

/** Creates a scratch database on MariaDB/MySQL (127.0.0.1:3306, root). */
export async function mysqlDb(): Promise<TestDb> {
  const ns = uniqueName();
  const conn = await mysql.createConnection({
    host: "127.0.0.1",
    port: 3306,
    user: "root",
    multipleStatements: true,
    dateStrings: true,
    supportBigNumbers: true,
    bigNumberStrings: true,
    timezone: "Z",
  });
  await conn.query(`CREATE DATABASE ${ns} CHARACTER SET utf8mb4`);
  await conn.query(`SET time_zone = '+00:00'`);
  return {
    engine: "mysql",
    ns,
    url: `mysql://root@127.0.0.1:3306/${ns}`,
    async exec(sql) {
      await conn.query(sql);
    },
    async textRows(sql) {
      const [rows] = await conn.query({ sql, rowsAsArray: true });
      return (rows as unknown[][]).map((r) => r.map((v) => (v === null ? null : String(v))));
    },
    async drop() {
      try {
        await conn.query(`DROP DATABASE IF EXISTS ${ns}`);
      } finally {
        await conn.end();
      }
    },
  };
}

/** Both engines, for `for (const engine of ENGINES)` test tables. */
export const ENGINES: { name: EngineName; create: () => Promise<TestDb> }[] = [
  { name: "postgres", create: postgresDb },
  { name: "mysql", create: mysqlDb },
];

/** Runs `body` with a scratch namespace on `engine`, dropping it afterwards. */
export async function withDb<T>(
  engine: { create: () => Promise<TestDb> },
  body: (db: TestDb) => Promise<T>,
): Promise<T> {
  const db = await engine.create();
  try {
    return await body(db);
  } finally {
    await db.drop();
  }
}

/** A login of its own for one test, so the test can find and kill exactly its sessions. */
export interface DedicatedLogin {
  /** Connection URL for rivet configs, logging in as the dedicated user. */
  url: string;
  /** Terminates every server session of the user; resolves to how many it ended. */
  killSessions(): Promise<number>;
  /** How many server sessions the user has open now. */
  sessions(): Promise<number>;
}

/**
 * Runs `body` with a login that may read `db`'s namespace and nothing else, dropping the login
 * afterwards. Killing its sessions touches no other test's connections.
 */
export async function withDedicatedLogin<T>(
  db: TestDb,
  body: (login: DedicatedLogin) => Promise<T>,
): Promise<T> {
  const user = db.ns;
  if (db.engine === "postgres") {
    await db.exec(
      `CREATE ROLE ${user} LOGIN; GRANT USAGE ON SCHEMA ${db.ns} TO ${user};
       GRANT SELECT ON ALL TABLES IN SCHEMA ${db.ns} TO ${user}`,
    );
    const killSessions = async () =>
      (await db.textRows(
        `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = '${user}'`,
      )).length;
    const sessions = async () =>
      Number(
        (await db.textRows(`SELECT count(*) FROM pg_stat_activity WHERE usename = '${user}'`))[0][
          0
        ],
      );
    try {
      return await body({
        url: `postgresql://${user}@127.0.0.1:5432/test`,
        killSessions,
        sessions,
      });
    } finally {
      await killSessions();
      await db.exec(`DROP OWNED BY ${user}; DROP ROLE ${user}`);
    }
  }
  await db.exec(`CREATE USER '${user}'@'%'; GRANT SELECT ON ${db.ns}.* TO '${user}'@'%'`);
  const killSessions = async () => {
    const ids = await db.textRows(
      `SELECT id FROM information_schema.processlist WHERE user = '${user}'`,
    );
    for (const [id] of ids) await db.exec(`KILL CONNECTION ${id}`).catch(() => {});
    return ids.length;
  };
  const sessions = async () =>
    Number(
      (await db.textRows(
        `SELECT count(*) FROM information_schema.processlist WHERE user = '${user}'`,
      ))[0][0],
    );
  try {
    return await body({ url: `mysql://${user}@127.0.0.1:3306/${db.ns}`, killSessions, sessions });
  } finally {
    await killSessions();
    await db.exec(`DROP USER '${user}'@'%'`);
  }
}
