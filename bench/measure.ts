/**
 * Whole-process measurement as the operating system accounts it: wall time around the process,
 * CPU time and peak resident set size from GNU time (`/usr/bin/time`), which reads them from the
 * kernel when the process is reaped. Peak RSS covers every thread of the process (a Deno Worker is
 * a thread) and is the largest of the process and any children it waited for.
 *
 * @module
 */

/** One measured process run. */
export interface Measurement {
  wallSeconds: number;
  /** User plus system CPU time. */
  cpuSeconds: number;
  peakRssMb: number;
}

/** A process to measure. */
export interface Command {
  cmd: string;
  args: string[];
  env?: Record<string, string>;
  cwd?: string;
}

function describe(command: Command): string {
  return [command.cmd, ...command.args].join(" ");
}

/**
 * Runs `command` with stdout to /dev/null and measures it. A non-zero exit throws, with the end of
 * the command's stderr, since a failed run has no time worth reporting.
 */
export async function measure(command: Command): Promise<Measurement> {
  const report = await Deno.makeTempFile({ prefix: "rivet-bench-time-" });
  try {
    const started = performance.now();
    const out = await new Deno.Command("/usr/bin/time", {
      args: ["-f", "%U %S %M", "-o", report, command.cmd, ...command.args],
      env: command.env,
      cwd: command.cwd,
      stdin: "null",
      stdout: "null",
      stderr: "piped",
    }).output();
    const wallSeconds = (performance.now() - started) / 1000;
    if (!out.success) {
      const stderr = new TextDecoder().decode(out.stderr);
      throw new Error(`failed (exit ${out.code}): ${describe(command)}\n${stderr.slice(-3000)}`);
    }
    // GNU time may prefix notes (e.g. "Command exited with non-zero status"): read the last line.
    const last = (await Deno.readTextFile(report)).trim().split("\n").at(-1) ?? "";
    const [user, system, rssKb] = last.split(" ").map(Number);
    if (![user, system, rssKb].every(Number.isFinite)) {
      throw new Error(`unreadable /usr/bin/time report '${last}' for ${describe(command)}`);
    }
    return { wallSeconds, cpuSeconds: user + system, peakRssMb: rssKb / 1024 };
  } finally {
    await Deno.remove(report);
  }
}

/** Runs `command` and returns how many bytes it wrote to stdout (read and discarded). */
export async function stdoutBytes(command: Command): Promise<number> {
  const child = new Deno.Command(command.cmd, {
    args: command.args,
    env: command.env,
    cwd: command.cwd,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const stderr = new Response(child.stderr).text();
  let bytes = 0;
  for await (const chunk of child.stdout) bytes += chunk.byteLength;
  const status = await child.status;
  if (!status.success) {
    throw new Error(`failed (exit ${status.code}): ${describe(command)}\n${await stderr}`);
  }
  return bytes;
}

/** The median of `values` (the mean of the middle two for an even count). */
export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}
