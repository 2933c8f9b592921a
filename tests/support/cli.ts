/**
 * Runs the real CLI (`cli.ts`) in a subprocess, as users do.
 *
 * @module
 */

const ROOT = new URL("../../", import.meta.url).pathname;

/** What a CLI run printed and returned. */
export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
  /** Raw stdout bytes (file bytes for the stdout destination). */
  stdoutBytes: Uint8Array;
}

/**
 * Runs `rivet <args>` with the given extra environment and returns its output; `denoFlags` go to
 * `deno run` (e.g. `--preload` of a test seam).
 */
export async function rivet(
  args: string[],
  env: Record<string, string> = {},
  denoFlags: string[] = [],
): Promise<CliResult> {
  const out = await command(args, env, denoFlags).output();
  const decoder = new TextDecoder();
  return {
    code: out.code,
    stdout: decoder.decode(out.stdout),
    stderr: decoder.decode(out.stderr),
    stdoutBytes: out.stdout,
  };
}

/** The subprocess command for `rivet <args>` (spawn it to control its lifetime). */
export function command(
  args: string[],
  env: Record<string, string> = {},
  denoFlags: string[] = [],
): Deno.Command {
  return new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-net",
      "--allow-env",
      "--allow-read",
      "--allow-write",
      "--allow-sys",
      ...denoFlags,
      `${ROOT}cli.ts`,
      ...args,
    ],
    env: { RIVET_LOG: "info", ...env },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  });
}

/** Parses the `key: value` lines of each summary block printed by `rivet run`. */
export function parseSummaries(text: string): Record<string, Record<string, string>> {
  const out: Record<string, Record<string, string>> = {};
  let current: Record<string, string> | undefined;
  for (const line of text.split("\n")) {
    const head = line.match(/^── (.+) ──$/);
    if (head) {
      current = out[head[1]] = {};
      continue;
    }
    const kv = line.match(/^\s{2}([a-zA-Z_ ]+):\s+(.*)$/);
    if (kv && current) current[kv[1]] = kv[2];
  }
  return out;
}

/** A running `rivet` subprocess whose stderr can be awaited line by line. */
export interface RunningRivet {
  child: Deno.ChildProcess;
  /** Reads stderr until `pattern` has appeared (or the stream ends); returns all read so far. */
  waitFor(pattern: RegExp): Promise<string>;
  /** Reads stderr to its end and waits for the exit; returns everything read and the status. */
  finish(): Promise<{ stderr: string; stdout: string; code: number }>;
}

/** Starts `rivet <args>` in the background (for signal and kill tests). */
export function spawnRivet(args: string[], env: Record<string, string> = {}): RunningRivet {
  const child = command(args, env).spawn();
  const reader = child.stderr.pipeThrough(new TextDecoderStream()).getReader();
  let seen = "";
  const readUntil = async (done: (text: string) => boolean) => {
    while (!done(seen)) {
      const next = await reader.read();
      if (next.done) break;
      seen += next.value;
    }
    return seen;
  };
  return {
    child,
    waitFor: (pattern) => readUntil((text) => pattern.test(text)),
    async finish() {
      const stdout = new Response(child.stdout).text();
      await readUntil(() => false);
      const status = await child.status;
      return { stderr: seen, stdout: await stdout, code: status.code };
    },
  };
}
