/**
 * The two local database servers as the bench reaches them: through their own command-line
 * clients (`psql`, `mariadb`), which are also the baselines, so the bench needs no driver of its
 * own and shares no code with rivet's sources.
 *
 * @module
 */

/** An engine the bench measures; MariaDB is read by rivet's `mysql` source. */
export type Engine = "postgres" | "mariadb";

/** Every engine, in the order the bench measures them. */
export const ENGINES: readonly Engine[] = ["postgres", "mariadb"];

/** A client process to start: program, arguments and extra environment. */
export interface ClientCommand {
  cmd: string;
  args: string[];
  env: Record<string, string>;
}

/** One server, pointed at the bench's own database. */
export interface Server {
  engine: Engine;
  /** The bench database's URL, as rivet's config takes it. */
  url: string;
  /** The client connected to the bench database, to which a statement's arguments are appended. */
  client: ClientCommand;
  /** Runs `sql` (one or more statements) in the bench database; returns the rows, fields split. */
  query(sql: string): Promise<string[][]>;
  /** Creates the bench database unless it exists (never touching any other database). */
  ensureDatabase(): Promise<void>;
}

const TAB = "\t";

/** Runs `client` with `sql` on stdin and returns its stdout; a failure carries the client's stderr. */
async function runClient(client: ClientCommand, sql: string): Promise<string> {
  const child = new Deno.Command(client.cmd, {
    args: client.args,
    env: client.env,
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(sql));
  await writer.close();
  const out = await child.output();
  const stdout = new TextDecoder().decode(out.stdout);
  if (!out.success) {
    throw new Error(
      `${client.cmd} failed (exit ${out.code}):\n${new TextDecoder().decode(out.stderr)}\n` +
        `statement: ${sql.slice(0, 500)}`,
    );
  }
  return stdout;
}

function rows(stdout: string): string[][] {
  return stdout.split("\n").filter((line) => line !== "").map((line) => line.split(TAB));
}

function databaseOf(url: URL): string {
  const name = decodeURIComponent(url.pathname.replace(/^\//, ""));
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) {
    throw new Error(`bench database name '${name}' in ${url.href} must be a plain identifier`);
  }
  return name;
}

function postgres(url: string): Server {
  const parsed = new URL(url);
  const database = databaseOf(parsed);
  const admin = new URL(url);
  admin.pathname = "/postgres";
  // -X: no ~/.psqlrc, whose settings would change the output or the timing.
  const psql = (target: string): ClientCommand => ({
    cmd: "psql",
    args: ["-X", "-q", "-A", "-t", "-F", TAB, "-v", "ON_ERROR_STOP=1", target],
    env: {},
  });
  return {
    engine: "postgres",
    url,
    client: { cmd: "psql", args: ["-X", "-q", url], env: {} },
    query: async (sql) => rows(await runClient(psql(url), sql)),
    async ensureDatabase() {
      const found = rows(
        await runClient(
          psql(admin.href),
          `SELECT 1 FROM pg_database WHERE datname = '${database}'`,
        ),
      );
      if (found.length === 0) await runClient(psql(admin.href), `CREATE DATABASE ${database}`);
    },
  };
}

function mariadb(url: string): Server {
  const parsed = new URL(url);
  const database = databaseOf(parsed);
  const connection = [
    "-h",
    parsed.hostname,
    "-P",
    parsed.port || "3306",
    "-u",
    decodeURIComponent(parsed.username || "root"),
  ];
  // The password travels in the environment, never on a command line that `ps` shows.
  const env: Record<string, string> = parsed.password
    ? { MYSQL_PWD: decodeURIComponent(parsed.password) }
    : {};
  const batch = (db: string[]): ClientCommand => ({
    cmd: "mariadb",
    args: [...connection, "--batch", "--skip-column-names", ...db],
    env,
  });
  return {
    engine: "mariadb",
    url,
    client: { cmd: "mariadb", args: [...connection, database], env },
    // UTC, so TIMESTAMP values are generated and read as the same instants PostgreSQL holds.
    query: async (sql) =>
      rows(await runClient(batch([database]), `SET time_zone = '+00:00';\n${sql}`)),
    async ensureDatabase() {
      await runClient(batch([]), `CREATE DATABASE IF NOT EXISTS ${database}`);
    },
  };
}

/** The server of `engine` at `url` (whose path names the bench database). */
export function openServer(engine: Engine, url: string): Server {
  return engine === "postgres" ? postgres(url) : mariadb(url);
}
