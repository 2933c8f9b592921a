/**
 * Opens a connection to the configured source engine.
 *
 * @module
 */
import type { SourceConfig } from "../config/types.ts";
import { openPostgres } from "./postgres/mod.ts";
import type { Source } from "./source.ts";
import { RivetError } from "../pipeline/errors.ts";

/** A fresh connection for one attempt, with the session settings the tuning asks for. */
export function openSource(config: SourceConfig): Promise<Source> {
  switch (config.type) {
    case "postgres":
      return openPostgres(config);
    case "mysql":
      throw new RivetError("MySQL sources are not supported yet by this release of rivet");
  }
}
