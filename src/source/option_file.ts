/**
 * Reads a file named by a connection URL option (TLS CA, certificate, key), with a config error
 * naming the option when it cannot be read.
 *
 * @module
 */
import { ConfigError } from "../errors.ts";

/** The text of the file at `path`, given by the URL option `key`. */
export async function readOptionFile(key: string, path: string): Promise<string> {
  try {
    return await Deno.readTextFile(path);
  } catch (error) {
    throw new ConfigError(`cannot read ${key} file ${path}: ${(error as Error).message}`, {
      key: `source.${key}`,
    });
  }
}
