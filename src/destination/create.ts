/**
 * Builds the destination an export's config names.
 *
 * @module
 */
import type { DestinationConfig } from "../config/types.ts";
import type { Destination } from "./destination.ts";
import { LocalDestination } from "./local.ts";
import { StdoutDestination } from "./stdout.ts";

/**
 * The destination for `config`. A cloud SDK is loaded only by the exports that use it: each costs
 * tens of MB of memory and a noticeable start-up time.
 */
export async function createDestination(config: DestinationConfig): Promise<Destination> {
  switch (config.type) {
    case "local":
      return new LocalDestination(config.path);
    case "stdout":
      return new StdoutDestination();
    case "s3": {
      const { S3Destination } = await import("./s3.ts");
      return new S3Destination(config);
    }
    case "gcs": {
      const { GcsDestination } = await import("./gcs.ts");
      return new GcsDestination(config);
    }
  }
}
