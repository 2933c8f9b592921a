/**
 * Where the CLI prints: reports to stdout, diagnostics to stderr, both through secret redaction.
 *
 * @module
 */
import { redact } from "../util/secrets.ts";

const encoder = new TextEncoder();

/** Writes text to stdout (reports, tables). */
export function printOut(text: string): void {
  Deno.stdout.writeSync(encoder.encode(redact(text)));
}

/** Writes text to stderr (errors, summaries when stdout carries file bytes). */
export function printErr(text: string): void {
  Deno.stderr.writeSync(encoder.encode(redact(text)));
}
