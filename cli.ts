/**
 * rivet's command-line entry point.
 *
 * @example
 * ```sh
 * deno run -A jsr:@rivet/cli run --config rivet.yaml
 * ```
 *
 * @module
 */
import { main } from "./src/cli/program.ts";

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
