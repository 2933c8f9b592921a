/**
 * Slack notifications through the real CLI on PostgreSQL, against a local webhook stand-in: each
 * trigger sends exactly the expected JSON, outcomes no trigger names send nothing, a broken webhook
 * costs a warning (without its URL) and never the exit code, and the config rule's errors.
 */
import assert from "node:assert/strict";
import { rivet } from "./support/cli.ts";
import { postgresDb, type TestDb, withDb } from "./support/engines.ts";
import { withTempDir, writeFile } from "./support/files.ts";
import { startWebhookServer, type WebhookServer } from "./support/webhook_server.ts";
import { type MetricsRecord, statePathFor, StateStore } from "../src/state/store.ts";

const pg = { create: postgresDb };
const HOOK_PATH = "/services/T0RIVET/B0RIVET/n0tify5ecretPath";

async function withWebhook<T>(body: (server: WebhookServer) => Promise<T>): Promise<T> {
  const server = startWebhookServer();
  try {
    return await body(server);
  } finally {
    await server.close();
  }
}

/** A loopback port nothing listens on (connections to it are refused at once). */
function closedPort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  return port;
}

/** A config with one export per `queries` entry and the given `notifications.slack` lines. */
function configText(db: TestDb, queries: Record<string, string>, slack: string[]): string {
  return [
    "source:",
    "  type: postgres",
    `  url: "${db.url}"`,
    "  tuning: { max_retries: 0 }",
    "exports:",
    ...Object.entries(queries).map(([name, query]) =>
      `  - { name: ${name}, query: "${query}", destination: { type: local, path: ./out } }`
    ),
    "notifications:",
    "  slack:",
    ...slack.map((l) => `    ${l}`),
  ].join("\n") + "\n";
}

/** The newest metrics row of `exportName`: the run's id, status, rows, duration and error. */
function lastMetrics(configPath: string, exportName: string): MetricsRecord {
  const store = StateStore.open(statePathFor(configPath));
  try {
    return store.metrics({ exportName, last: 1 })[0];
  } finally {
    store.close();
  }
}

/** The exact body the notifier must send for the run `m`, with the optional trailing lines. */
function expectedBody(m: MetricsRecord, extra: string[] = []): string {
  const head =
    `*${m.exportName}* | status: \`${m.status}\` | rows: ${m.rows} | duration: ${m.durationMs}ms`;
  return JSON.stringify({
    attachments: [{
      color: m.status === "failed" ? "#e74c3c" : "#f39c12",
      title: `Rivet: ${m.runId}`,
      text: [head, ...extra].join("\n"),
      footer: "rivet export notification",
    }],
  });
}

function assertOneRequest(server: WebhookServer, body: string): void {
  assert.equal(server.requests.length, 1, JSON.stringify(server.requests));
  const [req] = server.requests;
  assert.equal(req.method, "POST");
  assert.equal(req.path, HOOK_PATH);
  assert.equal(req.contentType, "application/json");
  assert.equal(req.body, body);
}

Deno.test("notify: a failed export sends one message with its run id, status, rows, duration and error (on defaults to [failure])", async () => {
  await withDb(pg, async (db) => {
    await withWebhook(async (server) => {
      await withTempDir(async (dir) => {
        const path = await writeFile(
          dir,
          "rivet.yaml",
          configText(db, { broken: `SELECT * FROM ${db.ns}.no_such_table` }, [
            `webhook_url: "${server.origin}${HOOK_PATH}"`,
          ]),
        );
        const r = await rivet(["run", "-c", path]);
        assert.equal(r.code, 2, r.stderr);
        const m = lastMetrics(path, "broken");
        assert.equal(m.status, "failed");
        assert.match(m.error ?? "", /no_such_table/);
        assertOneRequest(server, expectedBody(m, [`error: ${m.error}`]));
        assert.match(r.stderr, /INFO +export 'broken': Slack notification sent/);
      });
    });
  });
});

Deno.test("notify: a successful export with on: [failure] sends nothing", async () => {
  await withDb(pg, async (db) => {
    await db.exec(`CREATE TABLE ${db.ns}.t (id int); INSERT INTO ${db.ns}.t VALUES (1), (2)`);
    await withWebhook(async (server) => {
      await withTempDir(async (dir) => {
        const path = await writeFile(
          dir,
          "rivet.yaml",
          configText(db, { ok: `SELECT * FROM ${db.ns}.t` }, [
            `webhook_url: "${server.origin}${HOOK_PATH}"`,
            "on: [failure]",
          ]),
        );
        for (let run = 0; run < 2; run++) {
          const r = await rivet(["run", "-c", path]);
          assert.equal(r.code, 0, r.stderr);
          assert.doesNotMatch(r.stderr, /Slack/);
        }
        assert.deepEqual(server.requests, []);
      });
    });
  });
});

Deno.test("notify: a schema change sends one message with on: [schema_change]; the first run and an unchanged one send nothing", async () => {
  await withDb(pg, async (db) => {
    await db.exec(`CREATE TABLE ${db.ns}.t (id int); INSERT INTO ${db.ns}.t VALUES (1), (2)`);
    await withWebhook(async (server) => {
      await withTempDir(async (dir) => {
        const path = await writeFile(
          dir,
          "rivet.yaml",
          configText(db, { users: `SELECT * FROM ${db.ns}.t` }, [
            `webhook_url: "${server.origin}${HOOK_PATH}"`,
            "on: [schema_change]",
          ]),
        );
        for (let run = 0; run < 2; run++) {
          assert.equal((await rivet(["run", "-c", path])).code, 0);
        }
        assert.deepEqual(server.requests, [], "first run (no schema yet) and an unchanged one");
        await db.exec(`ALTER TABLE ${db.ns}.t ADD COLUMN note text`);
        const r = await rivet(["run", "-c", path]);
        assert.equal(r.code, 0, r.stderr);
        const m = lastMetrics(path, "users");
        assert.equal(m.schemaChanged, true);
        assert.equal(m.rows, 2);
        assertOneRequest(server, expectedBody(m, ["schema changed"]));
      });
    });
  });
});

Deno.test("notify: an export whose last check was DEGRADED sends one message with on: [degraded]", async () => {
  await withDb(pg, async (db) => {
    await db.exec(
      `CREATE TABLE ${db.ns}.events (id int, payload text);
       INSERT INTO ${db.ns}.events SELECT n, 'e' FROM generate_series(1, 500) AS g(n);
       ANALYZE ${db.ns}.events`,
    );
    await withWebhook(async (server) => {
      await withTempDir(async (dir) => {
        const path = await writeFile(
          dir,
          "rivet.yaml",
          configText(db, { scan: `SELECT * FROM ${db.ns}.events` }, [
            `webhook_url: "${server.origin}${HOOK_PATH}"`,
            "on: [degraded]",
          ]),
        );
        const check = await rivet(["check", "-c", path]);
        assert.equal(check.code, 0, check.stdout + check.stderr);
        assert.match(check.stdout, /Verdict: DEGRADED/);
        assert.deepEqual(server.requests, [], "check itself notifies nobody");
        const r = await rivet(["run", "-c", path]);
        assert.equal(r.code, 0, r.stderr);
        const m = lastMetrics(path, "scan");
        assert.equal(m.rows, 500);
        assertOneRequest(server, expectedBody(m, ["degraded: DEGRADED"]));
      });
    });
  });
});

Deno.test("notify: a webhook answering 500, hanging past the timeout or refusing leaves the exit code unchanged and warns without the URL", async () => {
  await withDb(pg, async (db) => {
    await db.exec(`CREATE TABLE ${db.ns}.t (id int); INSERT INTO ${db.ns}.t VALUES (1)`);
    for (const mode of ["fail", "hang", "refused"] as const) {
      await withWebhook(async (server) => {
        server.mode = mode === "refused" ? "ok" : mode;
        const origin = mode === "refused" ? `http://127.0.0.1:${closedPort()}` : server.origin;
        await withTempDir(async (dir) => {
          const path = await writeFile(
            dir,
            "rivet.yaml",
            configText(db, {
              good: `SELECT * FROM ${db.ns}.t`,
              bad: `SELECT * FROM ${db.ns}.no_such_table`,
            }, [
              `webhook_url: "${origin}${HOOK_PATH}"`,
              "on: [failure, degraded]",
            ]),
          );
          // `good` is DEGRADED (a full scan), so both exports send a message.
          assert.equal((await rivet(["check", "-c", path, "--export", "good"])).code, 0);
          const started = performance.now();
          const [good, bad] = await Promise.all([
            rivet(["run", "-c", path, "--export", "good"]),
            rivet(["run", "-c", path, "--export", "bad"]),
          ]);
          const elapsed = performance.now() - started;
          assert.equal(good.code, 0, good.stderr);
          assert.equal(bad.code, 2, bad.stderr);
          const reason = {
            fail: /the webhook answered HTTP 500$/,
            hang: /no answer within 10s$/,
            refused:
              /fetch failed: error sending request for url \(<webhook>\): .*Connection refused/,
          }[mode];
          for (const [name, r] of [["good", good], ["bad", bad]] as const) {
            const warning = r.stderr.split("\n").filter((l) => / WARN .*Slack/.test(l));
            assert.equal(warning.length, 1, r.stderr);
            assert.ok(
              warning[0].includes(`export '${name}': Slack notification not delivered: `),
              warning[0],
            );
            assert.match(warning[0], reason);
            assert.ok(!r.stderr.includes(HOOK_PATH), r.stderr);
            assert.ok(!r.stdout.includes(HOOK_PATH), r.stdout);
            assert.doesNotMatch(r.stderr, /Slack notification sent/);
          }
          if (mode === "hang") {
            assert.ok(elapsed >= 10_000 && elapsed < 30_000, `took ${elapsed}ms`);
          }
          assert.equal(server.requests.length, mode === "refused" ? 0 : 2);
        });
      });
    }
  });
});

Deno.test("notify: webhook_url_env supplies the URL; an unset variable is a config error naming it", async () => {
  await withDb(pg, async (db) => {
    await withWebhook(async (server) => {
      await withTempDir(async (dir) => {
        const path = await writeFile(
          dir,
          "rivet.yaml",
          configText(db, { broken: `SELECT * FROM ${db.ns}.no_such_table` }, [
            "webhook_url_env: RIVET_TEST_SLACK_HOOK",
            "on: [failure, schema_change]",
          ]),
        );
        const unset = await rivet(["run", "-c", path]);
        assert.equal(unset.code, 1);
        assert.equal(
          unset.stderr.trim(),
          `error: ${path}:9: notifications.slack.webhook_url_env: environment variable RIVET_TEST_SLACK_HOOK is not set`,
        );
        assert.deepEqual(server.requests, []);

        const r = await rivet(["run", "-c", path], {
          RIVET_TEST_SLACK_HOOK: `${server.origin}${HOOK_PATH}`,
        });
        assert.equal(r.code, 2, r.stderr);
        const m = lastMetrics(path, "broken");
        assertOneRequest(server, expectedBody(m, [`error: ${m.error}`]));
      });
    });
  });
});

Deno.test("notify: config rule: exactly one of webhook_url and webhook_url_env, http(s) only (the URL never echoed), a non-empty on", async () => {
  await withTempDir(async (dir) => {
    const head = [
      "source: { type: postgres, url: 'postgresql://postgres@127.0.0.1:5432/test' }",
      "exports:",
      "  - { name: e, query: SELECT 1 AS one, destination: { type: local, path: ./out } }",
      "notifications:",
      "  slack:",
    ];
    const cases: [string[], RegExp][] = [
      [
        ["    on: [failure]"],
        /:6: notifications\.slack: set exactly one of webhook_url or webhook_url_env$/,
      ],
      [
        ["    webhook_url: https://hooks.example/x/abcsecret", "    webhook_url_env: HOOK"],
        /:7: notifications\.slack: set exactly one of webhook_url or webhook_url_env, not both$/,
      ],
      [
        ["    webhook_url: ftp://hooks.example/x/abcsecret"],
        /:6: notifications\.slack\.webhook_url: the webhook must be an http:\/\/ or https:\/\/ URL, got 'ftp:\/\/'$/,
      ],
      [
        ["    webhook_url: not a url abcsecret"],
        /:6: notifications\.slack\.webhook_url: the webhook is not a valid URL$/,
      ],
      [
        ["    webhook_url: https://hooks.example/x/abcsecret", "    on: []"],
        /:7: notifications\.slack\.on: the list is empty/,
      ],
      [
        ["    webhook_url: https://hooks.example/x/abcsecret", "    on: [sometimes]"],
        /:7: .*notifications\.slack\.on\[0\]/,
      ],
    ];
    for (const [lines, expected] of cases) {
      const path = await writeFile(dir, "rivet.yaml", [...head, ...lines].join("\n") + "\n");
      const r = await rivet(["run", "-c", path]);
      assert.equal(r.code, 1, lines.join("\n"));
      assert.match(r.stderr.trim(), expected);
      assert.ok(!r.stderr.includes("abcsecret"), r.stderr);
    }
  });
});
