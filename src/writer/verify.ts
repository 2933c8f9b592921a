/**
 * Integrity checks on written files that read as little as possible: a Parquet file's footer, or
 * one streaming pass over a CSV file. The writers use the footer check on their own output; the
 * pipeline's `--validate` uses the path-based counters.
 *
 * @module
 */
// Loaded on first use: a CSV run never reads a footer, and the library takes a while to load.
import type { AsyncBuffer, FileMetaData } from "hyparquet";
import { DataIntegrityError, errorMessage } from "../errors.ts";

const MAGIC = 0x31524150; // "PAR1" read as a little-endian u32

/** Checks a parsed footer for internal consistency and returns its row count. */
function footerRows(meta: FileMetaData, what: string): number {
  let sum = 0n;
  for (const group of meta.row_groups) sum += group.num_rows;
  if (sum !== meta.num_rows) {
    throw new DataIntegrityError(
      `${what}: footer says ${meta.num_rows} rows but its row groups hold ${sum}`,
    );
  }
  return Number(meta.num_rows);
}

/**
 * Row count from the footer of a Parquet file, reading only the first 4 bytes and the footer.
 *
 * @throws {DataIntegrityError} when the file is not a complete Parquet file or its footer is
 * inconsistent.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 *
 * const path = await Deno.makeTempFile();
 * await Deno.writeTextFile(path, "not parquet at all");
 * await assert.rejects(parquetRowCount(path), /does not start with the Parquet magic bytes/);
 * await Deno.remove(path);
 * ```
 */
export async function parquetRowCount(path: string): Promise<number> {
  using file = await Deno.open(path, { read: true });
  const size = (await file.stat()).size;
  if (size < 12) throw new DataIntegrityError(`${path}: ${size} bytes is too short for Parquet`);
  const head = await readAt(file, 0, 4);
  if (new DataView(head).getUint32(0, true) !== MAGIC) {
    throw new DataIntegrityError(`${path}: does not start with the Parquet magic bytes`);
  }
  const buffer: AsyncBuffer = { byteLength: size, slice: (start, end) => readAt(file, start, end) };
  const { parquetMetadataAsync } = await import("hyparquet");
  let meta: FileMetaData;
  try {
    meta = await parquetMetadataAsync(buffer);
  } catch (err) {
    throw new DataIntegrityError(`${path}: unreadable Parquet footer: ${errorMessage(err)}`, {
      cause: err,
    });
  }
  return footerRows(meta, path);
}

async function readAt(file: Deno.FsFile, start: number, end?: number): Promise<ArrayBuffer> {
  const stop = end ?? (await file.stat()).size;
  const out = new Uint8Array(stop - start);
  await file.seek(start, Deno.SeekMode.Start);
  let filled = 0;
  while (filled < out.length) {
    const n = await file.read(out.subarray(filled));
    if (n === null) throw new DataIntegrityError(`file ended at byte ${start + filled}`);
    filled += n;
  }
  return out.buffer;
}

/**
 * Row count from the footer found at the end of a Parquet byte stream, given as its last chunks
 * in order (all bytes written after the last row group began are enough).
 *
 * @throws {DataIntegrityError} when the chunks do not end with a complete, consistent footer.
 */
export async function parquetTailRowCount(tail: readonly Uint8Array[]): Promise<number> {
  const trailer = lastBytes(tail, 8);
  if (!trailer || new DataView(trailer.buffer).getUint32(4, true) !== MAGIC) {
    throw new DataIntegrityError("Parquet output does not end with a footer");
  }
  const footerLength = new DataView(trailer.buffer).getUint32(0, true);
  const footer = lastBytes(tail, footerLength + 8);
  if (!footer) throw new DataIntegrityError("Parquet output ends with a truncated footer");
  const { parquetMetadata } = await import("hyparquet");
  let meta: FileMetaData;
  try {
    meta = parquetMetadata(footer);
  } catch (err) {
    throw new DataIntegrityError(`unreadable Parquet footer: ${errorMessage(err)}`, { cause: err });
  }
  return footerRows(meta, "Parquet output");
}

/** Copies the last `n` bytes spread over `chunks`, or undefined when they hold fewer. */
function lastBytes(chunks: readonly Uint8Array[], n: number): Uint8Array | undefined {
  const out = new Uint8Array(n);
  let missing = n;
  for (let c = chunks.length - 1; c >= 0 && missing > 0; c--) {
    const chunk = chunks[c];
    const take = Math.min(missing, chunk.length);
    out.set(chunk.subarray(chunk.length - take), missing - take);
    missing -= take;
  }
  return missing === 0 ? out : undefined;
}

const QUOTE = 0x22;
const LF = 0x0a;

/**
 * Data rows (records after the header) in a CSV file, in one streaming pass. Counts records, not
 * lines: a line feed inside a quoted field does not end a record. Records end with LF or CRLF; a
 * last record without a line ending still counts.
 *
 * @throws {DataIntegrityError} when the file is empty or ends inside a quoted field.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 *
 * const path = await Deno.makeTempFile();
 * await Deno.writeTextFile(path, 'id,note\n1,"two\nlines"\n2,plain\n');
 * assert.equal(await csvRowCount(path), 2); // the quoted line feed is not a record
 * await Deno.remove(path);
 * ```
 */
export async function csvRowCount(path: string): Promise<number> {
  using file = await Deno.open(path, { read: true });
  let records = 0;
  let inQuotes = false;
  let sawAny = false;
  // True while the current record has at least one byte, so a missing final LF is detected.
  let open = false;
  const buf = new Uint8Array(1 << 20);
  for (;;) {
    const n = await file.read(buf);
    if (n === null) break;
    sawAny ||= n > 0;
    for (let i = 0; i < n; i++) {
      const b = buf[i];
      // A doubled quote inside a quoted field toggles twice, which leaves the state unchanged.
      if (b === QUOTE) {
        inQuotes = !inQuotes;
        open = true;
      } else if (b === LF && !inQuotes) {
        records++;
        open = false;
      } else {
        open = true;
      }
    }
  }
  if (!sawAny) throw new DataIntegrityError(`${path}: empty CSV file (no header)`);
  if (inQuotes) throw new DataIntegrityError(`${path}: CSV ends inside a quoted field`);
  if (open) records++;
  return records - 1;
}
