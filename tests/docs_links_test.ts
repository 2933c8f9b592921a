import assert from "node:assert/strict";
import { dirname, join, relative } from "node:path";

const ROOT = new URL("../", import.meta.url).pathname;

async function markdownFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for await (const entry of Deno.readDir(dir)) {
    const path = join(dir, entry.name);
    if (entry.isDirectory) out.push(...await markdownFiles(path));
    else if (entry.name.endsWith(".md")) out.push(path);
  }
  return out;
}

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens. */
function slug(heading: string): string {
  return heading.toLowerCase().trim().replace(/[^\p{L}\p{N}\s_-]/gu, "").replace(/\s/g, "-");
}

async function anchors(file: string): Promise<Set<string>> {
  const text = await Deno.readTextFile(file);
  return new Set(
    [...text.matchAll(/^#{1,6} (.+)$/gm)].map((m) => slug(m[1])),
  );
}

Deno.test("docs: every relative link points to a file that exists, and to a heading it has", async () => {
  const files = [join(ROOT, "README.md"), ...await markdownFiles(join(ROOT, "docs"))];
  const broken: string[] = [];
  for (const file of files) {
    const text = await Deno.readTextFile(file);
    // Links in code blocks are examples, not links.
    const prose = text.replace(/```[\s\S]*?```/g, "");
    for (const [, target] of prose.matchAll(/\]\(([^)\s]+)\)/g)) {
      if (/^[a-z]+:/.test(target)) continue;
      const [path, anchor] = target.split("#");
      const resolved = path === "" ? file : join(dirname(file), path);
      try {
        await Deno.stat(resolved);
      } catch {
        broken.push(`${relative(ROOT, file)}: ${target} (no such file)`);
        continue;
      }
      if (anchor !== undefined && resolved.endsWith(".md")) {
        if (!(await anchors(resolved)).has(anchor)) {
          broken.push(`${relative(ROOT, file)}: ${target} (no such heading)`);
        }
      }
    }
  }
  assert.deepEqual(broken, []);
});
