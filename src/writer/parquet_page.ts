/**
 * One Parquet page of a file written UNCOMPRESSED, compressed: its header read, its body
 * compressed with `node:zlib` at a level, its header rewritten with the new size. Both threads of
 * a Parquet export compress pages this way (`parquet_levels.ts` on the main thread,
 * `parquet_chunk_compressor.ts` in the encoder's worker), so a page comes out byte for byte the
 * same wherever it was compressed.
 *
 * @module
 */
import { Buffer } from "node:buffer";
import zlib from "node:zlib";
import { DataIntegrityError } from "../errors.ts";
import { releaseBuffer } from "../util/release_buffer.ts";
import { copyStruct, copyWhole, type StructRule, ThriftType } from "./thrift_copy.ts";

/** The codecs that have levels. */
export type LevelCodec = "zstd" | "gzip";

/**
 * Levels each codec accepts: zstd's 1..22, and zlib's 0..9 for gzip (the 10 some Rust writers
 * offer is a miniz_oxide extra that zlib does not have).
 */
export const LEVEL_RANGES: Readonly<Record<LevelCodec, readonly [number, number]>> = {
  zstd: [1, 22],
  gzip: [0, 9],
};

/** Field ids of parquet.thrift's PageHeader, for the fields read or rewritten here. */
const PAGE = { type: 1, uncompressedSize: 2, compressedSize: 3, crc: 4, v2: 8 } as const;
const PAGE_V2 = { definitionLength: 5, repetitionLength: 6, isCompressed: 7 } as const;
/** Page types with a body to compress: data (0), dictionary (2) and data v2 (3). */
const PAGE_TYPES: ReadonlySet<number> = new Set([0, 2, 3]);

/** A page header as read: where its body is, and how big. */
export interface PageHeader {
  /** Bytes of the header itself. */
  length: number;
  /** Bytes of the body as stored (compressed, if the page is). */
  size: number;
  /** Bytes of the body uncompressed. */
  uncompressed: number;
  /** Leading body bytes that stay uncompressed: a v2 page's repetition and definition levels. */
  levels: number;
  /** The header's own bytes. */
  bytes: Uint8Array;
}

/**
 * Reads the page header at the start of `bytes` (`position` names it in errors): "short" when
 * `bytes` ends inside it, "refused" when they are not a page header (the page indexes and the
 * footer that follow the last page are not). A page must be stored uncompressed unless
 * `compressed`, in which case it must have been compressed here.
 *
 * @throws {DataIntegrityError} for a page this module cannot compress or account for: another
 * page type, a CRC, levels longer than the page, or the wrong compression state.
 */
export function readPageHeader(
  bytes: Uint8Array,
  position: number,
  compressed = false,
): PageHeader | "short" | "refused" {
  const seen = { type: -1, uncompressed: -1, compressed: -1, crc: false, levels: 0 };
  const v2: StructRule = {
    integer: (fid, old) => {
      if (fid === PAGE_V2.definitionLength || fid === PAGE_V2.repetitionLength) seen.levels += old;
      return undefined;
    },
  };
  const result = copyStruct(bytes, {
    // A page header starts with two i32 fields; the page indexes and the footer that follow the
    // last page do not (their first or second field is a list).
    accepts: (fid, type) => fid > PAGE.uncompressedSize || type === ThriftType.I32,
    integer: (fid, old) => {
      if (fid === PAGE.type) seen.type = old;
      else if (fid === PAGE.uncompressedSize) seen.uncompressed = old;
      else if (fid === PAGE.compressedSize) seen.compressed = old;
      else if (fid === PAGE.crc) seen.crc = true;
      return undefined;
    },
    nested: (fid) => fid === PAGE.v2 ? v2 : undefined,
  });
  if (typeof result === "string") return result;
  const where = `Parquet page at ${position}`;
  if (!PAGE_TYPES.has(seen.type)) {
    throw new DataIntegrityError(`${where} has page type ${seen.type}`);
  }
  if (seen.compressed < 0 || seen.uncompressed < 0) {
    throw new DataIntegrityError(`${where} has no size`);
  }
  if (!compressed && seen.compressed !== seen.uncompressed) {
    throw new DataIntegrityError(`${where} is compressed already`);
  }
  if (seen.crc) throw new DataIntegrityError(`${where} carries a CRC, which would no longer hold`);
  if (seen.levels > Math.min(seen.compressed, seen.uncompressed)) {
    throw new DataIntegrityError(`${where} has more level bytes than page bytes`);
  }
  return {
    length: result.read,
    size: seen.compressed,
    uncompressed: seen.uncompressed,
    levels: seen.levels,
    bytes: bytes.subarray(0, result.read),
  };
}

/** A page found in a chunk: where its header starts in the chunk, and the header. */
export interface PageAt {
  at: number;
  header: PageHeader;
}

/**
 * The pages `chunk` holds from `from` on (`position`: where the chunk starts in the file), or
 * undefined unless it holds whole pages only, up to its last byte. `compressed` as for
 * {@link readPageHeader}.
 *
 * @throws {DataIntegrityError} as {@link readPageHeader} does.
 */
export function wholePages(
  chunk: Uint8Array,
  from: number,
  position: number,
  compressed = false,
): PageAt[] | undefined {
  if (chunk.length < from) return undefined;
  const pages: PageAt[] = [];
  let at = from;
  while (at < chunk.length) {
    const header = readPageHeader(chunk.subarray(at), position + at, compressed);
    if (typeof header === "string") return undefined;
    pages.push({ at, header });
    at += header.length + header.size;
  }
  return at === chunk.length ? pages : undefined;
}

/**
 * How many bytes longer a page header became when this module compressed its page: only the
 * compressed size changed, from the uncompressed size, and a varint's length follows its value.
 */
export function headerGrowth(header: PageHeader): number {
  return varintLength(2 * header.size) - varintLength(2 * header.uncompressed);
}

/** Bytes of the zigzag varint of an i32 field holding non-negative `n`, passed as 2n. */
function varintLength(zigzag: number): number {
  let length = 1;
  while (zigzag >= 0x80) {
    zigzag = Math.floor(zigzag / 128);
    length++;
  }
  return length;
}

/**
 * Compresses one uncompressed page (`header` and its `body`): returns the whole new page (the
 * rewritten header, a v2 page's levels as they were, and the compressed values, in one buffer of
 * its own) and how many bytes longer its header became.
 */
export type PageCompressor = (
  header: PageHeader,
  body: Uint8Array,
) => { page: Uint8Array; growth: number };

/**
 * The {@link PageCompressor} for `codec` at `level`.
 *
 * @throws {RangeError} when `level` is outside {@link LEVEL_RANGES} for `codec`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { tableFromArrays, tableToIPC } from "apache-arrow";
 * import * as pw from "parquet-wasm";
 * import { headerGrowth, pageCompressor, readPageHeader } from "./parquet_page.ts";
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
 * const header = readPageHeader(file.subarray(4), 4);
 * assert.ok(typeof header === "object");
 * const body = file.subarray(4 + header.length, 4 + header.length + header.size);
 * const { page, growth } = pageCompressor("zstd", 3)(header, body);
 *
 * const packed = readPageHeader(page, 0, true);
 * assert.ok(typeof packed === "object");
 * assert.equal(packed.uncompressed, header.size);
 * assert.equal(packed.length + packed.size, page.length);
 * assert.equal(growth, headerGrowth(packed));
 * assert.ok(page.length < body.length / 10);
 * ```
 */
export function pageCompressor(codec: LevelCodec, level: number): PageCompressor {
  const compress = compressor(codec, level);
  return (header, body) => {
    const packed = compress(body.subarray(header.levels));
    const rewritten = rewriteHeader(header.bytes, header.levels + packed.length);
    const page = new Uint8Array(rewritten.length + header.levels + packed.length);
    page.set(rewritten);
    page.set(body.subarray(0, header.levels), rewritten.length);
    page.set(packed, rewritten.length + header.levels);
    releaseOutput(packed);
    return { page, growth: rewritten.length - header.length };
  };
}

function compressor(codec: LevelCodec, level: number): (bytes: Uint8Array) => Uint8Array {
  const [min, max] = LEVEL_RANGES[codec];
  if (!Number.isInteger(level) || level < min || level > max) {
    throw new RangeError(`${codec} level must be an integer in ${min}..${max}, got ${level}`);
  }
  // The synchronous calls: Deno's callback variants run on this thread too, only slower. The
  // pledged size puts the content size in the frame header, as arrow-rs does.
  return codec === "zstd"
    ? (bytes) =>
      zlib.zstdCompressSync(bytes, {
        pledgedSrcSize: bytes.length,
        chunkSize: outputBound(bytes.length),
        params: { [zlib.constants.ZSTD_c_compressionLevel]: level },
      })
    : (bytes) => zlib.gzipSync(bytes, { level, chunkSize: outputBound(bytes.length) });
}

/**
 * An output buffer size that holds any page compressed (zstd's bound is n + n/256 + 64, gzip's
 * n + n/1000 + 30), so node:zlib writes a page into one buffer of its own, which
 * {@link releaseOutput} can free. With its default 16-64 KB chunks it filled several and
 * concatenated them, and the dead chunks piled up to ~60 MB on the main thread before V8
 * collected them.
 */
function outputBound(length: number): number {
  return length + (length >> 8) + 1024;
}

/**
 * Frees the buffer behind a page node:zlib compressed, once it was copied out. Its output is a
 * view of a buffer allocated for that one call, except a small one, which may be a slice of
 * Node's shared Buffer pool: that is left to the garbage collector.
 */
function releaseOutput(packed: Uint8Array): void {
  if (packed.buffer.byteLength > Buffer.poolSize) releaseBuffer(packed);
}

/** `header` with its compressed size set, and a v2 page's values flagged compressed. */
function rewriteHeader(header: Uint8Array, compressedSize: number): Uint8Array {
  const v2: StructRule = {
    bool: (fid) => fid === PAGE_V2.isCompressed ? true : undefined,
  };
  return copyWhole(header, {
    integer: (fid) => fid === PAGE.compressedSize ? compressedSize : undefined,
    nested: (fid) => fid === PAGE.v2 ? v2 : undefined,
  }, "page header");
}
