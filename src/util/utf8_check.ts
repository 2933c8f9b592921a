/**
 * The UTF-8 check of the byte-level CSV writers (the MySQL passthrough's cells, the Arrow path's
 * fields): they copy text bytes as they are, so they must refuse what a fatal `TextDecoder` would
 * refuse, without decoding into a string.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { isUtf8 } from "./utf8_check.ts";
 *
 * const ok = new TextEncoder().encode("naïve ☃ 𝄞");
 * assert.equal(isUtf8(ok, 0, ok.length), true);
 * assert.equal(isUtf8(ok, 0, 3), false); // stops inside the two bytes of "ï"
 * assert.equal(isUtf8(Uint8Array.of(0xed, 0xa0, 0x80), 0, 3), false); // a surrogate
 * ```
 *
 * @module
 */

/** Whether `v[s, e)` is well-formed UTF-8 (what a fatal `TextDecoder` accepts). */
export function isUtf8(v: Uint8Array, s: number, e: number): boolean {
  let i = s;
  while (i < e) {
    const b = v[i];
    if (b < 0x80) {
      i++;
      continue;
    }
    let more: number;
    // The second byte's range excludes overlong forms, surrogates and code points past U+10FFFF.
    let low = 0x80;
    let high = 0xbf;
    if (b >= 0xc2 && b <= 0xdf) {
      more = 1;
    } else if (b >= 0xe0 && b <= 0xef) {
      more = 2;
      if (b === 0xe0) low = 0xa0;
      else if (b === 0xed) high = 0x9f;
    } else if (b >= 0xf0 && b <= 0xf4) {
      more = 3;
      if (b === 0xf0) low = 0x90;
      else if (b === 0xf4) high = 0x8f;
    } else {
      return false;
    }
    if (i + more >= e) return false;
    const second = v[i + 1];
    if (second < low || second > high) return false;
    for (let k = 2; k <= more; k++) {
      const next = v[i + k];
      if (next < 0x80 || next > 0xbf) return false;
    }
    i += more + 1;
  }
  return true;
}
