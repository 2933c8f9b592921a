/**
 * The writer factory: picks the format implementation for one output file.
 *
 * @module
 */
import { createCsvWriter } from "./csv.ts";
import type { FormatName } from "../config/types.ts";
import type { FormatWriter, WriterFactory } from "./writer.ts";

/**
 * Opens a streaming writer for `options.format` on `sink`. CSV ignores the compression options.
 *
 * On failure (e.g. a column type the format cannot hold) the sink is aborted and the promise
 * rejects, with a `TypeMappingError` for type problems.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { tableFromArrays } from "apache-arrow";
 *
 * const table = tableFromArrays({ id: Int32Array.from([1, 2]), name: ["a", ""] });
 * let text = "";
 * const decoder = new TextDecoder();
 * const sink = new WritableStream<Uint8Array>({ write: (chunk) => void (text += decoder.decode(chunk)) });
 * const writer = await createWriter(table.schema, sink, { format: "csv", compression: "none" });
 * await writer.write(table.batches[0]);
 * await writer.finish();
 * assert.equal(text, 'id,name\n1,a\n2,""\n');
 * ```
 */
export const createWriter: WriterFactory = async (schema, sink, options): Promise<FormatWriter> => {
  if (options.format !== "parquet") return await createCsvWriter(schema, sink);
  // Loaded on first use: the Parquet engine's WebAssembly costs memory a CSV export never needs.
  const { createParquetWriter } = await import("./parquet.ts");
  return await createParquetWriter(schema, sink, options);
};

/**
 * Gets the writer of `format` ready before its first file, while the source connects: for Parquet
 * it loads the engine and starts an encoder worker (its WebAssembly compiles on the worker's own
 * thread). A failure here is left for `createWriter` to report.
 */
export async function prepareWriter(format: FormatName): Promise<void> {
  if (format !== "parquet") return;
  try {
    const [{ prepareEncoder }] = await Promise.all([
      import("./encoder_pool.ts"),
      import("./parquet.ts"),
    ]);
    prepareEncoder();
  } catch {
    // The same failure (a missing read permission, a module that does not load) recurs in
    // createWriter, which names the file it was writing.
  }
}
