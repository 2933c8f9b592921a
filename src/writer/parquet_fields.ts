/**
 * Field ids of the Parquet footer's Thrift structs (parquet.thrift), for the fields rivet reads or
 * rewrites (`parquet_footer_layout.ts`, `parquet_levels.ts`).
 *
 * @module
 */

/** `FileMetaData`. */
export const FILE = { numRows: 3, rowGroups: 4 } as const;

/** `RowGroup`. */
export const ROW_GROUP = {
  columns: 1,
  totalByteSize: 2,
  numRows: 3,
  fileOffset: 5,
  totalCompressedSize: 6,
} as const;

/** `ColumnChunk`. */
export const CHUNK = {
  fileOffset: 2,
  metaData: 3,
  offsetIndexOffset: 4,
  offsetIndexLength: 5,
  columnIndexOffset: 6,
  columnIndexLength: 7,
} as const;

/** `ColumnMetaData`. */
export const COLUMN = {
  codec: 4,
  totalUncompressedSize: 6,
  totalCompressedSize: 7,
  dataPageOffset: 9,
  indexPageOffset: 10,
  dictionaryPageOffset: 11,
  bloomFilterOffset: 14,
} as const;

/** `OffsetIndex`. */
export const OFFSET_INDEX = { pageLocations: 1 } as const;

/** `PageLocation`. */
export const PAGE_LOCATION = { offset: 1, compressedPageSize: 2 } as const;
