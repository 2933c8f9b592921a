/**
 * Opens a connection to the configured source engine. Engine modules are loaded on first use so
 * that commands which never connect (help, state, metrics) do not load database drivers.
 *
 * @module
 */
import type { SourceConfig } from "../config/types.ts";
import type { Source } from "./source.ts";

/** A fresh connection for one attempt, with the session settings the tuning asks for. */
export async function openSource(config: SourceConfig): Promise<Source> {
  switch (config.type) {
    case "postgres": {
      const { openPostgres } = await import("./postgres/mod.ts");
      return await openPostgres(config);
    }
    case "mysql": {
      const { openMysql } = await import("./mysql/mod.ts");
      return await openMysql(config);
    }
  }
}
