/**
 * Writes docs/reference.md from the config schema (`deno task docs`), formatted as
 * `deno fmt` would, so the generated file passes the format check as it is. The drift test
 * (tests/docs_reference_test.ts) compares the file with {@link formattedReference}.
 *
 * @module
 */
import { fileURLToPath } from "node:url";
import { configReference } from "../src/config/reference.ts";

/** The project root: `deno fmt` runs there, to use the project's format settings. */
const ROOT = fileURLToPath(new URL("..", import.meta.url));

/** Where the reference lives. */
export const REFERENCE_PATH: string = `${ROOT}docs/reference.md`;

/** The reference as the file should hold it: rendered, then formatted by `deno fmt`. */
export async function formattedReference(): Promise<string> {
  const fmt = new Deno.Command(Deno.execPath(), {
    args: ["fmt", "--ext=md", "-"],
    cwd: ROOT,
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = fmt.stdin.getWriter();
  await writer.write(new TextEncoder().encode(configReference()));
  await writer.close();
  const out = await fmt.output();
  if (!out.success) throw new Error(`deno fmt failed: ${new TextDecoder().decode(out.stderr)}`);
  return new TextDecoder().decode(out.stdout);
}

if (import.meta.main) {
  await Deno.writeTextFile(REFERENCE_PATH, await formattedReference());
  console.log(`wrote ${REFERENCE_PATH}`);
}
