/**
 * Resolves one `exports[]` entry by applying each export rule in turn. A new export setting is a
 * new rule file beside these, composed here.
 *
 * @module
 */
import { resolve } from "node:path";
import type { ExportConfig } from "../types.ts";
import { resolveDestination } from "./destination.ts";
import { resolveFileSize } from "./file_size.ts";
import { resolveFormat } from "./format.ts";
import { resolveKeyColumns } from "./key_column.ts";
import { resolveMetaColumns } from "./meta_columns.ts";
import { resolveMode } from "./mode.ts";
import { resolveQuality } from "./quality.ts";
import { resolveQuery } from "./query.ts";
import type { RuleContext } from "./rule.ts";

/** The resolved export, or a `ConfigError` from the first rule it breaks. */
export async function resolveExport(ctx: RuleContext): Promise<ExportConfig> {
  const query = await resolveQuery(ctx);
  const mode = resolveMode(ctx);
  const keyColumns = resolveKeyColumns(ctx, mode);
  return {
    name: ctx.raw.name,
    query,
    ...(ctx.raw.query_file === undefined
      ? {}
      : { queryFile: resolve(ctx.dir, ctx.raw.query_file) }),
    mode,
    ...(keyColumns === undefined ? {} : { keyColumns }),
    ...resolveFormat(ctx),
    maxFileSize: resolveFileSize(ctx),
    metaColumns: resolveMetaColumns(ctx),
    ...resolveQuality(ctx, mode),
    skipEmpty: ctx.raw.skip_empty ?? false,
    destination: resolveDestination(ctx),
  };
}
