/**
 * `deno task demo`: rivet end to end, with no PostgreSQL server and no Docker.
 *
 * PostgreSQL runs inside this process (PGlite, a WebAssembly build of PostgreSQL), served over the
 * wire protocol by pglite-socket on a free loopback port, so the real CLI connects to it exactly as
 * it would to a server. The demo seeds `users`, `orders` and `events`, then runs the CLI as a
 * subprocess with `examples/demo.yaml`:
 *
 * 1. `rivet permissions`: the narrowest Deno flags for the config; every later step runs with
 *    only these (the database host and port, the config, state and output paths...);
 * 2. `rivet run`: users → Parquet and orders → CSV (full), events → Parquet (incremental);
 * 3. inserts {@link NEW_EVENTS} `events` rows with a later `updated_at`;
 * 4. `rivet run --export events`: must export exactly those rows;
 * 5. `rivet state show` and `rivet metrics`;
 * 6. lists the files in {@link OUTPUT_DIR} with their row counts.
 *
 * Every step is checked (exit codes, row counts in the summaries and in the files, the stored
 * cursor); the demo exits 1 when anything is off, and always stops the embedded server.
 *
 * @example
 * ```sh
 * deno task demo
 * ```
 *
 * @module
 */
import { PGlite } from "@electric-sql/pglite";
import { PGLiteSocketServer } from "@electric-sql/pglite-socket";
import { parse as parseCsv } from "csv-parse";
import { asyncBufferFromFile, parquetMetadataAsync } from "hyparquet";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

/** The project root: the CLI runs from here, and the paths below are relative to it. */
export const ROOT: string = fileURLToPath(new URL("..", import.meta.url));

/** The demo's config, relative to {@link ROOT}. */
export const CONFIG_PATH = "examples/demo.yaml";

/** Where `demo.yaml` puts the files, relative to {@link ROOT}. */
export const OUTPUT_DIR = "output/demo";

/** rivet keeps its state beside the config; deleted at start so every run starts from scratch. */
const STATE_DB = "examples/.rivet_state.db";

/** Rows the demo seeds into each table. */
export const SEEDED: Readonly<{ users: number; orders: number; events: number }> = {
  users: 8,
  orders: 24,
  events: 40,
};

/** `events` rows inserted between the two incremental runs. */
export const NEW_EVENTS = 3;

/**
 * The permissions of the step that asks rivet which permissions the demo's runs need: it only
 * reads the config and the environment.
 */
const PERMISSIONS_STEP = ["--allow-read", "--allow-env"];

/** A stuck CLI run must fail the demo (and a test waiting on it), not hang it. */
const CLI_TIMEOUT_MS = 120_000;

/** How long shutdown may wait for the socket server before the process exits anyway. */
const STOP_TIMEOUT_MS = 5_000;

const TOTAL_STEPS = 9;

// Fixed timestamps (with microseconds) keep the output identical from run to run; `events` rows get
// strictly increasing `updated_at` values so the incremental boundary is exact.
const SEED_SQL = `
CREATE TABLE users (
  id         integer PRIMARY KEY,
  email      text NOT NULL UNIQUE,
  full_name  text NOT NULL,
  country    text,
  is_active  boolean NOT NULL,
  created_at timestamptz NOT NULL
);
INSERT INTO users VALUES
  (1, 'ada@example.com',   'Ada Lovelace',         'GB', true,  '2024-01-05 09:15:00.123456+00'),
  (2, 'grace@example.com', 'Grace Hopper',         'US', true,  '2024-01-06 11:02:33.500000+00'),
  (3, 'conan@example.com', 'Conan O''Brien',       'IE', false, '2024-01-09 17:45:12.000001+00'),
  (4, 'zoe@example.com',   'Zoë Müller',           'DE', true,  '2024-02-01 08:00:00+00'),
  (5, 'wei@example.com',   'Li, Wei',              'CN', true,  '2024-02-14 23:59:59.999999+00'),
  (6, 'sam@example.com',   'Sam "The Man" Smith',  NULL, true,  '2024-03-01 12:00:00.654321+00'),
  (7, 'noor@example.com',  'Noor Al-Hassan',       'AE', true,  '2024-03-02 06:30:00.000100+00'),
  (8, 'jiwoo@example.com', 'Kim Ji-woo',           'KR', false, '2024-03-03 19:20:00.250000+00');

CREATE TABLE orders (
  id         bigint PRIMARY KEY,
  user_id    integer NOT NULL REFERENCES users (id),
  status     text NOT NULL,
  total      numeric(12,2) NOT NULL,
  note       text,
  ordered_at timestamptz NOT NULL,
  shipped_on date
);
INSERT INTO orders
SELECT g,
       1 + (g * 5) % 8,
       (ARRAY['pending', 'paid', 'shipped', 'refunded'])[1 + g % 4],
       round(g * 17.35 + 3.99, 2),
       CASE g % 5
         WHEN 0 THEN NULL
         WHEN 1 THEN 'gift wrap, please'
         WHEN 2 THEN 'leave at the "back door"'
         WHEN 3 THEN 'call first; it''s a flat'
         ELSE 'two lines:' || chr(10) || 'second line'
       END,
       timestamptz '2024-03-01 08:00:00.000001+00' + g * interval '7 hours 13 minutes 0.250001 seconds',
       CASE WHEN g % 4 = 2 THEN date '2024-03-03' + g END
FROM generate_series(1, ${SEEDED.orders}) AS g;

CREATE TABLE events (
  id          bigint PRIMARY KEY,
  user_id     integer REFERENCES users (id),
  kind        text NOT NULL,
  amount      numeric(12,2),
  note        text,
  payload     jsonb,
  is_bot      boolean NOT NULL,
  occurred_at timestamp NOT NULL,
  updated_at  timestamptz NOT NULL
);
INSERT INTO events
SELECT g,
       CASE WHEN g % 9 = 0 THEN NULL ELSE 1 + g % 8 END,
       (ARRAY['page_view', 'click', 'signup', 'purchase', 'logout'])[1 + g % 5],
       CASE WHEN g % 5 = 3 THEN round(g * 3.3 + 0.05, 2) END,
       format('clicked "%s", then left', 'item ' || g),
       CASE WHEN g % 7 = 0 THEN NULL
            ELSE jsonb_build_object('path', '/items/' || g, 'ms', g * 37,
                                    'tags', jsonb_build_array('web', 'demo'))
       END,
       g % 6 = 0,
       timestamp '2024-06-01 10:00:00.000001' + g * interval '90.123457 seconds',
       timestamptz '2024-06-01 10:00:01.500000+00' + g * interval '90.123457 seconds'
FROM generate_series(1, ${SEEDED.events}) AS g;
`;

/** New rows, later than every existing `updated_at`, as an application would add them. */
const INSERT_NEW_EVENTS_SQL = `
INSERT INTO events
SELECT m.id + n,
       n,
       'purchase',
       round(100 + n * 0.5, 2),
       format('late order #%s, "express"', n),
       jsonb_build_object('path', '/checkout', 'late', true),
       false,
       m.occurred_at + n * interval '1 minute 0.000001 seconds',
       m.updated_at + n * interval '1 minute 0.000001 seconds'
FROM (SELECT max(id) AS id, max(occurred_at) AS occurred_at, max(updated_at) AS updated_at
      FROM events) AS m,
     generate_series(1, ${NEW_EVENTS}) AS n;
`;

/** A check that did not hold: the demo reports it and exits 1. */
class DemoFailure extends Error {}

/** One export's block of a `rivet run` summary. */
export interface SummaryBlock {
  /** The export name from the `── name ──` header. */
  name: string;
  /** `key: value` lines (`rows`, `status`, `file`, ...); a repeated key keeps its last value. */
  fields: Record<string, string>;
}

/**
 * Parses the summary blocks `rivet run` prints, in order.
 *
 * @example
 * ```ts
 * parseSummaries("── events ──\n  status:    success\n  rows:      3\n");
 * // [{ name: "events", fields: { status: "success", rows: "3" } }]
 * ```
 */
export function parseSummaries(text: string): SummaryBlock[] {
  const blocks: SummaryBlock[] = [];
  for (const line of text.split("\n")) {
    const header = line.match(/^── (.+) ──$/);
    if (header) {
      blocks.push({ name: header[1], fields: {} });
      continue;
    }
    const field = line.match(/^ {2}([A-Za-z_ ]+):\s+(.*)$/);
    if (field && blocks.length > 0) blocks[blocks.length - 1].fields[field[1]] = field[2].trim();
  }
  return blocks;
}

let stepNo = 0;

function step(title: string): void {
  stepNo++;
  console.log(`\n=== [${stepNo}/${TOTAL_STEPS}] ${title} ===`);
}

function writeAll(to: { writeSync(p: Uint8Array): number }, bytes: Uint8Array): void {
  let done = 0;
  while (done < bytes.length) done += to.writeSync(bytes.subarray(done));
}

/** Forwards a child's stream as it arrives (so long runs show progress) and keeps a copy. */
async function pump(
  from: ReadableStream<Uint8Array>,
  to: { writeSync(p: Uint8Array): number },
): Promise<string> {
  const decoder = new TextDecoder();
  let text = "";
  for await (const chunk of from) {
    writeAll(to, chunk);
    text += decoder.decode(chunk, { stream: true });
  }
  return text + decoder.decode();
}

/**
 * Runs the real CLI (`cli.ts`) in a subprocess under `permissions`; fails the demo on a non-zero
 * exit.
 */
async function rivet(args: string[], pgUrl: string, permissions: string[]): Promise<string> {
  console.log(
    `$ DEMO_PG_URL=${pgUrl} deno run ${permissions.join(" ")} cli.ts ${args.join(" ")}\n`,
  );
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "--no-prompt", ...permissions, "cli.ts", ...args],
    cwd: ROOT,
    env: { DEMO_PG_URL: pgUrl },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(CLI_TIMEOUT_MS),
  }).spawn();
  const [stdout] = await Promise.all([
    pump(child.stdout, Deno.stdout),
    pump(child.stderr, Deno.stderr),
  ]);
  const status = await child.status;
  if (!status.success) {
    const how = status.signal
      ? `was killed by ${status.signal} (timeout ${CLI_TIMEOUT_MS / 1000}s?)`
      : `exited with code ${status.code}`;
    throw new DemoFailure(`'rivet ${args.join(" ")}' ${how}`);
  }
  return stdout;
}

/** The flags `rivet permissions` prints, one per line, as arguments (shell quotes removed). */
function parseFlags(printed: string): string[] {
  return printed.trim().split("\n").map((line) => line.replace(/^'(.*)'$/, "$1"));
}

/** Fails unless the summary says `name` succeeded with exactly `rows` rows. */
function expectExported(summaries: SummaryBlock[], name: string, rows: number): void {
  const block = summaries.find((s) => s.name === name);
  if (!block) throw new DemoFailure(`no summary printed for export '${name}'`);
  const { status, rows: got } = block.fields;
  if (status !== "success" || Number(got) !== rows) {
    throw new DemoFailure(
      `export '${name}': expected success with ${rows} rows, got status ${status} with ${got} rows`,
    );
  }
  console.log(`✓ ${name}: ${rows} rows exported`);
}

async function removeIfPresent(path: string, recursive = false): Promise<void> {
  try {
    await Deno.remove(join(ROOT, path), { recursive });
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) throw err;
  }
}

/** Forgets the previous demo run, so the incremental export starts from scratch again. */
async function resetPreviousRun(): Promise<void> {
  for (const suffix of ["", "-wal", "-shm", "-journal"]) await removeIfPresent(STATE_DB + suffix);
  await removeIfPresent(OUTPUT_DIR, true);
}

/** One file the demo produced. */
export interface OutputFile {
  /** Path relative to {@link ROOT}. */
  path: string;
  /** Data rows, read from the file itself. */
  rows: number;
  /** File size. */
  bytes: number;
}

async function csvRecords(path: string): Promise<number> {
  const text = await Deno.readTextFile(path);
  const records = await new Promise<unknown[]>((resolve, reject) =>
    parseCsv(text, {}, (err, out) => err ? reject(err) : resolve(out))
  );
  return records.length;
}

/**
 * Lists the files in {@link OUTPUT_DIR}, oldest first (names end with their UTC creation time),
 * with row counts read from the files themselves: the Parquet footer, or the CSV records minus
 * the header.
 */
export async function listOutput(): Promise<OutputFile[]> {
  const names: string[] = [];
  for await (const entry of Deno.readDir(join(ROOT, OUTPUT_DIR))) {
    // Hidden names are a destination's partial copies, never results.
    if (entry.isFile && !entry.name.startsWith(".")) names.push(entry.name);
  }
  names.sort();
  const files: OutputFile[] = [];
  for (const name of names) {
    const path = `${OUTPUT_DIR}/${name}`;
    const full = join(ROOT, path);
    const rows = name.endsWith(".parquet")
      ? Number((await parquetMetadataAsync(await asyncBufferFromFile(full))).num_rows)
      : (await csvRecords(full)) - 1;
    files.push({ path, rows, bytes: (await Deno.stat(full)).size });
  }
  return files;
}

/** Fails unless the output holds one file per run with the rows each run exported. */
function expectFiles(files: OutputFile[]): void {
  const expected: [string, string, number[]][] = [
    ["users", "parquet", [SEEDED.users]],
    ["orders", "csv", [SEEDED.orders]],
    ["events", "parquet", [SEEDED.events, NEW_EVENTS]],
  ];
  for (const [name, ext, rows] of expected) {
    const pattern = new RegExp(`/${name}_\\d{8}_\\d{6}_\\d{3}(_\\d+)?\\.${ext}$`);
    const got = files.filter((f) => pattern.test(f.path)).map((f) => f.rows);
    if (JSON.stringify(got) !== JSON.stringify(rows)) {
      throw new DemoFailure(
        `expected ${name} ${ext} files with rows [${rows.join(", ")}], found [${got.join(", ")}]`,
      );
    }
  }
  if (files.length !== 4) {
    throw new DemoFailure(`expected 4 files in ${OUTPUT_DIR}, found ${files.length}`);
  }
}

async function stopServer(server: PGLiteSocketServer): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  // A client that never hangs up would keep server.stop() waiting; exiting matters more.
  const timeout = new Promise<void>((resolve) => timer = setTimeout(resolve, STOP_TIMEOUT_MS));
  try {
    await Promise.race([server.stop(), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

async function demo(): Promise<void> {
  await resetPreviousRun();

  step("Start an embedded PostgreSQL (PGlite over the wire protocol)");
  const db = await PGlite.create();
  const server = new PGLiteSocketServer({ db, host: "127.0.0.1", port: 0 });
  try {
    await server.start();
    // sslmode=disable: the embedded server speaks plain TCP only. Under the default `prefer`,
    // node-postgres cannot go on after the server declines TLS, so rivet reconnects on a second
    // socket, which arrives before this one-connection server has released the first: refused.
    const pgUrl = `postgresql://postgres@${server.getServerConn()}/postgres?sslmode=disable`;
    const { rows: [version] } = await db.query<{ v: string }>("SELECT version() AS v");
    console.log(`${version.v.split(" on ")[0]} listening at ${pgUrl}`);

    step("Seed sample tables");
    await db.exec(SEED_SQL);
    console.log(
      `users: ${SEEDED.users} rows, orders: ${SEEDED.orders} rows, events: ${SEEDED.events} rows`,
    );

    step(
      "rivet permissions: the narrowest Deno flags for demo.yaml; every run below gets only these",
    );
    const flags = parseFlags(
      await rivet(["permissions", "--config", CONFIG_PATH], pgUrl, PERMISSIONS_STEP),
    );

    step("rivet run: users → Parquet, orders → CSV (full), events → Parquet (incremental)");
    const first = parseSummaries(await rivet(["run", "--config", CONFIG_PATH], pgUrl, flags));
    expectExported(first, "users", SEEDED.users);
    expectExported(first, "orders", SEEDED.orders);
    expectExported(first, "events", SEEDED.events);

    step(`Insert ${NEW_EVENTS} new events rows (later updated_at)`);
    // PGlite is a single backend shared by every connection, so the settings rivet's session made
    // (time zone, date style, timeouts) outlive its connection; write with the defaults again.
    await db.exec("RESET ALL");
    await db.exec(INSERT_NEW_EVENTS_SQL);
    const { rows: [latest] } = await db.query<{ cursor: string }>(
      `SELECT to_char(max(updated_at) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')
         AS cursor FROM events`,
    );
    console.log(`events now ends at updated_at = ${latest.cursor}`);

    step("rivet run --export events: the incremental export picks up only the new rows");
    const second = parseSummaries(
      await rivet(["run", "--config", CONFIG_PATH, "--export", "events"], pgUrl, flags),
    );
    expectExported(second, "events", NEW_EVENTS);

    step("rivet state show: the stored cursor");
    const state = await rivet(["state", "show", "--config", CONFIG_PATH], pgUrl, flags);
    if (!state.includes(latest.cursor)) {
      throw new DemoFailure(`state show does not list the cursor ${latest.cursor}`);
    }
    console.log(`✓ the events cursor is the newest updated_at (${latest.cursor})`);

    step("rivet metrics: the run history");
    await rivet(["metrics", "--config", CONFIG_PATH], pgUrl, flags);

    step(`Files in ${OUTPUT_DIR}`);
    const files = await listOutput();
    const width = Math.max(...files.map((f) => f.path.length));
    console.log(`${"FILE".padEnd(width)}  ${"ROWS".padStart(6)}  ${"BYTES".padStart(8)}`);
    for (const f of files) {
      console.log(
        `${f.path.padEnd(width)}  ${String(f.rows).padStart(6)}  ${String(f.bytes).padStart(8)}`,
      );
    }
    expectFiles(files);
  } finally {
    await stopServer(server);
    await db.close();
  }
}

if (import.meta.main) {
  const started = performance.now();
  let code = 0;
  try {
    await demo();
    const seconds = ((performance.now() - started) / 1000).toFixed(1);
    console.log(`\nDemo finished in ${seconds}s: every check passed. Files are in ${OUTPUT_DIR}/.`);
  } catch (err) {
    const message = err instanceof DemoFailure
      ? err.message
      : err instanceof Error
      ? err.stack ?? err.message
      : String(err);
    console.error(`\ndemo FAILED: ${message}`);
    code = 1;
  }
  // Explicit: after a shutdown that timed out, the server's sockets would keep the process alive.
  Deno.exit(code);
}
