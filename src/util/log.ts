/**
 * Leveled logging to stderr. stdout is reserved for file bytes (stdout destination) and reports.
 *
 * The level comes from `RIVET_LOG`, or `RUST_LOG` (documented by the spec), default `info`.
 *
 * @module
 */
import { redact } from "./secrets.ts";

/** Log levels, most severe first. */
export type LogLevel = "error" | "warn" | "info" | "debug";

const ORDER: Record<LogLevel, number> = { error: 0, warn: 1, info: 2, debug: 3 };

function parseLevel(raw: string | undefined): LogLevel | undefined {
  if (!raw) return undefined;
  // RUST_LOG may be `rivet=debug,info`: take the most verbose level mentioned.
  let found: LogLevel | undefined;
  for (const part of raw.toLowerCase().split(/[,=]/)) {
    const p = part.trim() === "trace" ? "debug" : part.trim();
    if (p in ORDER && (found === undefined || ORDER[p as LogLevel] > ORDER[found])) {
      found = p as LogLevel;
    }
  }
  return found;
}

function envLevel(): LogLevel {
  try {
    return parseLevel(Deno.env.get("RIVET_LOG")) ?? parseLevel(Deno.env.get("RUST_LOG")) ??
      "info";
  } catch {
    // No env permission: fall back to the default rather than failing to log.
    return "info";
  }
}

let current: LogLevel = envLevel();
let beforeLine: (() => void) | undefined;
const encoder = new TextEncoder();

/** Overrides the level (tests, library callers). */
export function setLogLevel(level: LogLevel): void {
  current = level;
}

/** True when messages at `level` are printed. */
export function enabled(level: LogLevel): boolean {
  return ORDER[level] <= ORDER[current];
}

/**
 * Registers what must happen before each log line is written, or removes it (`undefined`): a
 * live status line on the same terminal erases itself so the two never mix on one row.
 */
export function setBeforeLog(hook: (() => void) | undefined): void {
  beforeLine = hook;
}

function emit(level: LogLevel, message: string): void {
  if (!enabled(level)) return;
  beforeLine?.();
  const line = `${new Date().toISOString()} ${level.toUpperCase().padEnd(5)} ${redact(message)}\n`;
  Deno.stderr.writeSync(encoder.encode(line));
}

/** The process-wide logger. */
export const log = {
  error: (message: string): void => emit("error", message),
  warn: (message: string): void => emit("warn", message),
  info: (message: string): void => emit("info", message),
  debug: (message: string): void => emit("debug", message),
};
