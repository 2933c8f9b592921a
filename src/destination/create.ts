/**
 * Builds the destination an export's config names.
 *
 * @module
 */
import type { DestinationConfig } from "../config/types.ts";
import type { Destination } from "./destination.ts";
import { GcsDestination } from "./gcs.ts";
import { LocalDestination } from "./local.ts";
import { S3Destination } from "./s3.ts";
import { StdoutDestination } from "./stdout.ts";

/** The destination for `config`. */
export function createDestination(config: DestinationConfig): Destination {
  switch (config.type) {
    case "local":
      return new LocalDestination(config.path);
    case "stdout":
      return new StdoutDestination();
    case "s3":
      return new S3Destination(config);
    case "gcs":
      return new GcsDestination(config);
  }
}
