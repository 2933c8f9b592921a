/**
 * The binary row decoder on hand-made bytes: what it reports when a value's length breaks its
 * type, on each of the two statements it reads (COPY data and a BINARY cursor's FETCH rows).
 */
import assert from "node:assert/strict";
import { SourceError } from "../src/errors.ts";
import { CopyBinaryDecoder } from "../src/source/postgres/binary_decode.ts";
import { createSinks } from "../src/source/postgres/columns.ts";
import type { RowMessages } from "../src/source/postgres/copy_rows.ts";
import type { PgColumn } from "../src/source/postgres/types.ts";

const INT4: PgColumn = {
  name: "n",
  sourceType: "integer",
  scalar: { kind: "int32", precision: 0, scale: 0, castText: false },
  isArray: false,
  delimiter: ",",
};

/** COPY's binary header: signature, flags, header extension length. */
const HEADER = [...new TextEncoder().encode("PGCOPY\n"), 0xff, 13, 10, 0, 0, 0, 0, 0, 0, 0, 0, 0];

/** One tuple of one field holding two bytes, where an integer needs four. */
const SHORT_INT4 = [0, 1, 0, 0, 0, 2, 0, 7];

function decodeShortValue(messages: RowMessages): unknown {
  const { sinks } = createSinks([INT4]);
  const decoder = new CopyBinaryDecoder([INT4], sinks, 100, undefined, messages);
  decoder.push(Uint8Array.from(messages === "copy" ? [...HEADER, ...SHORT_INT4] : SHORT_INT4));
  try {
    decoder.decode();
  } catch (err) {
    return err;
  }
  return undefined;
}

Deno.test("binary decode: a value of the wrong length is malformed data of the statement read", () => {
  for (const [messages, what] of [["copy", "COPY data"], ["fetch", "FETCH rows"]] as const) {
    const err = decodeShortValue(messages);
    assert.ok(err instanceof SourceError, `${messages}: ${err}`);
    assert.equal(
      err.message,
      `PostgreSQL: malformed ${what}: a 4-byte value arrived as 2 bytes`,
    );
  }
});
