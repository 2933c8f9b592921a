import assert from "node:assert/strict";
import { ExitCode, loadConfig, runExports } from "../mod.ts";
import { ENGINES, withDb } from "./support/engines.ts";
import { withTempDir, writeFile } from "./support/files.ts";

Deno.test("library: loadConfig + runExports return summaries", async () => {
  await withDb(ENGINES[0], async (db) => {
    await db.exec(`CREATE TABLE ${db.ns}.t AS SELECT g AS id FROM generate_series(1, 42) g`);
    await withTempDir(async (dir) => {
      const path = await writeFile(
        dir,
        "rivet.yaml",
        `
        source:
          type: postgres
          url: "${db.url}"
        exports:
          - name: t
            query: "SELECT * FROM ${db.ns}.t WHERE id <= \${MAX_ID}"
            format: csv
            destination: { type: local, path: ./out }
      `,
      );
      const config = await loadConfig(path, { params: { MAX_ID: "40" } });
      const { summaries, exitCode } = await runExports(config);
      assert.equal(exitCode, ExitCode.Ok);
      assert.equal(summaries.length, 1);
      assert.equal(summaries[0].status, "success");
      assert.equal(summaries[0].rows, 40);
      assert.match(summaries[0].locations[0], /\/out\/t_\d{8}_\d{6}_\d{3}\.csv$/);
    });
  });
});
