/**
 * The messages between a Parquet writer (main thread) and its encoder (a Worker): Arrow IPC
 * batches go in, Parquet bytes come out, and each side tells the other when it may send more, so
 * memory stays bounded on both.
 *
 * @module
 */
import type { LevelCodec } from "./parquet_page.ts";

/** How the encoder builds the file: the writer properties it hands to arrow-rs. */
export interface EncoderSettings {
  /** parquet-wasm's codec name (`ZSTD`, `SNAPPY`, ...). */
  codec: string;
  /** Most rows in one row group. */
  maxRowGroupRows: number;
  /** Most buffered bytes in one row group. */
  maxRowGroupBytes: number;
  /** Whether columns start with dictionary pages (see `parquet.ts` for when they do). */
  dictionary: boolean;
  /**
   * With `codec` UNCOMPRESSED: the compression the writer applies to the pages, which the
   * worker applies itself to the chunks it has time for (`parquet_chunk_compressor.ts`).
   */
  compress?: { codec: LevelCodec; level: number };
}

/** What the writer asks of the encoder. */
export type EncoderRequest =
  /** A new file: the empty first batch (IPC stream) fixes its schema. */
  | { type: "start"; schema: Uint8Array; settings: EncoderSettings }
  /** Rows for the file, as one Arrow IPC stream (its buffer is transferred). */
  | { type: "batch"; ipc: Uint8Array }
  /** No more rows: write the footer. */
  | { type: "finish" }
  /** The writer stored `bytes` more of the output: the encoder may send that much more. */
  | { type: "written"; bytes: number };

/** What the encoder tells the writer. */
export type EncoderReply =
  /** The schema was accepted and the file begun. */
  | { type: "ready" }
  /**
   * The last batch was taken by the encoder: the writer may send the next one. `spare` is the
   * batch's buffer, handed back (transferred) for a later batch now that its bytes are in WASM
   * memory.
   */
  | { type: "accepted"; spare?: ArrayBuffer }
  /**
   * The next bytes of the file (the buffer is transferred); `compressed` when the worker
   * compressed their pages (see `EncoderSettings.compress`).
   */
  | { type: "chunk"; bytes: Uint8Array; compressed: boolean }
  /**
   * Every byte of the file was sent. `wasmBytes` is the size the encoder's WebAssembly memory
   * grew to, which it keeps (see `encoder_pool.ts`).
   */
  | { type: "end"; wasmBytes: number }
  /** The encoder failed; `rejected` means arrow-rs refused the schema or a batch. */
  | { type: "failed"; message: string; rejected: boolean };
