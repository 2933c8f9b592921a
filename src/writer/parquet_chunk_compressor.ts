/**
 * Compression in the encoder's worker, for the chunks it has time for. With zstd and gzip the
 * encoder writes pages uncompressed and the Parquet writer compresses them on the main thread
 * (`parquet_levels.ts`); but when the main thread is the slower side (decoding wide MySQL rows),
 * the worker waits for batches while the main thread compresses. So the worker compresses the
 * chunks that come out while it has no batch waiting, and the writer passes those through.
 *
 * Only a chunk made of whole pages, starting where the previous chunk ended one, is compressed:
 * arrow-rs flushes each finished row group as one chunk, so that is nearly every chunk of pages.
 * The file's start, its page indexes and footer, and any chunk that starts or ends inside a page
 * go out as they are. To know where pages start, every chunk's page headers are read, in order.
 *
 * @module
 */
import { concatBytes } from "../util/concat_bytes.ts";
import { releaseBuffer } from "../util/release_buffer.ts";
import {
  type LevelCodec,
  type PageCompressor,
  pageCompressor,
  wholePages,
} from "./parquet_page.ts";

/** What goes to the writer for one chunk of the encoder's output. */
export interface CompressedChunk {
  bytes: Uint8Array;
  /** Whether its pages were compressed here. */
  compressed: boolean;
}

const MAGIC_LENGTH = 4;

/**
 * Compresses, on request, the chunks of one uncompressed Parquet file that consist of whole
 * pages; every chunk of the file must pass through {@link ChunkCompressor.next}, in order.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { tableFromArrays, tableToIPC } from "apache-arrow";
 * import { parquetMetadata } from "hyparquet";
 * import * as pw from "parquet-wasm";
 * import { ChunkCompressor } from "./parquet_chunk_compressor.ts";
 *
 * const file = pw.writeParquet(
 *   pw.Table.fromIPCStream(
 *     tableToIPC(tableFromArrays({ n: Int32Array.from({ length: 50_000 }, (_, i) => i % 10) })),
 *   ),
 *   new pw.WriterPropertiesBuilder()
 *     .setCompression(pw.Compression.UNCOMPRESSED)
 *     .setDictionaryEnabled(false)
 *     .build(),
 * );
 * const meta = parquetMetadata(file.slice().buffer);
 * const pagesEnd = 4 + Number(meta.row_groups[0].total_compressed_size);
 *
 * const chunks = new ChunkCompressor("zstd", 1);
 * assert.equal(chunks.next(file.subarray(0, 4), true).compressed, false); // the magic bytes
 * const pages = chunks.next(file.subarray(4, pagesEnd), true);
 * assert.ok(pages.compressed && pages.bytes.length < (pagesEnd - 4) / 10);
 * const tail = chunks.next(file.subarray(pagesEnd), true); // page indexes and footer
 * assert.equal(tail.compressed, false);
 * ```
 */
export class ChunkCompressor {
  readonly #compress: PageCompressor;
  /** Bytes of the file seen so far. */
  #read = 0;
  /** Whether the next chunk starts where a page does. */
  #aligned = false;

  /** @throws {RangeError} when `level` is out of range for `codec` (see `parquet_page.ts`). */
  constructor(codec: LevelCodec, level: number) {
    this.#compress = pageCompressor(codec, level);
  }

  /**
   * The chunk to send in place of `chunk`: its pages compressed when `wanted` and it is whole
   * pages, else `chunk` itself.
   *
   * @throws {DataIntegrityError} when a page header is one this file should not have (see
   * `readPageHeader`).
   */
  next(chunk: Uint8Array, wanted: boolean): CompressedChunk {
    const start = this.#read;
    this.#read += chunk.length;
    const from = start === 0 ? MAGIC_LENGTH : 0;
    const pages = this.#aligned || start === 0 ? wholePages(chunk, from, start) : undefined;
    this.#aligned = pages !== undefined;
    if (!wanted || pages === undefined || pages.length === 0 || start === 0) {
      return { bytes: chunk, compressed: false };
    }
    const packed = pages.map(({ at, header }) =>
      this.#compress(header, chunk.subarray(at + header.length, at + header.length + header.size))
        .page
    );
    const bytes = concatBytes(packed);
    // Each page is a buffer of its own (`pageCompressor`): copied, it is spent.
    for (const page of packed) releaseBuffer(page);
    return { bytes, compressed: true };
  }
}
