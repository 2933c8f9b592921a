/**
 * The package is ready for JSR: `deno publish --dry-run` passes with no slow types, and the
 * published files are the program's (the Parquet encoder worker included), not its tests or tools.
 */
import assert from "node:assert/strict";

const ROOT = new URL("../", import.meta.url).pathname;

Deno.test("deno publish --dry-run passes, with no slow types, publishing the program only", async () => {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["publish", "--dry-run", "--allow-dirty"],
    cwd: ROOT,
    env: { NO_COLOR: "1" },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  assert.equal(out.code, 0, text);
  assert.match(text, /Dry run complete/);
  // Slow types, like every publish diagnostic, print as `error[<code>]` or `warning[<code>]`.
  assert.doesNotMatch(text, /(error|warning)\[/);
  const files = [...text.matchAll(/file:\/\/(\S+) \(/g)]
    .map((m) => m[1])
    .filter((path) => path.startsWith(ROOT))
    .map((path) => path.slice(ROOT.length));
  for (const path of ["mod.ts", "cli.ts", "deno.json", "src/writer/parquet_encoder.ts"]) {
    assert.ok(files.includes(path), `${path} not published: ${files.join(", ")}`);
  }
  assert.ok(!files.some((f) => /^(tests|tools|bench|examples)\//.test(f)), files.join(", "));
});
