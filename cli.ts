/**
 * rivet's command-line entry point.
 *
 * @example
 * ```sh
 * # The narrowest permissions for this config, installed as a `rivet` command:
 * deno run --allow-read --allow-env jsr:@rivet/cli permissions --config rivet.yaml --format install | sh
 * rivet run --config rivet.yaml
 * ```
 *
 * @module
 */
import { main } from "./src/cli/program.ts";

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
