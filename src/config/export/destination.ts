/**
 * Export rule: where the files go. A local destination needs a `path` (relative to the config);
 * stdout takes none, and only exports that write one file can use it.
 *
 * @module
 */
import { resolve } from "node:path";
import type { DestinationConfig } from "../types.ts";
import { keyOf, labelOf, type RuleContext } from "./rule.ts";

/** The export's destination. */
export function resolveDestination(ctx: RuleContext): DestinationConfig {
  const { raw } = ctx;
  const { type, path } = raw.destination;
  if (type === "local") {
    if (path === undefined) {
      ctx.fail(
        `${labelOf(ctx, "destination")}: a local destination requires 'path'`,
        keyOf(ctx, "destination"),
      );
    }
    return { type, path: resolve(ctx.dir, path) };
  }
  if (path !== undefined) {
    ctx.fail(
      `${labelOf(ctx, "destination.path")}: not used by a stdout destination`,
      keyOf(ctx, "destination", "path"),
    );
  }
  // stdout carries exactly one file: several (chunks, parts) would run together into one stream.
  const multiFile = raw.mode === "chunked"
    ? "mode"
    : raw.max_file_size !== undefined
    ? "max_file_size"
    : undefined;
  if (multiFile !== undefined) {
    ctx.fail(
      `${labelOf(ctx, "destination")}: a stdout destination carries one file, but ${
        multiFile === "mode" ? "mode: chunked" : "max_file_size"
      } writes several; use a local destination`,
      keyOf(ctx, "destination"),
    );
  }
  return { type };
}
