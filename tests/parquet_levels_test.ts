import assert from "node:assert/strict";
import zlib from "node:zlib";
import { type RecordBatch, Table as ArrowTable, tableFromArrays, tableToIPC } from "apache-arrow";
import {
  type ColumnChunk,
  type FileMetaData,
  parquetMetadata,
  parquetReadObjects,
  readOffsetIndex,
  type RowGroup,
} from "hyparquet";
import { parquetHeader } from "hyparquet/src/column.js";
import * as pw from "parquet-wasm";
import type { CompressionName } from "../src/config/types.ts";
import { DataIntegrityError } from "../src/errors.ts";
import { createParquetWriter } from "../src/writer/parquet.ts";
import { ParquetRecompressor } from "../src/writer/parquet_levels.ts";
import { ChunkCompressor } from "../src/writer/parquet_chunk_compressor.ts";
import { type LevelCodec, readPageHeader } from "../src/writer/parquet_page.ts";
import { copyWhole } from "../src/writer/thrift_copy.ts";
import { concatBytes } from "../src/util/concat_bytes.ts";
import { withTempDir } from "./support/files.ts";
import { captureLog } from "./support/log.ts";
import { readParquet } from "./support/read_parquet.ts";
import { FIXTURE_ROWS, fixtureBatch, SCHEMA } from "./support/writer_fixtures.ts";

const FOOTER_CODEC: Record<LevelCodec, string> = { zstd: "ZSTD", gzip: "GZIP" };

/** Decoders for hyparquet, which only knows Snappy itself. */
const DECOMPRESSORS = {
  ZSTD: (input: Uint8Array) => new Uint8Array(zlib.zstdDecompressSync(input)),
  GZIP: (input: Uint8Array) => new Uint8Array(zlib.gunzipSync(input)),
};

/** `batches` fixture batches: every type rivet writes (text, decimals, timestamps, lists, NULLs). */
function everyType(batches: number): ArrowTable {
  const all: RecordBatch[] = [];
  for (let i = 0; i < batches; i++) all.push(fixtureBatch(i * FIXTURE_ROWS));
  return new ArrowTable(SCHEMA, all);
}

/** Order lines: repetitive keys, prices, dates and short comments (compress well, unevenly). */
function lineitem(rows: number): ArrowTable {
  let seed = 7;
  const next = (n: number) => (seed = (seed * 1103515245 + 12345) % 2147483648) % n;
  const words = ["furiously", "regular", "deposits", "sleep", "final", "ironic", "packages"];
  return tableFromArrays({
    orderkey: BigInt64Array.from({ length: rows }, (_, i) => BigInt(i >> 2)),
    partkey: Int32Array.from({ length: rows }, () => next(200_000)),
    price: Float64Array.from({ length: rows }, () => next(10_000_000) / 100),
    shipdate: Int32Array.from({ length: rows }, () => 8_000 + next(2_500)),
    comment: Array.from(
      { length: rows },
      () => Array.from({ length: 3 + next(5) }, () => words[next(words.length)]).join(" "),
    ),
  });
}

interface PlainOptions {
  /** Write data pages v2 instead of v1. */
  v2?: boolean;
  rowGroupRows?: number;
  pageBytes?: number;
}

/** `table` as an UNCOMPRESSED Parquet file, written by parquet-wasm. */
function plainParquet(table: ArrowTable, options: PlainOptions = {}): Uint8Array {
  let props = new pw.WriterPropertiesBuilder()
    .setCompression(pw.Compression.UNCOMPRESSED)
    .setMaxRowGroupSize(options.rowGroupRows ?? 1024 * 1024)
    .setDataPageSizeLimit(options.pageBytes ?? 1024 * 1024);
  if (options.v2) props = props.setWriterVersion(pw.WriterVersion.V2);
  return pw.writeParquet(pw.Table.fromIPCStream(tableToIPC(table, "stream")), props.build());
}

/**
 * `bytes` through the level pass, arriving in chunks of `chunk` bytes (copies: the pass releases
 * what it is given).
 */
async function recompress(
  bytes: Uint8Array,
  codec: LevelCodec,
  level: number,
  chunk = 65_536,
): Promise<Uint8Array> {
  const pass = new ParquetRecompressor(codec, level);
  const out: Uint8Array[] = [];
  for (let at = 0; at < bytes.length; at += chunk) {
    out.push(...pass.push(bytes.slice(at, at + chunk)));
  }
  out.push(...pass.end());
  return new Uint8Array(await new Blob(out as Uint8Array<ArrayBuffer>[]).arrayBuffer());
}

function metadataOf(bytes: Uint8Array): FileMetaData {
  return parquetMetadata(bytes.slice().buffer);
}

/** What the pass must leave alone: the footer without its codecs, sizes and offsets. */
function unmoved(meta: FileMetaData): unknown {
  const copy: Partial<FileMetaData> = structuredClone(meta);
  delete copy.metadata_length;
  for (const group of copy.row_groups as Partial<RowGroup>[]) {
    delete group.file_offset;
    delete group.total_compressed_size;
    delete group.total_byte_size;
    for (const chunk of group.columns!) {
      delete chunk.offset_index_offset;
      delete chunk.offset_index_length;
      delete chunk.column_index_offset;
      const column = chunk.meta_data as Partial<NonNullable<ColumnChunk["meta_data"]>>;
      delete column.codec;
      delete column.total_compressed_size;
      delete column.total_uncompressed_size;
      delete column.data_page_offset;
      delete column.dictionary_page_offset;
    }
  }
  return copy;
}

/**
 * Walks every page of `bytes` with hyparquet's own parser and checks the footer and offset
 * indexes against what is really there; checks everything else against `plain`. Returns the page
 * types seen.
 */
function assertWellFormed(bytes: Uint8Array, plain: Uint8Array, codec: string): Set<string> {
  const meta = metadataOf(bytes);
  const before = metadataOf(plain);
  assert.deepEqual(unmoved(meta), unmoved(before));
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const types = new Set<string>();
  meta.row_groups.forEach((group, g) => {
    let groupCompressed = 0;
    let groupUncompressed = 0;
    group.columns.forEach((chunk, c) => {
      const column = chunk.meta_data!;
      const where = `row group ${g} column ${c}`;
      assert.equal(column.codec, codec, where);
      const start = Number(column.dictionary_page_offset ?? column.data_page_offset);
      const end = start + Number(column.total_compressed_size);
      const dataPages: { offset: number; size: number }[] = [];
      let uncompressed = 0;
      for (let at = start; at < end;) {
        const reader = { view, offset: at };
        const header = parquetHeader(reader);
        const headerLength = reader.offset - at;
        types.add(header.type);
        if (header.type === "DICTIONARY_PAGE") {
          assert.equal(Number(column.dictionary_page_offset), at, `${where} dictionary page`);
        } else {
          dataPages.push({ offset: at, size: headerLength + header.compressed_page_size });
        }
        uncompressed += headerLength + header.uncompressed_page_size;
        at += headerLength + header.compressed_page_size;
        assert.ok(at <= end, `${where}: a page runs past the chunk`);
      }
      assert.equal(Number(column.total_uncompressed_size), uncompressed, `${where} uncompressed`);
      assert.equal(Number(column.data_page_offset), dataPages[0].offset, `${where} data page`);
      if (g === 0 && c === 0) assert.equal(Number(group.file_offset), start, "row group offset");
      groupCompressed += end - start;
      groupUncompressed += uncompressed;

      const locations = readOffsetIndex({
        view: new DataView(bytes.buffer, bytes.byteOffset + Number(chunk.offset_index_offset)),
        offset: 0,
      }).page_locations;
      const plainChunk = before.row_groups[g].columns[c];
      const plainLocations = readOffsetIndex({
        view: new DataView(plain.buffer, plain.byteOffset + Number(plainChunk.offset_index_offset)),
        offset: 0,
      }).page_locations;
      assert.deepEqual(
        locations.map((l) => ({ offset: Number(l.offset), size: l.compressed_page_size })),
        dataPages,
        `${where} offset index`,
      );
      assert.deepEqual(
        locations.map((l) => l.first_row_index),
        plainLocations.map((l) => l.first_row_index),
      );
      const indexBytes = (file: Uint8Array, at: ColumnChunk) =>
        file.subarray(
          Number(at.column_index_offset),
          Number(at.column_index_offset) + at.column_index_length!,
        );
      assert.deepEqual(indexBytes(bytes, chunk), indexBytes(plain, plainChunk), `${where} index`);
    });
    assert.equal(Number(group.total_compressed_size), groupCompressed, `row group ${g} size`);
    assert.equal(Number(group.total_byte_size), groupUncompressed, `row group ${g} bytes`);
  });
  return types;
}

/** Both readers see in `bytes` exactly the values they see in `plain`. */
async function assertSameValues(dir: string, bytes: Uint8Array, plain: Uint8Array, codec: string) {
  assert.deepEqual(
    await parquetReadObjects({ file: bytes.slice().buffer, compressors: DECOMPRESSORS }),
    await parquetReadObjects({ file: plain.slice().buffer }),
  );
  await Deno.writeFile(`${dir}/plain.parquet`, plain);
  await Deno.writeFile(`${dir}/packed.parquet`, bytes);
  const expected = await readParquet(`${dir}/plain.parquet`);
  const actual = await readParquet(`${dir}/packed.parquet`);
  assert.deepEqual(actual.rows, expected.rows);
  assert.deepEqual(actual.rowGroupRows, expected.rowGroupRows);
  for (const [path, codecs] of actual.codecs) assert.deepEqual([...codecs], [codec], path);
}

for (const v2 of [false, true]) {
  Deno.test(`levels: zstd 1, 3, 9, 19 keep every value (data pages ${v2 ? "v2" : "v1"})`, async () => {
    const plain = plainParquet(everyType(300), { v2, rowGroupRows: 1_000, pageBytes: 2_048 });
    await withTempDir(async (dir) => {
      for (const level of [1, 3, 9, 19]) {
        const packed = await recompress(plain, "zstd", level, 7_777);
        const types = assertWellFormed(packed, plain, "ZSTD");
        assert.deepEqual(
          [...types].sort(),
          [v2 ? "DATA_PAGE_V2" : "DATA_PAGE", "DICTIONARY_PAGE"],
          `page types at level ${level}`,
        );
        await assertSameValues(dir, packed, plain, "ZSTD");
      }
    });
  });
}

Deno.test("levels: every zstd level (1..22) and gzip level (0..9) on a small file", async () => {
  const plain = plainParquet(everyType(12), { rowGroupRows: 50 });
  await withTempDir(async (dir) => {
    for (const codec of ["zstd", "gzip"] as const) {
      for (let level = codec === "zstd" ? 1 : 0; level <= (codec === "zstd" ? 22 : 9); level++) {
        const packed = await recompress(plain, codec, level);
        assertWellFormed(packed, plain, FOOTER_CODEC[codec]);
        await assertSameValues(dir, packed, plain, FOOTER_CODEC[codec]);
      }
    }
  });
});

Deno.test("levels: higher levels make smaller files", async () => {
  const plain = plainParquet(lineitem(60_000));
  const sizes = async (codec: LevelCodec, levels: number[]) => {
    const out: number[] = [];
    for (const level of levels) out.push((await recompress(plain, codec, level)).length);
    return out;
  };
  const zstd = await sizes("zstd", [1, 9, 19]);
  const gzip = await sizes("gzip", [0, 1, 6]);
  for (const [name, series] of [["zstd", zstd], ["gzip", gzip]] as const) {
    for (let i = 1; i < series.length; i++) {
      assert.ok(series[i] < series[i - 1], `${name}: ${series.join(" > ")} does not fall`);
    }
  }
  assert.ok(zstd[0] < plain.length, `zstd 1 leaves ${zstd[0]} of ${plain.length} bytes`);
});

Deno.test("levels: how the input is cut into chunks does not change the output", async () => {
  const plain = plainParquet(everyType(4), { v2: true, rowGroupRows: 20, pageBytes: 256 });
  const whole = await recompress(plain, "gzip", 9, plain.length);
  for (const chunk of [1, 3, 4, 17, 1_000]) {
    assert.deepEqual(await recompress(plain, "gzip", 9, chunk), whole, `chunks of ${chunk}`);
  }
});

Deno.test("levels: every chunk the pass is given is released once its bytes are out", () => {
  const plain = plainParquet(everyType(4), { rowGroupRows: 20, pageBytes: 256 });
  const pass = new ParquetRecompressor("zstd", 1);
  const given: Uint8Array<ArrayBuffer>[] = [];
  const out: Uint8Array[] = [];
  for (let at = 0; at < plain.length; at += 100) {
    const chunk = plain.slice(at, at + 100);
    given.push(chunk);
    out.push(...pass.push(chunk));
  }
  out.push(...pass.end());
  assert.deepEqual(given.filter((chunk) => !chunk.buffer.detached), []);
  assert.ok(out.every((chunk) => chunk.length > 0), "an output chunk was released with its input");
});

/** `bytes` cut into the magic, runs of `pagesPerChunk` whole pages, and the rest (copies). */
function pageChunks(bytes: Uint8Array, pagesPerChunk: number): Uint8Array[] {
  const chunks = [bytes.slice(0, 4)];
  let start = 4;
  let at = 4;
  for (let pages = 0;; pages++) {
    const header = readPageHeader(bytes.subarray(at), at);
    if (pages === pagesPerChunk || typeof header === "string") {
      if (at > start) chunks.push(bytes.slice(start, at));
      start = at;
      pages = 0;
      if (typeof header === "string") break;
    }
    at += header.length + header.size;
  }
  chunks.push(bytes.slice(at));
  return chunks;
}

Deno.test("levels: pages the worker compressed pass through, and the file is the same byte for byte", async () => {
  for (const v2 of [false, true]) {
    const plain = plainParquet(everyType(4), { v2, rowGroupRows: 20, pageBytes: 256 });
    const whole = await recompress(plain, "zstd", 3);
    for (
      const [pagesPerChunk, wanted] of [[1, () => true], [3, (i: number) => i % 2 === 0]] as const
    ) {
      const worker = new ChunkCompressor("zstd", 3);
      const pass = new ParquetRecompressor("zstd", 3);
      const out: Uint8Array[] = [];
      let compressed = 0;
      for (const [i, chunk] of pageChunks(plain, pagesPerChunk).entries()) {
        const sent = worker.next(chunk, wanted(i));
        if (sent.compressed) compressed++;
        out.push(...pass.push(sent.bytes, sent.compressed));
      }
      out.push(...pass.end());
      const file = new Uint8Array(await new Blob(out as Uint8Array<ArrayBuffer>[]).arrayBuffer());
      assert.ok(
        compressed > 2,
        `v2 ${v2}, ${pagesPerChunk} pages a chunk: ${compressed} compressed`,
      );
      assert.deepEqual(file, whole, `v2 ${v2}, ${pagesPerChunk} pages a chunk`);
    }
  }
});

Deno.test("levels: chunks that cut pages are not compressed by the worker, and still come out whole", async () => {
  const plain = plainParquet(everyType(4), { rowGroupRows: 20, pageBytes: 256 });
  const whole = await recompress(plain, "gzip", 9);
  const worker = new ChunkCompressor("gzip", 9);
  const pass = new ParquetRecompressor("gzip", 9);
  const out: Uint8Array[] = [];
  for (let at = 0; at < plain.length; at += 1000) {
    const sent = worker.next(plain.slice(at, at + 1000), true);
    assert.equal(sent.compressed, false, `chunk at ${at}`);
    out.push(...pass.push(sent.bytes, sent.compressed));
  }
  out.push(...pass.end());
  const file = new Uint8Array(await new Blob(out as Uint8Array<ArrayBuffer>[]).arrayBuffer());
  assert.deepEqual(file, whole);
  const stray = new ParquetRecompressor("gzip", 9);
  stray.push(plain.slice(0, 10));
  assert.throws(
    () => stray.push(new ChunkCompressor("gzip", 9).next(plain.slice(0, 4), true).bytes, true),
    DataIntegrityError,
  );
});

Deno.test("levels: a file without row groups keeps its footer", async () => {
  const plain = plainParquet(new ArrowTable(SCHEMA, []));
  const packed = await recompress(plain, "zstd", 5, 3);
  assert.equal(metadataOf(packed).num_rows, 0n);
  assert.deepEqual(unmoved(metadataOf(packed)), unmoved(metadataOf(plain)));
});

Deno.test("levels: input it cannot rewrite fails the pass", async () => {
  const plain = plainParquet(everyType(3));
  const native = pw.writeParquet(
    pw.Table.fromIPCStream(tableToIPC(everyType(3), "stream")),
    new pw.WriterPropertiesBuilder().setCompression(pw.Compression.ZSTD).build(),
  );
  const footerStart = plain.length - 8 -
    new DataView(plain.buffer).getUint32(plain.length - 8, true);
  const cases: [string, Uint8Array, RegExp][] = [
    ["compressed pages", native, /is compressed already/],
    ["cut inside the pages", plain.subarray(0, 200), /ended inside its pages/],
    ["cut inside the footer", plain.subarray(0, footerStart + 10), /does not end with a footer/],
    ["no magic bytes", new TextEncoder().encode("PAR2 and more"), /magic bytes/],
    ["nothing", new Uint8Array(0), /before its magic bytes/],
  ];
  for (const [name, bytes, message] of cases) {
    await assert.rejects(
      recompress(bytes, "zstd", 3),
      (err: unknown) => err instanceof DataIntegrityError && message.test(err.message),
      name,
    );
  }
});

Deno.test("levels: the pass reports the row count of the footer it rewrote, and refuses one that contradicts its row groups", async () => {
  const plain = plainParquet(everyType(3));
  const pass = new ParquetRecompressor("zstd", 3);
  assert.equal(pass.footerRows, undefined);
  pass.push(plain.slice());
  pass.end();
  assert.equal(pass.footerRows, Number(metadataOf(plain).num_rows));
  assert.ok(pass.footerRows! > 0);

  // FileMetaData field 3 is num_rows; the row groups keep theirs.
  const footerLength = new DataView(plain.buffer).getUint32(plain.length - 8, true);
  const footerAt = plain.length - 8 - footerLength;
  const footer = copyWhole(
    plain.subarray(footerAt, plain.length - 8),
    { integer: (fid, old) => fid === 3 ? old + 1 : undefined },
    "footer",
  );
  const trailer = new Uint8Array(8);
  new DataView(trailer.buffer).setUint32(0, footer.length, true);
  trailer.set(new TextEncoder().encode("PAR1"), 4);
  const inconsistent = concatBytes([plain.subarray(0, footerAt), footer, trailer]);
  await assert.rejects(
    recompress(inconsistent, "zstd", 3),
    (err: unknown) => err instanceof DataIntegrityError && /row groups hold/.test(err.message),
  );
});

Deno.test("levels: levels outside the codec's range are refused", () => {
  for (const [codec, level] of [["zstd", 0], ["zstd", 23], ["gzip", -1], ["gzip", 10]] as const) {
    assert.throws(() => new ParquetRecompressor(codec, level), RangeError, `${codec} ${level}`);
  }
  assert.throws(() => new ParquetRecompressor("zstd", 2.5), RangeError);
});

/** What the writer makes of the fixture batches, with these options. */
async function written(
  compression: CompressionName,
  compressionLevel: number | undefined,
): Promise<Uint8Array> {
  const chunks: Uint8Array<ArrayBuffer>[] = [];
  const sink = new WritableStream<Uint8Array>({
    write: (chunk) => void chunks.push(chunk.slice()),
  });
  const writer = await createParquetWriter(SCHEMA, sink, {
    format: "parquet",
    compression,
    compressionLevel,
  }, { maxRowGroupRows: 100, maxRowGroupBytes: 1 << 20 });
  for (let i = 0; i < 60; i++) await writer.write(fixtureBatch(i * FIXTURE_ROWS));
  const { rows, bytes } = await writer.finish();
  assert.equal(rows, 60 * FIXTURE_ROWS);
  const file = new Uint8Array(await new Blob(chunks).arrayBuffer());
  assert.equal(bytes, file.length);
  assert.equal(writer.bytesWritten(), file.length);
  return file;
}

Deno.test("levels: the Parquet writer applies compression_level, silently", async () => {
  const files = new Map<string, Uint8Array>();
  const log = await captureLog("debug", async () => {
    for (
      const [codec, level] of [
        ["zstd", undefined],
        ["zstd", 1],
        ["zstd", 19],
        ["gzip", undefined],
        ["gzip", 6],
        ["gzip", 1],
      ] as const
    ) {
      files.set(`${codec} ${level}`, await written(codec, level));
    }
  });
  assert.deepEqual(log.filter((line) => /level/i.test(line)), []);
  // The encoder's own levels: no second pass, so the very same bytes.
  assert.deepEqual(files.get("zstd 1"), files.get("zstd undefined"));
  assert.deepEqual(files.get("gzip 6"), files.get("gzip undefined"));
  assert.ok(files.get("zstd 19")!.length < files.get("zstd 1")!.length);
  assert.ok(files.get("gzip 1")!.length > files.get("gzip 6")!.length);

  const plain = await written("none", undefined);
  await withTempDir(async (dir) => {
    for (const [name, codec] of [["zstd 19", "ZSTD"], ["gzip 1", "GZIP"]]) {
      assertWellFormed(files.get(name)!, plain, codec);
      await assertSameValues(dir, files.get(name)!, plain, codec);
    }
  });
});

Deno.test("levels: the Parquet writer refuses a level for a codec without levels", async () => {
  let aborted: unknown;
  const sink = new WritableStream<Uint8Array>({ abort: (reason) => void (aborted = reason) });
  await assert.rejects(
    createParquetWriter(SCHEMA, sink, {
      format: "parquet",
      compression: "snappy",
      compressionLevel: 3,
    }),
    RangeError,
  );
  assert.ok(aborted instanceof RangeError);
});
