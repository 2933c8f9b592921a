/**
 * MySQL spatial values as WKB: the server sends a geometry as its internal form, a 4-byte
 * little-endian SRID followed by standard (ISO/OGC) WKB, and rivet exports it as
 *
 * - plain WKB when the SRID is 0, byte for byte what `ST_AsBinary(col)` returns;
 * - EWKB (the PostGIS convention) otherwise: flag `0x20000000` set in the top-level geometry type
 *   word and the SRID, in the WKB's own byte order, inserted right after that word. Same length as
 *   the internal form, and the SRID is kept.
 *
 * The coordinates are copied as stored: for a geographic SRS, MySQL 8 stores longitude first, so
 * the bytes equal `ST_AsBinary(col, 'axis-order=long-lat')` (plain `ST_AsBinary` would swap them
 * into the SRS's latitude-longitude order).
 *
 * @module
 */
import type { BinaryBuilder } from "../../arrow/mod.ts";

/** EWKB's "an SRID follows the type word" flag. */
const EWKB_SRID_FLAG = 0x20;
/** SRID (4) + byte order (1) + geometry type (4): the shortest value that is one. */
const HEADER = 9;

/**
 * Appends the internal-format geometry `v[start, end)` to `b` as WKB, or EWKB when its SRID is
 * not 0. Returns false, appending nothing, when it is not a geometry in that form (too short, an
 * unknown byte order, or a type word already carrying the SRID flag).
 */
export function appendGeometry(
  b: BinaryBuilder,
  v: Uint8Array,
  start: number,
  end: number,
): boolean {
  const n = end - start;
  const order = v[start + 4];
  // The flag lives in the type word's most significant byte: first in big-endian, last in little.
  const flagByte = order === 1 ? 8 : 5;
  if (n < HEADER || (order !== 0 && order !== 1) || (v[start + flagByte] & EWKB_SRID_FLAG) !== 0) {
    return false;
  }
  if (v[start] === 0 && v[start + 1] === 0 && v[start + 2] === 0 && v[start + 3] === 0) {
    b.appendBytes(v, start + 4, end);
    return true;
  }
  const at = b.reserve(n);
  const out = b.bytes;
  out.set(v.subarray(start + 4, start + HEADER), at);
  out[at + flagByte - 4] |= EWKB_SRID_FLAG;
  for (let k = 0; k < 4; k++) out[at + 5 + k] = v[start + (order === 1 ? k : 3 - k)];
  out.set(v.subarray(start + HEADER, end), at + HEADER);
  b.commit(n);
  return true;
}
