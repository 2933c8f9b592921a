/**
 * Captures what rivet logs (to stderr) while a test body runs.
 *
 * @module
 */
import { type LogLevel, setLogLevel } from "../../src/util/log.ts";

/** Runs `body` with the log at `level` captured; returns the lines. */
export async function captureLog(
  level: LogLevel,
  body: () => Promise<void>,
): Promise<string[]> {
  const lines: string[] = [];
  const original = Deno.stderr.writeSync;
  Deno.stderr.writeSync = (p: Uint8Array) => {
    lines.push(new TextDecoder().decode(p));
    return p.length;
  };
  setLogLevel(level);
  try {
    await body();
  } finally {
    Deno.stderr.writeSync = original;
    setLogLevel("info");
  }
  return lines;
}
