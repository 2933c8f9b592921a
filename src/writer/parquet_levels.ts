/**
 * Parquet pages compressed on their way to the destination, in one streaming pass over a file
 * the encoder wrote without compression.
 *
 * The encoder (parquet-wasm) would compress only at its codecs' default levels, and on its own
 * thread, which on text-heavy rows is the export's bottleneck while the main thread waits. So for
 * the codecs `node:zlib` has (zstd, gzip) the encoder writes UNCOMPRESSED and the writer passes
 * the file through here, on the main thread: each page is compressed as it goes by, at the chosen
 * level, and re-emitted with a header carrying its new size (data pages v2 keep their level bytes
 * uncompressed and are flagged compressed; `parquet_page.ts`). Chunks the worker compressed
 * already pass through, their pages only recorded. At the end, the page indexes and the footer are
 * rewritten: the codec, every column chunk's sizes and page offsets, each row group's offset and
 * sizes, and the offset-index page locations, all of which the shrinking pages moved. Column
 * indexes hold no offsets and are kept as they are; so is every other field.
 *
 * Memory: one page (only when it arrives split across chunks) plus, at the end, the page indexes
 * and the footer. Offsets are tracked per page (two numbers each) to rewrite them at the end.
 * Input chunks are released as soon as their pages are out (see {@link ParquetRecompressor}).
 *
 * Only what arrow-rs writes is accepted: pages tile each column chunk, column chunks tile the file
 * from byte 4, and only page indexes lie between the last page and the footer. Anything else
 * (bloom filters, page CRCs, an input that is already compressed) fails with a
 * `DataIntegrityError` instead of producing a file whose offsets might be wrong.
 *
 * @module
 */
import { DataIntegrityError, errorMessage } from "../errors.ts";
import { concatBytes } from "../util/concat_bytes.ts";
import { releaseBuffer } from "../util/release_buffer.ts";
import {
  headerGrowth,
  type LevelCodec,
  type PageCompressor,
  pageCompressor,
  type PageHeader,
  readPageHeader,
  wholePages,
} from "./parquet_page.ts";
import { CHUNK, COLUMN, FILE, OFFSET_INDEX, PAGE_LOCATION, ROW_GROUP } from "./parquet_fields.ts";
import { type ChunkLayout, type FooterLayout, footerLayout } from "./parquet_footer_layout.ts";
import { copyWhole, type StructRule } from "./thrift_copy.ts";

/**
 * Turns an UNCOMPRESSED Parquet file, pushed in chunks, into the same file with every page
 * compressed by `codec` at `level`. Rows, values, encodings, statistics and metadata are
 * unchanged; sizes and offsets follow the new page sizes.
 *
 * Each pushed chunk's buffer becomes the recompressor's, which releases it (`releaseBuffer`) once
 * its bytes are out: pass a copy of bytes that anything else still uses. The chunks it returns
 * are the caller's; those {@link end} returns may be views of one buffer.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { tableFromArrays, tableToIPC } from "apache-arrow";
 * import { parquetMetadata } from "hyparquet";
 * import * as pw from "parquet-wasm";
 *
 * const table = tableFromArrays({
 *   id: Int32Array.from({ length: 20_000 }, (_, i) => i),
 *   word: Array.from({ length: 20_000 }, (_, i) => `word ${i % 300}`),
 * });
 * const plain = pw.writeParquet(
 *   pw.Table.fromIPCStream(tableToIPC(table, "stream")),
 *   new pw.WriterPropertiesBuilder().setCompression(pw.Compression.UNCOMPRESSED).build(),
 * );
 * const plainLength = plain.length;
 * const recompressor = new ParquetRecompressor("zstd", 19);
 * const chunks = [...recompressor.push(plain), ...recompressor.end()];
 * const packed = new Uint8Array(await new Blob(chunks as Uint8Array<ArrayBuffer>[]).arrayBuffer());
 *
 * assert.ok(packed.length < plainLength / 2);
 * assert.equal(recompressor.footerRows, 20_000);
 * const meta = parquetMetadata(packed.buffer);
 * assert.equal(meta.num_rows, 20_000n);
 * assert.deepEqual(meta.row_groups[0].columns.map((c) => c.meta_data?.codec), ["ZSTD", "ZSTD"]);
 * ```
 */
export class ParquetRecompressor {
  readonly #pass: LevelPass;

  /** @throws {RangeError} when `level` is outside `LEVEL_RANGES` (`parquet_page.ts`) for `codec`. */
  constructor(codec: LevelCodec, level: number) {
    this.#pass = new LevelPass(CODEC_IDS[codec], pageCompressor(codec, level));
  }

  /**
   * Takes the file's next bytes; returns the output bytes they complete, in order.
   *
   * `compressed` says the chunk's pages were compressed already, by a `ChunkCompressor`
   * (`parquet_chunk_compressor.ts`) of the same codec and level: the chunk holds whole pages
   * only, starts where the previous chunk ended a page, and comes back out as it is.
   *
   * @throws {DataIntegrityError} when the input is not an uncompressed Parquet file as arrow-rs
   * writes it, or a compressed chunk is not whole pages where a page begins.
   */
  push(chunk: Uint8Array, compressed = false): Uint8Array[] {
    const out: Uint8Array[] = [];
    const emit = (bytes: Uint8Array) => out.push(bytes);
    if (compressed) this.#pass.pushCompressed(chunk, emit);
    else this.#pass.push(chunk, emit);
    return out;
  }

  /**
   * Ends the file: returns the rest of the output (the rewritten page indexes and footer).
   *
   * @throws {DataIntegrityError} when the input ended early, or its footer is inconsistent or
   * cannot be rewritten.
   */
  end(): Uint8Array[] {
    const out: Uint8Array[] = [];
    this.#pass.end((bytes) => out.push(bytes));
    return out;
  }

  /**
   * The rows the input's footer records, once {@link end} has run: the rewrite leaves every row
   * count as it was, so this is what the output's footer says too.
   */
  get footerRows(): number | undefined {
    return this.#pass.footerRows;
  }
}

/** Parquet's `CompressionCodec` values. */
const CODEC_IDS: Record<LevelCodec, number> = { gzip: 2, zstd: 6 };
const UNCOMPRESSED = 0;
/** Every `CompressionCodec`'s name, by value, for messages. */
const CODEC_NAMES = ["UNCOMPRESSED", "SNAPPY", "GZIP", "LZO", "BROTLI", "LZ4", "ZSTD", "LZ4_RAW"];

const MAGIC = new TextEncoder().encode("PAR1");

/** First window tried for a page header; headers are tens of bytes unless they carry statistics. */
const HEADER_WINDOW = 1024;

/** Where an input position landed in the output. */
interface Boundary {
  /** Output position. */
  at: number;
  /** How many bytes longer all page headers before it became (their sizes' varints change). */
  growth: number;
}

/** The rewritten sizes of one column chunk, planned from the footer before it is copied. */
interface ChunkPlan {
  compressed: number;
  uncompressed: number;
  /** How many bytes longer its page headers became. */
  grown: number;
}

class LevelPass {
  readonly #codecId: number;
  readonly #compressPage: PageCompressor;
  readonly #queue = new ByteQueue();
  #phase: "magic" | "pages" | "tail" = "magic";
  #header: PageHeader | undefined;
  /** Input position of the queue's first byte. */
  #read = 0;
  /** Output position after everything emitted. */
  #written = 0;
  #growth = 0;
  /** Page starts (and the file start and tail start), keyed by input position. */
  readonly #boundaries = new Map<number, Boundary>([[0, { at: 0, growth: 0 }]]);
  /** The page indexes and footer, kept whole until the input ends. */
  readonly #tail: Uint8Array[] = [];
  /** The input footer's row count, read while rewriting it. */
  footerRows: number | undefined;

  constructor(
    codecId: number,
    compressPage: PageCompressor,
  ) {
    this.#codecId = codecId;
    this.#compressPage = compressPage;
  }

  push(chunk: Uint8Array, emit: (bytes: Uint8Array) => void): void {
    if (this.#phase === "tail") {
      this.#tail.push(chunk);
      return;
    }
    this.#queue.push(chunk);
    while (this.#step(emit));
    // Every page taken from these was copied into its output: nothing refers to them any more.
    for (const spent of this.#queue.spent()) releaseBuffer(spent);
  }

  /**
   * Takes a chunk of pages compressed elsewhere: they are recorded where the encoder wrote them
   * (each header grew as only compressing its page makes it grow) and go out unchanged.
   */
  pushCompressed(chunk: Uint8Array, emit: (bytes: Uint8Array) => void): void {
    if (this.#phase !== "pages" || this.#queue.length > 0) {
      throw new DataIntegrityError(
        `compressed Parquet pages arrived at ${this.#read}, which is not where a page begins`,
      );
    }
    const pages = wholePages(chunk, 0, this.#read, true);
    if (!pages) {
      throw new DataIntegrityError(
        `compressed Parquet pages at ${this.#read} do not end where their chunk ends`,
      );
    }
    for (const { header } of pages) {
      const growth = headerGrowth(header);
      this.#boundaries.set(this.#read, { at: this.#written, growth: this.#growth });
      this.#read += header.length - growth + header.uncompressed;
      this.#written += header.length + header.size;
      this.#growth += growth;
    }
    emit(chunk);
  }

  end(emit: (bytes: Uint8Array) => void): void {
    if (this.#phase !== "tail") {
      throw new DataIntegrityError(
        this.#phase === "magic"
          ? "Parquet stream ended before its magic bytes"
          : "Parquet stream ended inside its pages, without a footer",
      );
    }
    const tail = concatBytes(this.#tail);
    for (const chunk of this.#tail.splice(0)) releaseBuffer(chunk);
    for (const bytes of this.#rewriteTail(tail)) emit(bytes);
  }

  /** Handles the next unit of input if all of it is there; false when waiting for more. */
  #step(emit: (bytes: Uint8Array) => void): boolean {
    if (this.#phase === "magic") {
      if (this.#queue.length < MAGIC.length) return false;
      // A copy: the chunk it came in is released before the caller stores it.
      const magic = this.#queue.take(MAGIC.length).slice();
      if (!magic.every((b, i) => b === MAGIC[i])) {
        throw new DataIntegrityError("Parquet stream does not start with the Parquet magic bytes");
      }
      emit(magic);
      this.#read = this.#written = MAGIC.length;
      this.#phase = "pages";
      return true;
    }
    if (this.#header === undefined) {
      const header = this.#readHeader();
      if (header === "short") return false;
      if (header === "refused") {
        // Not a page header: the page indexes or the footer begin here.
        this.#boundaries.set(this.#read, { at: this.#written, growth: this.#growth });
        this.#phase = "tail";
        this.#tail.push(...this.#queue.drain());
        return false;
      }
      this.#header = header;
    }
    const header = this.#header;
    if (this.#queue.length < header.length + header.size) return false;
    this.#header = undefined;
    this.#queue.take(header.length);
    const body = this.#queue.take(header.size);
    // One chunk per page: fewer, whole messages for whoever carries the output on.
    const { page, growth } = this.#compressPage(header, body);
    this.#boundaries.set(this.#read, { at: this.#written, growth: this.#growth });
    emit(page);
    this.#read += header.length + header.size;
    this.#written += page.length;
    this.#growth += growth;
    return true;
  }

  /** Reads the page header at the front of the queue, widening the window while it is cut off. */
  #readHeader(): PageHeader | "short" | "refused" {
    for (let window = HEADER_WINDOW;; window *= 16) {
      const available = Math.min(window, this.#queue.length);
      const header = readPageHeader(this.#queue.peek(available), this.#read);
      if (header !== "short" || available === this.#queue.length) return header;
    }
  }

  /** The page indexes and footer, rewritten for the new page positions, with the file's end. */
  #rewriteTail(tail: Uint8Array<ArrayBuffer>): Uint8Array[] {
    const tailStart = this.#read;
    if (tail.length < 8 || !tail.subarray(-4).every((b, i) => b === MAGIC[i])) {
      throw new DataIntegrityError("Parquet stream does not end with a footer");
    }
    const footerLength = new DataView(tail.buffer, tail.byteOffset).getUint32(
      tail.length - 8,
      true,
    );
    const footerAt = tail.length - 8 - footerLength;
    if (footerAt < 0) throw new DataIntegrityError("Parquet stream ends with a truncated footer");
    let layout: FooterLayout;
    try {
      layout = footerLayout(tail.subarray(footerAt, footerAt + footerLength));
    } catch (err) {
      if (err instanceof DataIntegrityError) throw err;
      throw new DataIntegrityError(`unreadable Parquet footer: ${errorMessage(err)}`, {
        cause: err,
      });
    }
    this.footerRows = layout.rows;
    const plans = this.#planChunks(layout, tailStart);

    // The page indexes: column indexes copied, offset indexes rewritten, in file order.
    const out: Uint8Array[] = [];
    const moved = new Map<number, { at: number; length: number }>();
    let at = this.#written;
    let next = tailStart;
    for (const blob of pageIndexes(layout)) {
      if (blob.offset !== next) {
        throw new DataIntegrityError(
          `Parquet page index at ${blob.offset} does not follow the previous one (at ${next})`,
        );
      }
      const old = tail.subarray(blob.offset - tailStart, blob.offset - tailStart + blob.length);
      const bytes = blob.kind === "column" ? old : this.#rewriteOffsetIndex(old);
      moved.set(blob.offset, { at, length: bytes.length });
      out.push(bytes);
      at += bytes.length;
      next += blob.length;
    }
    if (next !== tailStart + footerAt) {
      throw new DataIntegrityError("Parquet page indexes do not end where the footer begins");
    }

    const footer = copyWhole(
      tail.subarray(footerAt, footerAt + footerLength),
      this.#footerRule(plans, moved),
      "footer",
    );
    const trailer = new Uint8Array(8);
    new DataView(trailer.buffer).setUint32(0, footer.length, true);
    trailer.set(MAGIC, 4);
    out.push(footer, trailer);
    return out;
  }

  /**
   * Checks that the column chunks tile the pages exactly and plans their new sizes. A header's
   * bytes count in both sizes, so the uncompressed size follows the headers' growth too.
   */
  #planChunks(layout: FooterLayout, tailStart: number): ChunkPlan[][] {
    let expected = MAGIC.length;
    const plans = layout.rowGroups.map((group) =>
      group.chunks.map((column) => {
        if (column.codec < 0) throw new DataIntegrityError("Parquet column chunk without metadata");
        const bloomFilter = column.bloomFilterOffset !== undefined;
        if (column.codec !== UNCOMPRESSED || bloomFilter) {
          throw new DataIntegrityError(
            `Parquet column chunk is ${CODEC_NAMES[column.codec] ?? `codec ${column.codec}`}` +
              (bloomFilter ? " with a bloom filter" : "") +
              `, not plain UNCOMPRESSED pages`,
          );
        }
        const start = column.dictionaryPageOffset ?? column.dataPageOffset;
        const end = start + column.totalCompressedSize;
        if (start !== expected) {
          throw new DataIntegrityError(
            `Parquet column chunk starts at ${start}, not where the previous one ended (${expected})`,
          );
        }
        expected = end;
        const first = this.#boundary(start);
        const last = this.#boundary(end);
        const grown = last.growth - first.growth;
        return {
          compressed: last.at - first.at,
          uncompressed: column.totalUncompressedSize + grown,
          grown,
        };
      })
    );
    if (expected !== tailStart) {
      throw new DataIntegrityError(
        `Parquet column chunks end at ${expected}, but the pages end at ${tailStart}`,
      );
    }
    return plans;
  }

  #boundary(position: number): Boundary {
    const boundary = this.#boundaries.get(position);
    if (!boundary) {
      throw new DataIntegrityError(
        `Parquet footer refers to ${position}, which is not a page start`,
      );
    }
    return boundary;
  }

  #rewriteOffsetIndex(bytes: Uint8Array): Uint8Array {
    let offset = 0;
    const location: StructRule = {
      integer: (fid, old) => {
        if (fid === PAGE_LOCATION.offset) {
          offset = old;
          return this.#boundary(old).at;
        }
        if (fid === PAGE_LOCATION.compressedPageSize) {
          return this.#boundary(offset + old).at - this.#boundary(offset).at;
        }
        return undefined;
      },
    };
    const rule: StructRule = {
      nested: (fid) => fid === OFFSET_INDEX.pageLocations ? location : undefined,
    };
    return copyWhole(bytes, rule, "offset index");
  }

  #footerRule(
    plans: ChunkPlan[][],
    indexes: ReadonlyMap<number, { at: number; length: number }>,
  ): StructRule {
    const index = (old: number) => {
      const moved = indexes.get(old);
      if (!moved) throw new DataIntegrityError(`Parquet footer refers to no page index at ${old}`);
      return moved;
    };
    const column = (plan: ChunkPlan): StructRule => ({
      integer: (fid, old) => {
        switch (fid) {
          case COLUMN.codec:
            return this.#codecId;
          case COLUMN.totalUncompressedSize:
            return plan.uncompressed;
          case COLUMN.totalCompressedSize:
            return plan.compressed;
          case COLUMN.dataPageOffset:
          case COLUMN.indexPageOffset:
          case COLUMN.dictionaryPageOffset:
            return this.#boundary(old).at;
        }
        return undefined;
      },
    });
    const chunk = (plan: ChunkPlan): StructRule => {
      let offsetIndexAt = 0;
      return {
        integer: (fid, old) => {
          switch (fid) {
            case CHUNK.fileOffset:
              return this.#boundary(old).at;
            case CHUNK.offsetIndexOffset:
              offsetIndexAt = old;
              return index(old).at;
            case CHUNK.offsetIndexLength:
              return index(offsetIndexAt).length;
            case CHUNK.columnIndexOffset:
              return index(old).at;
          }
          return undefined;
        },
        nested: (fid) => fid === CHUNK.metaData ? column(plan) : undefined,
      };
    };
    const group = (chunks: ChunkPlan[]): StructRule => ({
      integer: (fid, old) => {
        switch (fid) {
          case ROW_GROUP.totalByteSize:
            return old + sum(chunks, (c) => c.grown);
          case ROW_GROUP.fileOffset:
            return this.#boundary(old).at;
          case ROW_GROUP.totalCompressedSize:
            return sum(chunks, (c) => c.compressed);
        }
        return undefined;
      },
      nested: (fid, i) => fid === ROW_GROUP.columns ? chunk(chunks[i]) : undefined,
    });
    return { nested: (fid, i) => fid === FILE.rowGroups ? group(plans[i]) : undefined };
  }
}

/** Every column and offset index the footer points at, in file order. */
function pageIndexes(
  layout: FooterLayout,
): { offset: number; length: number; kind: "column" | "offset" }[] {
  const blobs: { offset: number; length: number; kind: "column" | "offset" }[] = [];
  const add = (chunk: ChunkLayout) => {
    if (chunk.columnIndexOffset !== undefined) {
      blobs.push({
        offset: chunk.columnIndexOffset,
        length: chunk.columnIndexLength ?? 0,
        kind: "column",
      });
    }
    if (chunk.offsetIndexOffset !== undefined) {
      blobs.push({
        offset: chunk.offsetIndexOffset,
        length: chunk.offsetIndexLength ?? 0,
        kind: "offset",
      });
    }
  };
  for (const group of layout.rowGroups) group.chunks.forEach(add);
  return blobs.sort((a, b) => a.offset - b.offset);
}

function sum<T>(items: readonly T[], of: (item: T) => number): number {
  let total = 0;
  for (const item of items) total += of(item);
  return total;
}

/** Input bytes not yet handled, as the chunks they arrived in. */
class ByteQueue {
  readonly #chunks: Uint8Array[] = [];
  /** Chunks taken whole since the last {@link spent}. */
  #spent: Uint8Array[] = [];
  /** Bytes of the first chunk already taken. */
  #head = 0;
  #length = 0;

  get length(): number {
    return this.#length;
  }

  push(chunk: Uint8Array): void {
    if (chunk.length === 0) return;
    this.#chunks.push(chunk);
    this.#length += chunk.length;
  }

  /** The first `n` bytes (at most `length`): a view when they lie in one chunk, else a copy. */
  peek(n: number): Uint8Array {
    const first = this.#chunks[0];
    if (first && first.length - this.#head >= n) return first.subarray(this.#head, this.#head + n);
    const out = new Uint8Array(n);
    let at = 0;
    for (let i = 0; at < n; i++) {
      const chunk = i === 0 ? this.#chunks[0].subarray(this.#head) : this.#chunks[i];
      const part = chunk.subarray(0, n - at);
      out.set(part, at);
      at += part.length;
    }
    return out;
  }

  /** Removes and returns the first `n` bytes (at most `length`). */
  take(n: number): Uint8Array {
    const out = this.peek(n);
    this.#length -= n;
    while (n > 0) {
      const left = this.#chunks[0].length - this.#head;
      if (n < left) {
        this.#head += n;
        break;
      }
      n -= left;
      this.#spent.push(this.#chunks.shift()!);
      this.#head = 0;
    }
    return out;
  }

  /** The chunks taken whole since the last call (what `take` returned may be views of them). */
  spent(): Uint8Array[] {
    const spent = this.#spent;
    this.#spent = [];
    return spent;
  }

  /** Removes and returns everything. */
  drain(): Uint8Array[] {
    const out = this.#chunks.splice(0);
    if (out.length > 0) out[0] = out[0].subarray(this.#head);
    this.#head = 0;
    this.#length = 0;
    return out;
  }
}
