/**
 * The writer factory: picks the format implementation for one output file.
 *
 * @module
 */
import { createCsvWriter } from "./csv.ts";
import { createParquetWriter } from "./parquet.ts";
import type { FormatWriter, WriterFactory } from "./writer.ts";

/**
 * Opens a streaming writer for `options.format` on `sink`. CSV ignores the compression options.
 *
 * On failure (e.g. a column type the format cannot hold) the sink is aborted and the promise
 * rejects, with a `TypeMappingError` for type problems.
 *
 * @example
 * ```ts
 * const writer = await createWriter(schema, file.writable, { format: "csv", compression: "none" });
 * ```
 */
export const createWriter: WriterFactory = (schema, sink, options): Promise<FormatWriter> =>
  options.format === "parquet"
    ? createParquetWriter(schema, sink, options)
    : createCsvWriter(schema, sink);
