/**
 * Where a Parquet footer says each column chunk and page index lies, read straight from its Thrift
 * bytes: the few integers per column chunk that rewriting the file's offsets needs
 * (`parquet_levels.ts`), and the row counts.
 *
 * hyparquet's `parquetMetadata` builds an object for every field of the footer (schema,
 * statistics, encodings), about 20 bytes of JS heap per footer byte, at the very end of the export
 * and in proportion to the file's row groups: for the 199 KB footer of 6 M rows of TPC-H
 * `lineitem` (105 row groups of 16 columns) it allocated 4.0 MB and kept 1.8 MB, in 26-52 ms. This
 * keeps one small record per column chunk: 1.1 MB allocated, 0.25 MB kept, 7 ms.
 *
 * @module
 */
import { DataIntegrityError } from "../errors.ts";
import { CHUNK, COLUMN, FILE, ROW_GROUP } from "./parquet_fields.ts";
import { copyWhole, type StructRule } from "./thrift_copy.ts";

/**
 * Where one column chunk and its page indexes lie, and what it holds: the fields of its
 * `ColumnChunk` and `ColumnMetaData` of the same names. The chunk's first page is at
 * `dictionaryPageOffset ?? dataPageOffset`.
 */
export interface ChunkLayout {
  /** The chunk's `CompressionCodec` (0 is UNCOMPRESSED); -1 when it has no metadata. */
  codec: number;
  dataPageOffset: number;
  dictionaryPageOffset?: number;
  totalCompressedSize: number;
  totalUncompressedSize: number;
  bloomFilterOffset?: number;
  columnIndexOffset?: number;
  columnIndexLength?: number;
  offsetIndexOffset?: number;
  offsetIndexLength?: number;
}

/** What a footer says about its row groups. */
export interface FooterLayout {
  /** The file's row count (`FileMetaData.num_rows`). */
  rows: number;
  /** Each row group's row count and column chunks, in file order. */
  rowGroups: { rows: number; chunks: ChunkLayout[] }[];
}

/**
 * Reads the layout of the footer in `footer` (its Thrift bytes, without the length and magic that
 * follow them in a file).
 *
 * @throws {DataIntegrityError} when the bytes are not one Thrift struct, or the row groups' row
 * counts do not add up to the file's.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { tableFromArrays, tableToIPC } from "apache-arrow";
 * import * as pw from "parquet-wasm";
 *
 * const table = tableFromArrays({ id: Int32Array.from({ length: 1_000 }, (_, i) => i) });
 * const file = pw.writeParquet(
 *   pw.Table.fromIPCStream(tableToIPC(table, "stream")),
 *   new pw.WriterPropertiesBuilder().setCompression(pw.Compression.UNCOMPRESSED).build(),
 * );
 * const length = new DataView(file.buffer, file.byteOffset).getUint32(file.length - 8, true);
 * const layout = footerLayout(file.subarray(file.length - 8 - length, file.length - 8));
 *
 * assert.equal(layout.rows, 1_000);
 * assert.equal(layout.rowGroups.length, 1);
 * const [chunk] = layout.rowGroups[0].chunks;
 * assert.equal(chunk.dictionaryPageOffset ?? chunk.dataPageOffset, 4); // after the magic bytes
 * assert.equal(chunk.codec, 0); // UNCOMPRESSED
 * ```
 */
export function footerLayout(footer: Uint8Array): FooterLayout {
  const layout: FooterLayout = { rows: 0, rowGroups: [] };
  const rule: StructRule = {
    integer: (fid, value) => {
      if (fid === FILE.numRows) layout.rows = value;
      return undefined;
    },
    nested: (fid) => {
      if (fid !== FILE.rowGroups) return undefined;
      const group = { rows: 0, chunks: [] as ChunkLayout[] };
      layout.rowGroups.push(group);
      return rowGroupRule(group);
    },
  };
  copyWhole(footer, rule, "footer");
  let sum = 0;
  for (const group of layout.rowGroups) sum += group.rows;
  if (sum !== layout.rows) {
    throw new DataIntegrityError(
      `Parquet footer says ${layout.rows} rows but its row groups hold ${sum}`,
    );
  }
  return layout;
}

function rowGroupRule(group: { rows: number; chunks: ChunkLayout[] }): StructRule {
  return {
    integer: (fid, value) => {
      if (fid === ROW_GROUP.numRows) group.rows = value;
      return undefined;
    },
    nested: (fid) => {
      if (fid !== ROW_GROUP.columns) return undefined;
      const chunk: ChunkLayout = {
        codec: -1,
        dataPageOffset: -1,
        totalCompressedSize: 0,
        totalUncompressedSize: 0,
      };
      group.chunks.push(chunk);
      return filling(chunk, CHUNK_KEYS, CHUNK.metaData, filling(chunk, COLUMN_KEYS));
    },
  };
}

/** Which layout field each integer field of a `ColumnChunk` fills. */
const CHUNK_KEYS: Readonly<Record<number, keyof ChunkLayout>> = {
  [CHUNK.offsetIndexOffset]: "offsetIndexOffset",
  [CHUNK.offsetIndexLength]: "offsetIndexLength",
  [CHUNK.columnIndexOffset]: "columnIndexOffset",
  [CHUNK.columnIndexLength]: "columnIndexLength",
};

/** Which layout field each integer field of a `ColumnMetaData` fills. */
const COLUMN_KEYS: Readonly<Record<number, keyof ChunkLayout>> = {
  [COLUMN.codec]: "codec",
  [COLUMN.totalUncompressedSize]: "totalUncompressedSize",
  [COLUMN.totalCompressedSize]: "totalCompressedSize",
  [COLUMN.dataPageOffset]: "dataPageOffset",
  [COLUMN.dictionaryPageOffset]: "dictionaryPageOffset",
  [COLUMN.bloomFilterOffset]: "bloomFilterOffset",
};

/** A rule that copies the struct's integer fields named in `keys` into `chunk`. */
function filling(
  chunk: ChunkLayout,
  keys: Readonly<Record<number, keyof ChunkLayout>>,
  nestedFid?: number,
  nested?: StructRule,
): StructRule {
  return {
    integer: (fid, value) => {
      const key = keys[fid];
      if (key !== undefined) chunk[key] = value;
      return undefined;
    },
    nested: (fid) => fid === nestedFid ? nested : undefined,
  };
}
