/**
 * The writer seam: turns Arrow record batches into the bytes of one output file.
 *
 * @module
 */
import type { RecordBatch, Schema } from "apache-arrow";
import type { CompressionName, FormatName } from "../config/types.ts";

/** Format options for one file. */
export interface WriterOptions {
  format: FormatName;
  /** Parquet codec; CSV ignores it. */
  compression: CompressionName;
  /** Codec level when the user set one (zstd 1..22, gzip 0..10). */
  compressionLevel?: number;
}

/**
 * Writes one file, streaming: memory stays bounded by one batch (plus one Parquet row group),
 * however many batches are written.
 *
 * @example
 * ```ts
 * const file = await Deno.open(path, { write: true, create: true, truncate: true });
 * const writer = await createWriter(schema, file.writable, { format: "parquet", compression: "zstd" });
 * for await (const batch of batches) await writer.write(batch);
 * const { rows, bytes } = await writer.finish(); // closes the stream
 * ```
 */
export interface FormatWriter {
  /** Appends one batch (its schema equals the writer's schema). */
  write(batch: RecordBatch): Promise<void>;
  /** Bytes handed to the sink so far (drives `max_file_size` rotation later). */
  bytesWritten(): number;
  /** Flushes the footer / last bytes and closes the sink. */
  finish(): Promise<{ rows: number; bytes: number }>;
  /** Gives up: releases memory and aborts the sink. Safe after a failure. */
  abort(reason?: unknown): Promise<void>;
}

/** File name extension per format. */
export function extensionFor(format: FormatName): string {
  return format === "parquet" ? "parquet" : "csv";
}

/** Signature of the factory in `src/writer/create.ts`. */
export type WriterFactory = (
  schema: Schema,
  sink: WritableStream<Uint8Array>,
  options: WriterOptions,
) => Promise<FormatWriter>;
