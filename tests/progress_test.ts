/**
 * Progress of `rivet run` on the real PostgreSQL: the events carry a row estimate and the bytes
 * written; through the real CLI, a throttled export draws a live line under a pseudo-terminal
 * (`script`, util-linux) that never reaches stdout and is erased before log lines and at the end,
 * logs plain progress lines every 10 s when stderr is a pipe, and `--quiet` silences both.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { loadConfig } from "../src/config/load.ts";
import type { BatchEvent, CommittedEvent, RunEvent, StartedEvent } from "../src/pipeline/events.ts";
import { runExports } from "../src/pipeline/run.ts";
import { rivet } from "./support/cli.ts";
import { postgresDb, type TestDb, withDb } from "./support/engines.ts";
import { withTempDir, writeFile } from "./support/files.ts";
import { readCsv } from "./support/read_csv.ts";

const ROOT = new URL("../", import.meta.url).pathname;
const ESC = "\x1b";
const ERASE = `\r${ESC}[2K`;
const ROWS = 4_000;

/** `items` with {@link ROWS} rows and fresh statistics, so the planner's estimate is exact. */
async function createItems(db: TestDb): Promise<void> {
  await db.exec(
    `CREATE TABLE ${db.ns}.items AS SELECT g::bigint AS id, md5(g::text) AS note FROM generate_series(1, ${ROWS}) g;
     ALTER TABLE ${db.ns}.items ADD PRIMARY KEY (id);
     ANALYZE ${db.ns}.items`,
  );
}

/** One CSV export `slow` of `items`, in batches of 200 rows `throttleMs` apart. */
function slowConfig(db: TestDb, dir: string, throttleMs: number): Promise<string> {
  return writeFile(
    dir,
    "rivet.yaml",
    `
    source:
      type: postgres
      url: "${db.url}"
      tuning: { profile: balanced, batch_size: 200, throttle_ms: ${throttleMs} }
    exports:
      - name: slow
        query: SELECT * FROM ${db.ns}.items
        format: csv
        destination: { type: local, path: ./out }
    `,
  );
}

const hasScript = await new Deno.Command("script", { args: ["--version"], stdout: "null" })
  .output().then((o) => o.success, () => false);

/**
 * Runs `rivet <args>` under a pseudo-terminal with stdout redirected to `stdoutPath`; returns what
 * reached the terminal (stderr only).
 */
async function underTerminal(args: string[], stdoutPath: string): Promise<string> {
  const quote = (s: string) => `'${s.replaceAll("'", `'\\''`)}'`;
  const rivetCommand = [
    Deno.execPath(),
    "run",
    "--allow-net",
    "--allow-env",
    "--allow-read",
    "--allow-write",
    "--allow-sys",
    `${ROOT}cli.ts`,
    ...args,
  ].map(quote).join(" ");
  const out = await new Deno.Command("script", {
    args: ["-qc", `${rivetCommand} > ${quote(stdoutPath)}`, "/dev/null"],
    env: { RIVET_LOG: "info" },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
  return new TextDecoder().decode(out.stdout);
}

/** The live lines drawn for export `name`, in order. */
function liveLines(terminal: string, name: string): string[] {
  return terminal.split(ERASE).map((s) => s.split("\r")[0]).filter((s) =>
    s.startsWith(`${name}: `)
  );
}

const LOG_LINE = /\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z (INFO|WARN|ERROR)/g;

Deno.test({
  name:
    "progress: a live line on a terminal, erased before log lines and at the end, never on stdout",
  ignore: !hasScript,
  fn: async () => {
    await withDb({ create: postgresDb }, async (db) => {
      await createItems(db);
      await withTempDir(async (dir) => {
        const config = await slowConfig(db, dir, 100);
        const [terminal, quiet] = await Promise.all([
          underTerminal(["run", "-c", config], join(dir, "stdout.txt")),
          underTerminal(["run", "-c", config, "--quiet"], join(dir, "quiet_stdout.txt")),
        ]);

        const lines = liveLines(terminal, "slow");
        assert.ok(lines.length >= 4, terminal);
        const counts = lines.map((l) =>
          Number(l.match(/^slow: ([\d,]+)\//)![1].replaceAll(",", ""))
        );
        assert.deepEqual(counts, [...counts].sort((a, b) => a - b), "rows only grow");
        assert.ok(counts.at(-1)! > counts[0], "the line is redrawn as rows arrive");
        for (const line of lines) {
          assert.match(
            line,
            /^slow: [\d,]+\/~4,000 rows \(\d+%\), (.+ rows\/s, )?.+B, \d+s elapsed/,
          );
        }
        assert.ok(
          lines.some((l) => /, [\d,]+ rows\/s, .*, ETA \d+s$/.test(l)),
          "after a second, the rate and an ETA from the estimate",
        );
        // Every log line starts on a clean row: the live line was erased first.
        for (const m of terminal.matchAll(LOG_LINE)) {
          const before = terminal.slice(0, m.index);
          assert.ok(before === "" || before.endsWith("\n") || before.endsWith(ERASE), before);
        }
        // The last live line is erased: nothing is left on the terminal's last row.
        const last = terminal.lastIndexOf(`${ERASE}slow: `);
        assert.ok(terminal.indexOf(ERASE, last + ERASE.length) > last, "erased at the end");

        const stdout = await Deno.readTextFile(join(dir, "stdout.txt"));
        assert.match(stdout, /^── slow ──\n/);
        assert.match(stdout, /\n {2}rows: {16}4000\n/);
        assert.ok(!stdout.includes(ESC), "no terminal control on stdout");
        assert.doesNotMatch(stdout, /rows\/s|elapsed/);

        assert.equal(liveLines(quiet, "slow").length, 0, quiet);
        assert.ok(!quiet.includes(ERASE), quiet);
        assert.doesNotMatch(quiet, /elapsed/);
        assert.match(quiet, /INFO {2}export 'slow': starting/, "--quiet keeps the log");
        assert.match(await Deno.readTextFile(join(dir, "quiet_stdout.txt")), /rows: {16}4000\n/);
      });
    });
  },
});

Deno.test("progress: plain log lines every 10 s when stderr is a pipe; none for a short run or with --quiet", async () => {
  await withDb({ create: postgresDb }, async (db) => {
    await createItems(db);
    await withTempDir(async (dir) => {
      // 20 batches 600 ms apart: about 12 s, one progress line at 10 s.
      const long = await slowConfig(db, dir, 600);
      const shortDir = join(dir, "short");
      await Deno.mkdir(shortDir);
      const short = await slowConfig(db, shortDir, 50);
      const [piped, quiet, brief] = await Promise.all([
        rivet(["run", "-c", long]),
        rivet(["run", "-c", long, "--quiet"]),
        rivet(["run", "-c", short]),
      ]);
      for (const r of [piped, quiet, brief]) {
        assert.equal(r.code, 0, r.stderr);
        assert.ok(!r.stderr.includes(ESC), "no terminal control on a pipe");
        assert.doesNotMatch(r.stdout, /elapsed/);
      }
      const progress = piped.stderr.split("\n").filter((l) => l.includes(" elapsed"));
      assert.ok(progress.length >= 1, piped.stderr);
      for (const line of progress) {
        assert.match(
          line,
          /^\S+Z INFO {2}export 'slow': [\d,]+\/~4,000 rows \(\d+%\), [\d,]+ rows\/s, .+B, 1\ds elapsed, ETA \d+s$/,
        );
      }
      assert.doesNotMatch(quiet.stderr, /elapsed/);
      assert.doesNotMatch(brief.stderr, /elapsed/);
    });
  });
});

Deno.test("progress events: the started event carries the planner's estimate; batches the bytes written", async () => {
  await withDb({ create: postgresDb }, async (db) => {
    await createItems(db);
    await withTempDir(async (dir) => {
      const path = await writeFile(
        dir,
        "rivet.yaml",
        `
        source:
          type: postgres
          url: "${db.url}"
          tuning: { profile: fast, batch_size: 500 }
        exports:
          - name: whole
            query: SELECT * FROM ${db.ns}.items
            format: csv
            max_file_size: 60KB
            destination: { type: local, path: ./out }
          - name: keyed
            query: SELECT * FROM ${db.ns}.items
            key_column: id
            format: csv
            destination: { type: local, path: ./out }
          - name: chunks
            query: SELECT * FROM ${db.ns}.items
            mode: chunked
            chunk_column: id
            chunk_size: 1000
            parallel: 2
            format: parquet
            destination: { type: local, path: ./out }
        `,
      );
      const events: RunEvent[] = [];
      const result = await runExports(await loadConfig(path), { onEvent: (e) => events.push(e) });
      assert.equal(result.exitCode, 0);
      const of = <T extends RunEvent>(name: string, type: T["type"]) =>
        events.filter((e) => e.type === type && "exportName" in e && e.exportName === name) as T[];

      for (const name of ["whole", "keyed", "chunks"]) {
        const [started] = of<StartedEvent>(name, "started");
        assert.equal(started.estimatedRows, ROWS, name);
      }

      // CSV bytes reach the file as they are written: the last batch counts every part exactly.
      const whole = of<BatchEvent>("whole", "batch");
      const parts = of<CommittedEvent>("whole", "committed");
      assert.ok(parts.length >= 2, "max_file_size cut the piece into parts");
      let sizes = 0;
      let rows = 0;
      for (const part of parts) {
        sizes += (await Deno.stat(part.location)).size;
        rows += (await readCsv(part.location)).length - 1;
      }
      assert.equal(rows, ROWS);
      assert.equal(whole.at(-1)!.pieceBytes, sizes);
      assert.ok(whole.every((b, i) => i === 0 || b.pieceBytes > whole[i - 1].pieceBytes));

      // Parquet bytes lag by up to a row group, and never pass the finished file.
      for (const committed of of<CommittedEvent>("chunks", "committed")) {
        const batches = of<BatchEvent>("chunks", "batch").filter((b) =>
          b.piece === committed.piece
        );
        assert.ok(batches.at(-1)!.pieceBytes <= committed.bytes);
        assert.equal(committed.bytes, (await Deno.stat(committed.location)).size);
      }
    });
  });
});
