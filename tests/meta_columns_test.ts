/**
 * Meta columns (spec "Meta Columns", src/pipeline/meta_columns.ts, docs/types.md "Meta columns"):
 * `_rivet_exported_at` and `_rivet_row_hash`.
 *
 * Every expected hash is recomputed here from the documented encoding, written out independently
 * of the module: NULL is `00`; a value is `01`, its payload's byte length (u32 little-endian), then
 * the payload (a binary value's bytes, else the UTF-8 of its CSV text); the hash is the low 64 bits
 * (`XXH128_hash_t.low64`) of XXH3-128, seed 0, as a signed integer. hash-wasm's canonical hex
 * digest is high64 then low64, big-endian; the pinned values below come from the reference C
 * library (libxxhash 0.8.1, `XXH3_128bits(...).low64`) so that byte order and sign are checked
 * against something other than hash-wasm.
 *
 * @module
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { Field, type RecordBatch, Schema, util } from "apache-arrow";
import { xxhash128 } from "hash-wasm";
import {
  BinaryBuilder,
  Decimal128Builder,
  finishBatch,
  int32Builder,
  ListBuilder,
  timestampBuilder,
  Utf8Builder,
} from "../src/arrow/mod.ts";
import { TypeMappingError } from "../src/errors.ts";
import { metaColumnsFor } from "../src/pipeline/meta_columns.ts";
import { parseSummaries, rivet } from "./support/cli.ts";
import { ENGINES, type TestDb, withDb } from "./support/engines.ts";
import { listDir, withTempDir, writeFile } from "./support/files.ts";
import { readCsv } from "./support/read_csv.ts";
import { readParquet } from "./support/read_parquet.ts";
import { loadHashers } from "../src/pipeline/hashers.ts";

// The pipeline loads the hashers as an export starts; these tests build its parts directly.
await loadHashers();

/** One source value for the encoding: NULL, a value's CSV text, or a binary value's bytes. */
type Cell = null | string | Uint8Array;

/** The documented row encoding, built byte by byte. */
function encodeRow(cells: Cell[]): Uint8Array {
  const out: number[] = [];
  for (const cell of cells) {
    if (cell === null) {
      out.push(0x00);
      continue;
    }
    const payload = typeof cell === "string" ? new TextEncoder().encode(cell) : cell;
    const length = new Uint8Array(4);
    new DataView(length.buffer).setUint32(0, payload.length, true);
    out.push(0x01, ...length, ...payload);
  }
  return new Uint8Array(out);
}

/** `_rivet_row_hash` of a row: XXH3-128's low64 (the second half of the canonical hex), signed. */
async function expectedHash(cells: Cell[]): Promise<bigint> {
  const canonical = await xxhash128(encodeRow(cells));
  return BigInt.asIntN(64, BigInt("0x" + canonical.slice(16)));
}

const ROW_HASH = "_rivet_row_hash";
const EXPORTED_AT = "_rivet_exported_at";
const BOTH = { exportedAt: true, rowHash: true };

/** The 64-bit values of one column of a batch. */
function int64s(batch: RecordBatch, name: string): bigint[] {
  const data = batch.getChild(name)!.data[0];
  assert.equal(data.nullCount, 0);
  return [...(data.values as BigInt64Array)];
}

function microsNow(): bigint {
  return BigInt(Date.now()) * 1000n;
}

/** id Int32, name Utf8, blob Binary, tags List<Utf8>, amount Decimal128(10,2), ts Timestamp(us, UTC). */
function sampleBatch(): RecordBatch {
  const id = int32Builder();
  const name = new Utf8Builder();
  const blob = new BinaryBuilder();
  const tags = new ListBuilder(new Utf8Builder());
  const amount = new Decimal128Builder(10, 2);
  const ts = timestampBuilder(true);
  const schema = new Schema(
    [id, name, blob, tags, amount, ts].map((b, i) =>
      new Field(["id", "name", "blob", "tags", "amount", "ts"][i], b.type, true)
    ),
  );
  const micros = (iso: string, fraction: number) =>
    BigInt(Date.parse(iso)) * 1000n + BigInt(fraction);
  const row = (
    values: [number | null, string | null, number[] | null, (string | null)[] | null],
    decimal: string | null,
    timestamp: bigint | null,
  ) => {
    const [i, n, b, t] = values;
    id.append(i);
    name.append(n);
    blob.append(b === null ? null : new Uint8Array(b));
    if (t === null) tags.appendNull();
    else {
      for (const item of t) tags.child.append(item);
      tags.endList();
    }
    amount.append(decimal);
    ts.append(timestamp);
  };
  row([1, "ab", [0xff, 0x00], ["x", null]], "12.3", micros("2024-01-02T03:04:05Z", 123456));
  row([2, "", [], []], "-0.05", null);
  row([null, null, null, null], null, null);
  row([-4, 'a,"b"\nü', [1], ["é", '"']], "0", micros("1969-12-31T23:59:59Z", 1));
  return finishBatch(schema, [id, name, blob, tags, amount, ts]);
}

/** The rows of {@link sampleBatch} as the documented encoding sees them, written by hand. */
const SAMPLE_CELLS: Cell[][] = [
  ["1", "ab", new Uint8Array([0xff, 0x00]), '["x",null]', "12.30", "2024-01-02T03:04:05.123456Z"],
  ["2", "", new Uint8Array(), "[]", "-0.05", null],
  [null, null, null, null, null, null],
  ["-4", 'a,"b"\nü', new Uint8Array([1]), '["é","\\""]', "0.00", "1969-12-31T23:59:59.000001Z"],
];

/** A batch of Utf8 columns, one row per entry. */
function textBatch(names: string[], rows: (string | null)[][]): RecordBatch {
  const builders = names.map(() => new Utf8Builder());
  for (const row of rows) row.forEach((v, c) => builders[c].append(v));
  const schema = new Schema(names.map((n, c) => new Field(n, builders[c].type, true)));
  return finishBatch(schema, builders);
}

Deno.test("hash-wasm's XXH3-128 digest: low64 is the second half, matching libxxhash", async () => {
  // XXH3_128bits("", 0) = { low64: 0x6001c324468d497f, high64: 0x99aa06d3014798d8 } (libxxhash).
  assert.equal(await xxhash128(new Uint8Array()), "99aa06d3014798d86001c324468d497f");
  // Rows encoded by hand; low64 values from libxxhash, one positive, two negative.
  const row = (id: string) => [id, "ab", new Uint8Array([0xff, 0x00])];
  assert.equal(await expectedHash(row("1")), 5620802735198733994n);
  assert.equal(await expectedHash(row("2")), -3335732295623222313n);
  assert.equal(await expectedHash([null, null, null]), -1486920651298101141n);
});

Deno.test("metaColumnsFor: nothing configured, nothing appended", () => {
  const batch = sampleBatch();
  assert.equal(metaColumnsFor({ exportedAt: false, rowHash: false }, batch.schema), undefined);
});

Deno.test("metaColumnsFor: schema is the source plus exported_at then row_hash", () => {
  const batch = sampleBatch();
  const appender = metaColumnsFor(BOTH, batch.schema)!;
  const fields = appender.schema.fields;
  assert.deepEqual(fields.map((f) => f.name), [
    ...batch.schema.fields.map((f) => f.name),
    EXPORTED_AT,
    ROW_HASH,
  ]);
  const [exportedAt, rowHash] = fields.slice(-2);
  assert.equal(String(exportedAt.type), "Timestamp<MICROSECOND, UTC>");
  assert.equal(exportedAt.nullable, false);
  assert.equal(String(rowHash.type), "Int64");
  assert.equal(rowHash.nullable, false);
  for (let c = 0; c < batch.schema.fields.length; c++) {
    assert.equal(fields[c], batch.schema.fields[c]);
  }
  const onlyHash = metaColumnsFor({ exportedAt: false, rowHash: true }, batch.schema)!;
  assert.deepEqual(onlyHash.schema.fields.slice(-1).map((f) => f.name), [ROW_HASH]);
  const onlyTime = metaColumnsFor({ exportedAt: true, rowHash: false }, batch.schema)!;
  assert.deepEqual(onlyTime.schema.fields.slice(-1).map((f) => f.name), [EXPORTED_AT]);
});

Deno.test("metaColumnsFor: row hashes follow the documented encoding", async () => {
  const batch = sampleBatch();
  const appender = metaColumnsFor(BOTH, batch.schema)!;
  const out = appender.apply(batch);
  assert.ok(util.compareSchemas(out.schema, appender.schema));
  assert.equal(out.numRows, batch.numRows);
  const expected = await Promise.all(SAMPLE_CELLS.map(expectedHash));
  assert.deepEqual(int64s(out, ROW_HASH), expected);
  assert.equal(new Set(expected).size, expected.length);
  // The source columns are passed through untouched.
  for (let c = 0; c < batch.numCols; c++) {
    assert.equal(out.data.children[c], batch.data.children[c]);
  }

  // A slice (non-zero offsets) hashes its rows the same way.
  const sliced = appender.apply(batch.slice(1, 4));
  assert.deepEqual(int64s(sliced, ROW_HASH), expected.slice(1, 4));
});

Deno.test("metaColumnsFor: pinned libxxhash values through apply", () => {
  const id = int32Builder();
  const name = new Utf8Builder();
  const blob = new BinaryBuilder();
  const schema = new Schema([
    new Field("id", id.type, true),
    new Field("name", name.type, true),
    new Field("blob", blob.type, true),
  ]);
  for (const v of [1, 2, null]) {
    id.append(v);
    name.append(v === null ? null : "ab");
    blob.append(v === null ? null : new Uint8Array([0xff, 0]));
  }
  const out = metaColumnsFor({ exportedAt: false, rowHash: true }, schema)!
    .apply(finishBatch(schema, [id, name, blob]));
  assert.deepEqual(int64s(out, ROW_HASH), [
    5620802735198733994n,
    -3335732295623222313n,
    -1486920651298101141n,
  ]);
});

Deno.test("metaColumnsFor: NULL vs empty and shifted boundaries hash differently", () => {
  const batch = textBatch(["a", "b"], [
    ["ab", "c"],
    ["a", "bc"],
    ["abc", ""],
    ["abc", null],
    ["", "abc"],
    [null, "abc"],
    [null, null],
    ["", ""],
  ]);
  const hashes = int64s(metaColumnsFor(BOTH, batch.schema)!.apply(batch), ROW_HASH);
  assert.equal(new Set(hashes).size, hashes.length);
  // Same values, same hash, whichever batch they are in.
  const again = textBatch(["a", "b"], [["", ""], ["ab", "c"]]);
  const hashesAgain = int64s(metaColumnsFor(BOTH, again.schema)!.apply(again), ROW_HASH);
  assert.deepEqual(hashesAgain, [hashes[7], hashes[0]]);
});

Deno.test("metaColumnsFor: one exported_at per batch, taken when the batch is applied", async () => {
  const batch = sampleBatch();
  const appender = metaColumnsFor(BOTH, batch.schema)!;
  const before = microsNow();
  const first = int64s(appender.apply(batch), EXPORTED_AT);
  await new Promise((resolve) => setTimeout(resolve, 5));
  const second = int64s(appender.apply(batch), EXPORTED_AT);
  const after = microsNow() + 1000n;
  assert.equal(new Set(first).size, 1);
  assert.equal(new Set(second).size, 1);
  assert.equal(first.length, batch.numRows);
  assert.ok(before <= first[0] && first[0] < second[0] && second[0] <= after);
});

Deno.test("metaColumnsFor: a source column with a meta column's name is rejected", () => {
  const batch = textBatch(["id", ROW_HASH], [["1", "x"]]);
  assert.throws(() => metaColumnsFor(BOTH, batch.schema), TypeMappingError);
  assert.throws(
    () => metaColumnsFor({ exportedAt: false, rowHash: true }, batch.schema),
    (err: Error) => err instanceof TypeMappingError && err.message.includes(`"${ROW_HASH}"`),
  );
  const time = textBatch([EXPORTED_AT], [["x"]]);
  assert.throws(
    () => metaColumnsFor({ exportedAt: true, rowHash: false }, time.schema),
    TypeMappingError,
  );
  // Only the names of the configured columns are reserved.
  const onlyTime = metaColumnsFor({ exportedAt: true, rowHash: false }, batch.schema)!;
  assert.equal(onlyTime.apply(batch).numCols, 3);
});

// ---------------------------------------------------------------------------------------------
// End to end: the real CLI, both engines, Parquet and CSV of the same rows.

/** CREATE TABLE column types per engine; `data` is the binary column, `tags` a list (PostgreSQL). */
const TABLE: Record<TestDb["engine"], string> = {
  postgres:
    "id int primary key, name text, data bytea, amount numeric(10,2), ts timestamp(6), tags text[]",
  mysql:
    "id int primary key, name varchar(100), data varbinary(100), amount decimal(10,2), ts datetime(6)",
};

const ROWS: Record<TestDb["engine"], string[]> = {
  postgres: [
    `(1, 'ab', '\\xff00', 12.3, '2024-01-02 03:04:05.123456', '{x,NULL}')`,
    `(2, '', '\\x', -0.05, NULL, '{}')`,
    `(3, NULL, NULL, NULL, NULL, NULL)`,
    `(4, 'a,"b"' || chr(10) || 'ü', '\\x01', 0, '1969-12-31 23:59:59.000001', '{é,"\\""}')`,
    `(5, 'a', '\\x62', 1, '2000-01-01 00:00:00', '{}')`,
    `(6, 'ab', NULL, 1, '2000-01-01 00:00:00', '{}')`,
  ],
  mysql: [
    `(1, 'ab', x'ff00', 12.3, '2024-01-02 03:04:05.123456')`,
    `(2, '', x'', -0.05, NULL)`,
    `(3, NULL, NULL, NULL, NULL)`,
    `(4, CONCAT('a,"b"', CHAR(10), 'ü'), x'01', 0, '1969-12-31 23:59:59.000001')`,
    `(5, 'a', x'62', 1, '2000-01-01 00:00:00')`,
    `(6, 'ab', NULL, 1, '2000-01-01 00:00:00')`,
  ],
};

function hexBytes(hex: string): Uint8Array {
  return new Uint8Array(hex.match(/../g)?.map((b) => parseInt(b, 16)) ?? []);
}

/** `YYYY-MM-DDTHH:MM:SS.ffffffZ` as microseconds since 1970. */
function csvMicros(text: string): bigint {
  const match = /^(.{19})\.(\d{6})Z$/.exec(text);
  assert.ok(match, text);
  return BigInt(Date.parse(match[1] + "Z")) * 1000n + BigInt(match[2]);
}

for (const engine of ENGINES) {
  Deno.test(`e2e ${engine.name}: meta columns in Parquet and CSV match the documented hash`, async () => {
    await withDb(engine, async (db) => {
      await db.exec(`CREATE TABLE ${db.ns}.t (${TABLE[db.engine]})`);
      await db.exec(`INSERT INTO ${db.ns}.t VALUES ${ROWS[db.engine].join(", ")}`);
      await withTempDir(async (dir) => {
        const exports = (["parquet", "csv"] as const).map((format) =>
          [
            `  - name: t_${format}`,
            `    query: "SELECT * FROM ${db.ns}.t ORDER BY id"`,
            `    format: ${format}`,
            "    meta_columns: { exported_at: true, row_hash: true }",
            "    destination: { type: local, path: ./out }",
          ].join("\n")
        );
        const config = await writeFile(
          dir,
          "rivet.yaml",
          [
            "source:",
            `  type: ${db.engine}`,
            `  url: "${db.url}"`,
            "  tuning: { profile: balanced, batch_size: 2 }",
            "exports:",
            ...exports,
          ].join("\n") + "\n",
        );
        const start = microsNow();
        const r = await rivet(["run", "--config", config]);
        const end = microsNow() + 1000n;
        assert.equal(r.code, 0, r.stderr);
        const summaries = parseSummaries(r.stdout);
        assert.equal(summaries.t_parquet.rows, "6");
        assert.equal(summaries.t_csv.rows, "6");
        const files = await listDir(join(dir, "out"));
        const csvFile = files.find((f) => f.endsWith(".csv"))!;
        const pqFile = files.find((f) => f.endsWith(".parquet"))!;

        // The hash of every row, recomputed from the CSV text alone.
        const [header, ...records] = await readCsv(join(dir, "out", csvFile));
        assert.deepEqual(header.slice(-2), [EXPORTED_AT, ROW_HASH]);
        const sourceCount = header.length - 2;
        const expected = new Map<string, bigint>();
        for (const record of records) {
          const cells: Cell[] = record.slice(0, sourceCount).map((text, c) =>
            text !== null && header[c] === "data" ? hexBytes(text) : text
          );
          const hash = await expectedHash(cells);
          expected.set(record[0]!, hash);
          assert.equal(record.at(-1), String(hash), `CSV row ${record[0]}`);
          const at = csvMicros(record.at(-2)!);
          assert.ok(start <= at && at <= end, `exported_at ${record.at(-2)}`);
        }
        assert.equal(expected.size, 6);
        assert.equal(new Set(expected.values()).size, 6);

        const pq = await readParquet(join(dir, "out", pqFile));
        assert.deepEqual(pq.columns.slice(-2), [
          { name: EXPORTED_AT, type: "TIMESTAMP WITH TIME ZONE" },
          { name: ROW_HASH, type: "BIGINT" },
        ]);
        assert.equal(pq.rows.length, 6);
        const stamps = new Set<bigint>();
        for (const row of pq.rows) {
          assert.equal(row[ROW_HASH], expected.get(String(row.id)), `Parquet row ${row.id}`);
          const at = row[EXPORTED_AT] as bigint;
          assert.ok(start <= at && at <= end, `exported_at ${at}`);
          stamps.add(at);
        }
        // Batches of two rows: at most one timestamp per batch.
        assert.ok(stamps.size <= 3, `${stamps.size} distinct exported_at values`);
      });
    });
  });
}
