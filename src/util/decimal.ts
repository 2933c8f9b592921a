/**
 * Exact text of Arrow Decimal128 values (four little-endian 32-bit words, two's complement).
 *
 * @module
 */

const TWO_128 = 1n << 128n;
const TWO_127 = 1n << 127n;

/** The unscaled 128-bit integer of value `index` in a Decimal128 `words` buffer. */
export function decimal128Unscaled(words: Uint32Array, index: number): bigint {
  const o = index * 4;
  let v = (BigInt(words[o + 3]) << 96n) | (BigInt(words[o + 2]) << 64n) |
    (BigInt(words[o + 1]) << 32n) | BigInt(words[o]);
  if (v >= TWO_127) v -= TWO_128;
  return v;
}

/**
 * Renders an unscaled integer with `scale` fractional digits, exactly.
 *
 * @example
 * ```ts
 * formatScaled(-12345n, 2); // "-123.45"
 * formatScaled(5n, 3); // "0.005"
 * ```
 */
export function formatScaled(unscaled: bigint, scale: number): string {
  const negative = unscaled < 0n;
  const digits = (negative ? -unscaled : unscaled).toString();
  if (scale <= 0) return (negative ? "-" : "") + digits + "0".repeat(-scale);
  const padded = digits.padStart(scale + 1, "0");
  const cut = padded.length - scale;
  return `${negative ? "-" : ""}${padded.slice(0, cut)}.${padded.slice(cut)}`;
}
