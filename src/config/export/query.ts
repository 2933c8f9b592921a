/**
 * Export rule: the SQL comes from exactly one of `query` or `query_file` (read relative to the
 * config, with `${VAR}` expanded), and is not empty.
 *
 * @module
 */
import { resolve } from "node:path";
import { errorMessage } from "../../errors.ts";
import { expandPlaceholders, MissingVariableError } from "../expand.ts";
import { keyOf, labelOf, type RuleContext } from "./rule.ts";

/** The export's SQL text. */
export async function resolveQuery(ctx: RuleContext): Promise<string> {
  const { raw } = ctx;
  if ((raw.query === undefined) === (raw.query_file === undefined)) {
    ctx.fail(
      raw.query === undefined
        ? `exports[${ctx.index}]: must specify 'query' or 'query_file'`
        : `exports[${ctx.index}]: specify either 'query' or 'query_file', not both`,
      raw.query === undefined ? keyOf(ctx) : keyOf(ctx, "query_file"),
    );
  }
  let query = raw.query ?? "";
  if (raw.query_file !== undefined) {
    const file = resolve(ctx.dir, raw.query_file);
    try {
      query = expandPlaceholders(await Deno.readTextFile(file), ctx.vars);
    } catch (err) {
      if (err instanceof MissingVariableError) {
        ctx.fail(`${labelOf(ctx, "query_file")}: ${err.message}`, keyOf(ctx, "query_file"));
      }
      const why = err instanceof Deno.errors.NotFound ? "does not exist" : errorMessage(err);
      ctx.fail(`${labelOf(ctx, "query_file")}: '${file}' ${why}`, keyOf(ctx, "query_file"));
    }
  }
  if (query.trim() === "") {
    const key = raw.query_file ? "query_file" : "query";
    ctx.fail(`${labelOf(ctx, "query")}: the query is empty`, keyOf(ctx, key));
  }
  return query;
}
