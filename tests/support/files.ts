/**
 * Temporary directories and config files for tests.
 *
 * @module
 */

/** Creates a temp dir, passes it to `body`, and removes it afterwards. */
export async function withTempDir<T>(body: (dir: string) => Promise<T>): Promise<T> {
  const dir = await Deno.makeTempDir({ prefix: "rivet-test-" });
  try {
    return await body(dir);
  } finally {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

/** Writes `text` (leading indentation of the block removed) to `dir/name`; returns the path. */
export async function writeFile(dir: string, name: string, text: string): Promise<string> {
  const lines = text.replace(/^\n/, "").split("\n");
  const indent = Math.min(
    ...lines.filter((l) => l.trim()).map((l) => l.match(/^ */)![0].length),
  );
  const path = `${dir}/${name}`;
  await Deno.writeTextFile(path, lines.map((l) => l.slice(indent)).join("\n"));
  return path;
}

/** Sorted names in `dir`; empty when it does not exist. */
export async function listDir(dir: string): Promise<string[]> {
  const names: string[] = [];
  try {
    for await (const e of Deno.readDir(dir)) names.push(e.name);
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) throw err;
  }
  return names.sort();
}
