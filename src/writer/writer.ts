/**
 * The writer seam: turns Arrow record batches into the bytes of one output file.
 *
 * @module
 */
import type { RecordBatch, Schema } from "apache-arrow";
import type { CompressionName, FormatName } from "../config/types.ts";

/** Format options for one file. */
export interface WriterOptions {
  /** Output file format. */
  format: FormatName;
  /** Parquet codec; CSV ignores it. */
  compression: CompressionName;
  /** Codec level when the user set one (zstd 1..22, gzip 0..9). */
  compressionLevel?: number;
  /**
   * The size at which the pipeline will end this file and start the next part
   * (`max_file_size`). Parquet keeps its row groups well below it, since its bytes reach the sink
   * a row group at a time and a part can only end between row groups.
   */
  partBytes?: number;
}

/**
 * Writes one file, streaming: memory stays bounded by one batch (plus one Parquet row group),
 * however many batches are written.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { tableFromArrays } from "apache-arrow";
 * import { createWriter } from "./create.ts";
 *
 * const table = tableFromArrays({ id: Int32Array.from([1, 2, 3]) });
 * const path = await Deno.makeTempFile({ suffix: ".parquet" });
 * const file = await Deno.open(path, { write: true, truncate: true });
 * const writer = await createWriter(table.schema, file.writable, {
 *   format: "parquet",
 *   compression: "zstd",
 * });
 * for (const batch of table.batches) await writer.write(batch);
 * const { rows } = await writer.finish(); // writes the footer and closes the file
 * assert.equal(rows, 3);
 * await Deno.remove(path);
 * ```
 */
export interface FormatWriter {
  /**
   * Appends one batch. Rejects with `TypeMappingError` when the batch's schema differs from the
   * writer's, and with the sink's error when the sink fails; after a rejection the writer is
   * failed and only `abort` is useful. Once it resolves the writer holds nothing of the batch
   * (what it still needs, it copied), so the caller may free the batch's memory.
   */
  write(batch: RecordBatch): Promise<void>;
  /**
   * Bytes handed to the sink so far (drives `max_file_size` rotation later). Parquet bytes reach
   * the sink a row group at a time, so this lags the data written by up to one row group.
   */
  bytesWritten(): number;
  /**
   * Flushes the footer / last bytes and closes the sink. For Parquet, first checks that the
   * footer it produced records exactly the rows written (`DataIntegrityError` otherwise).
   */
  finish(): Promise<{ rows: number; bytes: number }>;
  /** Gives up: releases memory and aborts the sink. Safe after a failure. */
  abort(reason?: unknown): Promise<void>;
}

/** File name extension per format. */
export function extensionFor(format: FormatName): string {
  return format === "parquet" ? "parquet" : "csv";
}

/**
 * Signature of the factory in `src/writer/create.ts`. The sink owns a chunk only until its write
 * resolves: a writer may then free the chunk's memory, so a sink that keeps chunks copies them.
 */
export type WriterFactory = (
  schema: Schema,
  sink: WritableStream<Uint8Array>,
  options: WriterOptions,
) => Promise<FormatWriter>;
