/**
 * Builds the destination an export's config names.
 *
 * @module
 */
import type { DestinationConfig } from "../config/types.ts";
import type { Destination } from "./destination.ts";
import { LocalDestination } from "./local.ts";
import { StdoutDestination } from "./stdout.ts";

/** The destination for `config`. */
export function createDestination(config: DestinationConfig): Destination {
  switch (config.type) {
    case "local":
      return new LocalDestination(config.path);
    case "stdout":
      return new StdoutDestination();
  }
}
