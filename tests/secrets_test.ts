/**
 * Secrets never leak. Test secrets are planted everywhere one can enter a config — a database
 * password in a URL (PostgreSQL, which trusts any password here, and MariaDB, whose passwordless
 * root then refuses the login), a password through `password_env`, an S3 secret key through
 * `secret_key_env` (on a destination that fails at once), a Slack webhook whose path is the secret
 * — and the real CLI runs every command that reads the config or the state, through successes,
 * failures and a broken webhook. Then every byte it produced is scanned: stdout and stderr of each
 * command, every file it left (output, state database and its WAL, staging), and every payload the
 * Slack stand-in received. No secret may appear, raw or URL-encoded.
 */
import assert from "node:assert/strict";
import { join, relative } from "node:path";
import { type CliResult, rivet } from "./support/cli.ts";
import { mysqlDb, postgresDb, withDb } from "./support/engines.ts";
import { withTempDir, writeFile } from "./support/files.ts";
import { startWebhookServer } from "./support/webhook_server.ts";

/** Each secret mixes in characters a URL must encode, so both forms are worth scanning for. */
const SECRETS = {
  pgUrlPassword: "pgUrl#S3cret/pw",
  pgEnvPassword: "pgEnv P@ss:w0rd",
  mysqlUrlPassword: "myUrl?S3cret&pw",
  s3SecretKey: "s3Secret/Key+With=Padding",
  slackToken: "sl4ckHookT0kenXyZ",
};
const HOOK_PATH = `/services/T0SECRET/B0SECRET/${SECRETS.slackToken}`;

/** A loopback port nothing listens on (connections to it are refused at once). */
function closedPort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  return port;
}

/** Every file under `dir`, recursively, except the configs (which hold secrets by design). */
async function filesUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  for await (const entry of Deno.readDir(dir)) {
    const path = join(dir, entry.name);
    if (entry.isDirectory) out.push(...await filesUnder(path));
    else if (entry.isFile && !/^rivet_.*\.yaml$/.test(entry.name)) out.push(path);
  }
  return out;
}

/** Where each form of each secret was found, e.g. `pgUrlPassword (encoded) in run a: stderr`. */
function leaks(where: string, text: string): string[] {
  const found: string[] = [];
  for (const [name, secret] of Object.entries(SECRETS)) {
    for (const [form, value] of [["raw", secret], ["encoded", encodeURIComponent(secret)]]) {
      if (text.includes(value)) found.push(`${name} (${form}) in ${where}`);
    }
  }
  return found;
}

Deno.test("secrets: no password, S3 secret key or webhook URL reaches any output, file, state or Slack payload", async () => {
  await withDb({ create: postgresDb }, async (pg) => {
    await withDb({ create: mysqlDb }, async (my) => {
      await pg.exec(`CREATE TABLE ${pg.ns}.t (id int); INSERT INTO ${pg.ns}.t VALUES (1), (2)`);
      const slack = startWebhookServer();
      try {
        await withTempDir(async (dir) => {
          const s3Port = closedPort();
          const hook = `${slack.origin}${HOOK_PATH}`;
          const local = "destination: { type: local, path: ./out }";
          const pgExports = [
            "exports:",
            `  - { name: ok, query: "SELECT * FROM ${pg.ns}.t", ${local} }`,
            `  - { name: inc, query: "SELECT * FROM ${pg.ns}.t", mode: incremental, cursor_column: id, ${local} }`,
            `  - { name: chunks, query: "SELECT * FROM ${pg.ns}.t", mode: chunked, chunk_column: id, chunk_size: 1, ${local} }`,
            `  - { name: broken, query: "SELECT * FROM ${pg.ns}.no_such_table", ${local} }`,
            "  - name: s3",
            `    query: "SELECT * FROM ${pg.ns}.t"`,
            "    destination:",
            "      type: s3",
            "      bucket: rivet-secrets-test",
            `      endpoint: "http://127.0.0.1:${s3Port}"`,
            "      region: us-east-1",
            "      access_key_env: RIVET_TEST_S3_KEY",
            "      secret_key_env: RIVET_TEST_S3_SECRET",
          ];
          const notifications = (webhook: string) => [
            "notifications:",
            "  slack:",
            `    ${webhook}`,
            "    on: [failure, schema_change, degraded]",
          ];
          // One directory each: each config has a state database of its own.
          const config = async (name: string, lines: string[]) => {
            await Deno.mkdir(join(dir, name));
            return await writeFile(join(dir, name), `rivet_${name}.yaml`, lines.join("\n") + "\n");
          };
          const configs = {
            // A password in the URL, a webhook URL in the config.
            url: await config("url", [
              "source:",
              "  type: postgres",
              `  url: "postgresql://postgres:${
                encodeURIComponent(SECRETS.pgUrlPassword)
              }@127.0.0.1:5432/test"`,
              "  tuning: { max_retries: 0 }",
              ...pgExports,
              ...notifications(`webhook_url: "${hook}"`),
            ]),
            // The password and the webhook from the environment.
            env: await config("env", [
              "source:",
              "  type: postgres",
              "  host: 127.0.0.1",
              "  user: postgres",
              "  database: test",
              "  password_env: RIVET_TEST_PG_PASSWORD",
              "  tuning: { max_retries: 0 }",
              ...pgExports,
              ...notifications("webhook_url_env: RIVET_TEST_SLACK_HOOK"),
            ]),
            // A password MariaDB's passwordless root refuses: every export fails at login.
            mysql: await config("mysql", [
              "source:",
              "  type: mysql",
              `  url: "mysql://root:${
                encodeURIComponent(SECRETS.mysqlUrlPassword)
              }@127.0.0.1:3306/${my.ns}"`,
              "  tuning: { max_retries: 0 }",
              "exports:",
              `  - { name: my, query: SELECT 1 AS one, ${local} }`,
              ...notifications(`webhook_url: "${hook}"`),
            ]),
          };
          const tmp = join(dir, "tmp");
          await Deno.mkdir(tmp);
          const env: Record<string, string> = {
            TMPDIR: tmp,
            RIVET_TEST_PG_PASSWORD: SECRETS.pgEnvPassword,
            RIVET_TEST_SLACK_HOOK: hook,
            RIVET_TEST_S3_KEY: "AKIARIVETTESTKEY",
            RIVET_TEST_S3_SECRET: SECRETS.s3SecretKey,
            AWS_EC2_METADATA_DISABLED: "true",
          };
          const debug = { RIVET_LOG: "debug" };
          const outputs: [string, CliResult][] = [];
          const cli = async (label: string, args: string[], extra: Record<string, string> = {}) => {
            const r = await rivet(args, { ...env, ...extra });
            outputs.push([label, r]);
            return r;
          };

          for (const [name, path] of Object.entries(configs)) {
            const c = ["-c", path];
            await cli(`check ${name}`, ["check", ...c], debug);
            await cli(`doctor ${name}`, ["doctor", ...c], debug);
            const run = await cli(`run ${name}`, ["run", ...c]);
            assert.equal(run.code, 2, `${name}: some exports fail\n${run.stderr}`);
            await cli(`run ${name} (debug)`, ["run", ...c], debug);
            for (const sub of ["show", "files", "chunks"]) {
              await cli(`state ${sub} ${name}`, ["state", sub, ...c]);
            }
            await cli(`metrics ${name}`, ["metrics", ...c]);
          }
          // A schema change, a webhook answering 500 and a refused one: more messages, more logs.
          await pg.exec(`ALTER TABLE ${pg.ns}.t ADD COLUMN note text`);
          await cli("run url (schema change)", ["run", "-c", configs.url]);
          slack.mode = "fail";
          await cli("run url (webhook 500)", ["run", "-c", configs.url], debug);
          slack.mode = "ok";
          await cli("run env (webhook refused)", ["run", "-c", configs.env], {
            ...debug,
            RIVET_TEST_SLACK_HOOK: `http://127.0.0.1:${closedPort()}${HOOK_PATH}`,
          });

          // The secrets were really in play: sent to the servers, failures reported, messages sent.
          const all = outputs.map(([, r]) => r.stdout + r.stderr).join("\n");
          assert.match(all, /Access denied for user 'root'@'[^']+' \(using password: YES\)/);
          assert.match(all, /export 's3': .*127\.0\.0\.1/);
          assert.match(all, /Slack notification not delivered: the webhook answered HTTP 500/);
          assert.match(all, /Slack notification not delivered: fetch failed: .*Connection refused/);
          const printed = (label: string) => outputs.find(([l]) => l === label)![1].stdout;
          assert.match(printed("state show url"), /^inc +2 /m);
          assert.match(printed("state chunks env"), /chunks/);
          assert.match(printed("state files env"), /chunks_.*_chunk/);
          const texts = slack.requests.map((r) => JSON.parse(r.body).attachments[0].text as string);
          for (const fact of ["status: `failed`", "schema changed", "degraded: DEGRADED"]) {
            assert.ok(texts.some((t) => t.includes(fact)), `a message says ${fact}`);
          }
          assert.ok(texts.some((t) => t.startsWith("*my*")), "the MariaDB failure was notified");

          const found: string[] = [];
          for (const [label, r] of outputs) {
            found.push(...leaks(`${label}: stdout`, r.stdout));
            found.push(...leaks(`${label}: stderr`, r.stderr));
          }
          const files = await filesUnder(dir);
          for (const name of Object.keys(configs)) {
            assert.ok(files.includes(join(dir, name, ".rivet_state.db")), files.join("\n"));
          }
          assert.ok(files.some((f) => f.startsWith(join(dir, "url", "out"))), files.join("\n"));
          for (const file of files) {
            // Bytes decoded leniently: SQLite pages and Parquet hold text among binary.
            const text = new TextDecoder("utf-8", { fatal: false }).decode(
              await Deno.readFile(file),
            );
            found.push(...leaks(`file ${relative(dir, file)}`, text));
          }
          for (const [i, req] of slack.requests.entries()) {
            found.push(...leaks(`Slack payload ${i}`, req.body));
          }
          assert.deepEqual(found, []);
        });
      } finally {
        await slack.close();
      }
    });
  });
});
