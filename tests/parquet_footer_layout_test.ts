import assert from "node:assert/strict";
import { tableFromArrays, tableToIPC } from "apache-arrow";
import { type FileMetaData, parquetMetadata } from "hyparquet";
import * as pw from "parquet-wasm";
import { DataIntegrityError } from "../src/errors.ts";
import { footerLayout } from "../src/writer/parquet_footer_layout.ts";
import { copyWhole } from "../src/writer/thrift_copy.ts";

const CODECS = ["UNCOMPRESSED", "SNAPPY", "GZIP", "LZO", "BROTLI", "LZ4", "ZSTD", "LZ4_RAW"];

/** A file of several row groups, pages and page indexes; dictionaries on or off. */
function sample(dictionary: boolean, compression: pw.Compression): Uint8Array {
  const rows = 30_000;
  const table = tableFromArrays({
    id: BigInt64Array.from({ length: rows }, (_, i) => BigInt(i)),
    word: Array.from({ length: rows }, (_, i) => `word ${i % 97}`),
    price: Float64Array.from({ length: rows }, (_, i) => i / 7),
  });
  return pw.writeParquet(
    pw.Table.fromIPCStream(tableToIPC(table, "stream")),
    new pw.WriterPropertiesBuilder()
      .setCompression(compression)
      .setDictionaryEnabled(dictionary)
      .setMaxRowGroupSize(7_000)
      .setDataPageSizeLimit(8 * 1024)
      .build(),
  );
}

function footerOf(file: Uint8Array): Uint8Array {
  const length = new DataView(file.buffer, file.byteOffset).getUint32(file.length - 8, true);
  return file.subarray(file.length - 8 - length, file.length - 8);
}

/** hyparquet's reading of the same fields, as the layout names them. */
function expected(meta: FileMetaData) {
  return {
    rows: Number(meta.num_rows),
    rowGroups: meta.row_groups.map((group) => ({
      rows: Number(group.num_rows),
      chunks: group.columns.map((chunk) => {
        const column = chunk.meta_data!;
        return {
          codec: CODECS.indexOf(column.codec),
          dataPageOffset: Number(column.data_page_offset),
          ...(column.dictionary_page_offset === undefined
            ? {}
            : { dictionaryPageOffset: Number(column.dictionary_page_offset) }),
          totalCompressedSize: Number(column.total_compressed_size),
          totalUncompressedSize: Number(column.total_uncompressed_size),
          ...(column.bloom_filter_offset === undefined
            ? {}
            : { bloomFilterOffset: Number(column.bloom_filter_offset) }),
          ...(chunk.column_index_offset === undefined ? {} : {
            columnIndexOffset: Number(chunk.column_index_offset),
            columnIndexLength: chunk.column_index_length,
          }),
          ...(chunk.offset_index_offset === undefined ? {} : {
            offsetIndexOffset: Number(chunk.offset_index_offset),
            offsetIndexLength: chunk.offset_index_length,
          }),
        };
      }),
    })),
  };
}

for (const dictionary of [false, true]) {
  for (
    const [name, codec] of [["uncompressed", pw.Compression.UNCOMPRESSED], [
      "zstd",
      pw.Compression.ZSTD,
    ]] as const
  ) {
    Deno.test(`footer layout: every chunk's offsets, sizes, codec and page indexes as hyparquet reads them (${name}, dictionary ${dictionary ? "on" : "off"})`, () => {
      const file = sample(dictionary, codec);
      const layout = footerLayout(footerOf(file));
      assert.equal(layout.rowGroups.length, 5);
      assert.ok(layout.rowGroups.every((g) => g.chunks.every((c) => c.columnIndexOffset)));
      assert.deepEqual(layout, expected(parquetMetadata(file.buffer as ArrayBuffer)));
    });
  }
}

Deno.test("footer layout: a footer whose row groups do not add up to its row count is refused", () => {
  const footer = footerOf(sample(false, pw.Compression.UNCOMPRESSED));
  // FileMetaData field 3 is num_rows; the row groups keep theirs.
  const inflated = copyWhole(footer, { integer: (f, n) => f === 3 ? n + 1 : undefined }, "footer");
  assert.throws(
    () => footerLayout(inflated),
    (err: unknown) =>
      err instanceof DataIntegrityError &&
      err.message === "Parquet footer says 30001 rows but its row groups hold 30000",
  );
  assert.throws(() => footerLayout(footer.subarray(0, footer.length - 1)), DataIntegrityError);
});
