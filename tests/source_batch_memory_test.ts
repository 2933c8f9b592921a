/**
 * Memory-sized batches (`StreamOptions.batchBytes`, `batch_size_memory_mb`): batches of wide rows
 * stay near the byte budget on every read path (PostgreSQL FETCH and COPY, MySQL/MariaDB
 * streaming), rows stay complete and in order, and the measured size is logged once per query.
 * Also checks the builders' `byteLength`, which the sources measure batches with.
 *
 * Run: deno test --allow-all tests/source_batch_memory_test.ts
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { type Data, Field, Int32, List, type RecordBatch, Schema, Utf8 } from "apache-arrow";
import {
  BoolBuilder,
  type ColumnBuilder,
  Decimal128Builder,
  finishBatch,
  float64Builder,
  int32Builder,
  int64Builder,
  ListBuilder,
  pendingBytes,
  Utf8Builder,
} from "../src/arrow/mod.ts";
import type { SourceConfig } from "../src/config/types.ts";
import { usesCopy } from "../src/source/postgres/mod.ts";
import { openSource } from "../src/source/open.ts";
import type { StreamOptions } from "../src/source/source.ts";
import type { SqlQuery } from "../src/sql.ts";
import { captureLog } from "./support/log.ts";
import { sourceConfig, withSchema } from "./support/pg.ts";
import { withMysqlDb } from "./support/mysql.ts";

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

const MIB = 1024 * 1024;
const ROWS = 2_000;
/** `md5(id)` repeated: 10,240 ASCII characters per row. */
const BODY_REPEAT = 320;

/** Bytes of every buffer of `data` and its children, as an independent check of the budget. */
function dataBytes(data: Data): number {
  let bytes = (data.values?.byteLength ?? 0) + (data.valueOffsets?.byteLength ?? 0) +
    (data.nullBitmap?.byteLength ?? 0);
  for (const child of data.children) bytes += dataBytes(child);
  return bytes;
}

function batchBytes(batch: RecordBatch): number {
  return batch.data.children.reduce((sum, child) => sum + dataBytes(child), 0);
}

function body(id: number): string {
  return createHash("md5").update(String(id)).digest("hex").repeat(BODY_REPEAT);
}

interface Read {
  batches: RecordBatch[];
  log: string[];
}

async function readAll(config: SourceConfig, query: SqlQuery, options: StreamOptions) {
  const batches: RecordBatch[] = [];
  const log = await captureLog("info", async () => {
    const source = await openSource(config);
    try {
      const result = await source.query(query, options);
      for await (const batch of result.batches) batches.push(batch);
    } finally {
      await source.close();
    }
  });
  return { batches, log: log.filter((l) => l.includes("batch_size_memory_mb")) } as Read;
}

/** Every row present, in order, each body intact; batches near the 1 MiB budget; one log line. */
function assertWideRead({ batches, log }: Read): void {
  const sizes = batches.map((b) => b.numRows);
  assert.ok(batches.length > 1, `one batch of ${sizes[0]} rows`);
  // 1 MiB / (10,240 text bytes + 4 offset bytes + 4 id bytes) = 102 rows.
  for (const [i, batch] of batches.entries()) {
    const bytes = batchBytes(batch);
    assert.ok(bytes <= 1.5 * MIB, `batch ${i} holds ${bytes} bytes (${batch.numRows} rows)`);
    if (i < batches.length - 1) {
      assert.ok(
        batch.numRows >= 90 && batch.numRows <= 110,
        `batch ${i} has ${batch.numRows} rows: ${sizes.join(",")}`,
      );
    }
  }
  let expected = 1;
  for (const batch of batches) {
    const ids = batch.getChild("id")!;
    const bodies = batch.getChild("body")!;
    for (let r = 0; r < batch.numRows; r++, expected++) {
      assert.equal(ids.get(r), expected);
      const text = bodies.get(r) as string;
      if (text !== body(expected)) assert.fail(`row ${expected} has a different body`);
    }
  }
  assert.equal(expected - 1, ROWS);
  assert.equal(log.length, 1, log.join(""));
  const match = /batch_size_memory_mb=1: measured row ~(\d+) B, batch_size=(\d+)/.exec(log[0]);
  assert.ok(match, log[0]);
  const [width, size] = [Number(match[1]), Number(match[2])];
  assert.ok(width >= 10_240 && width <= 10_300, `measured ${width} B per row`);
  assert.ok(size >= 100 && size <= 104, `batch_size=${size}`);
  assert.match(log[0], / INFO /);
}

const WIDE_OPTIONS: StreamOptions = { batchRows: 1_000_000, batchBytes: MIB, throttleMs: 0 };
const WIDE_QUERY: SqlQuery = { text: "SELECT id, body FROM wide ORDER BY id", params: [] };

const PG_WIDE = "CREATE TABLE wide (id int PRIMARY KEY, body text);" +
  `INSERT INTO wide SELECT g, repeat(md5(g::text), ${BODY_REPEAT}) ` +
  `FROM generate_series(1, ${ROWS}) g`;

const MYSQL_WIDE = "CREATE TABLE wide (id int PRIMARY KEY, body mediumtext) ENGINE=InnoDB;" +
  `INSERT INTO wide VALUES ${
    Array.from({ length: ROWS }, (_, i) => `(${i + 1}, REPEAT(MD5(${i + 1}), ${BODY_REPEAT}))`)
      .join(",")
  }`;

// ---------------------------------------------------------------------------------------------
// Wide rows on every path
// ---------------------------------------------------------------------------------------------

for (const path of ["fetch", "copy"] as const) {
  Deno.test(`postgres ${path}: batches of wide rows stay near batchBytes`, async () => {
    await withSchema(PG_WIDE, async (schema) => {
      const config = sourceConfig(schema, { statementTimeoutS: path === "fetch" ? 30 : 0 });
      assert.equal(usesCopy(config, WIDE_QUERY, WIDE_OPTIONS), path === "copy");
      assertWideRead(await readAll(config, WIDE_QUERY, WIDE_OPTIONS));
    });
  });
}

Deno.test("mysql: batches of wide rows stay near batchBytes", async () => {
  await withMysqlDb(MYSQL_WIDE, async (db) => {
    assertWideRead(await readAll(db.config(), WIDE_QUERY, WIDE_OPTIONS));
  });
});

// ---------------------------------------------------------------------------------------------
// Rows that widen part-way: the width is re-measured as the read goes
// ---------------------------------------------------------------------------------------------

/** Rows 1-1000 carry 32 bytes of text, rows 1001-2000 10,240. */
function assertWideningRead({ batches }: Read): void {
  const ids = batches.flatMap((b) => [...b.getChild("id")!]).map(Number);
  assert.deepEqual(ids, Array.from({ length: ROWS }, (_, i) => i + 1));
  for (const [i, batch] of batches.entries()) {
    const bytes = batchBytes(batch);
    assert.ok(bytes <= 1.5 * MIB, `batch ${i} holds ${bytes} bytes (${batch.numRows} rows)`);
  }
  // The wide half alone (1,000 rows of 10 KiB) needs at least 10 batches of 1 MiB.
  assert.ok(batches.length >= 10, `${batches.length} batches`);
}

const WIDENING_QUERY: SqlQuery = {
  text: "SELECT id, CASE WHEN id <= 1000 THEN md5(id::text) ELSE body END AS body FROM wide " +
    "ORDER BY id",
  params: [],
};

for (const path of ["fetch", "copy"] as const) {
  Deno.test(`postgres ${path}: rows that widen part-way still give batches near batchBytes`, async () => {
    await withSchema(PG_WIDE, async (schema) => {
      const config = sourceConfig(schema, { statementTimeoutS: path === "fetch" ? 30 : 0 });
      assertWideningRead(await readAll(config, WIDENING_QUERY, WIDE_OPTIONS));
    });
  });
}

Deno.test("mysql: rows that widen part-way still give batches near batchBytes", async () => {
  const values = Array.from(
    { length: ROWS },
    (_, i) => `(${i + 1}, REPEAT(MD5(${i + 1}), ${i < 1000 ? 1 : BODY_REPEAT}))`,
  );
  const setup = "CREATE TABLE wide (id int PRIMARY KEY, body mediumtext) ENGINE=InnoDB;" +
    `INSERT INTO wide VALUES ${values.join(",")}`;
  await withMysqlDb(setup, async (db) => {
    assertWideningRead(await readAll(db.config(), WIDE_QUERY, WIDE_OPTIONS));
  });
});

// ---------------------------------------------------------------------------------------------
// Narrow rows: the row limit comes first
// ---------------------------------------------------------------------------------------------

const NARROW_OPTIONS: StreamOptions = { batchRows: 1_000, batchBytes: 64 * MIB, throttleMs: 0 };
const NARROW_QUERY: SqlQuery = { text: "SELECT id FROM narrow ORDER BY id", params: [] };

function assertNarrowRead({ batches, log }: Read): void {
  assert.deepEqual(batches.map((b) => b.numRows), [1000, 1000, 1000, 1000, 1000, 500]);
  assert.deepEqual(batches.flatMap((b) => [...b.getChild("id")!]).map(Number), [
    ...Array.from({ length: 5_500 }, (_, i) => i + 1),
  ]);
  assert.equal(log.length, 1);
  assert.match(log[0], /batch_size_memory_mb=64: measured row ~4 B, batch_size=1000/);
}

for (const path of ["fetch", "copy"] as const) {
  Deno.test(`postgres ${path}: narrow rows fill batchRows before the memory budget`, async () => {
    const setup = "CREATE TABLE narrow (id int); " +
      "INSERT INTO narrow SELECT generate_series(1, 5500)";
    await withSchema(setup, async (schema) => {
      const config = sourceConfig(schema, { statementTimeoutS: path === "fetch" ? 30 : 0 });
      assertNarrowRead(await readAll(config, NARROW_QUERY, NARROW_OPTIONS));
    });
  });
}

Deno.test("mysql: narrow rows fill batchRows before the memory budget", async () => {
  const values = Array.from({ length: 5_500 }, (_, i) => `(${i + 1})`).join(",");
  await withMysqlDb(
    `CREATE TABLE narrow (id int); INSERT INTO narrow VALUES ${values}`,
    async (db) => {
      assertNarrowRead(await readAll(db.config(), NARROW_QUERY, NARROW_OPTIONS));
    },
  );
});

// ---------------------------------------------------------------------------------------------
// The ceiling without a budget (maxBatchBytes): wide rows are cut where each row is seen first
// ---------------------------------------------------------------------------------------------

const CEILING_OPTIONS: StreamOptions = {
  batchRows: 1_000_000,
  maxBatchBytes: MIB,
  throttleMs: 0,
};

/** Every row once, in order; batches near 1 MiB; and no log line, since nobody asked for one. */
function assertCeilingRead({ batches, log }: Read): void {
  assert.ok(batches.length >= 15, `${batches.length} batches`);
  for (const [i, batch] of batches.entries()) {
    const bytes = batchBytes(batch);
    assert.ok(bytes <= 1.5 * MIB, `batch ${i} holds ${bytes} bytes (${batch.numRows} rows)`);
  }
  const ids = batches.flatMap((b) => [...b.getChild("id")!]).map(Number);
  assert.deepEqual(ids, Array.from({ length: ROWS }, (_, i) => i + 1));
  assert.deepEqual(log, []);
}

Deno.test("postgres copy: without a budget, batches of wide rows still end near maxBatchBytes", async () => {
  await withSchema(PG_WIDE, async (schema) => {
    const config = sourceConfig(schema, { statementTimeoutS: 0 });
    assert.ok(usesCopy(config, WIDE_QUERY, CEILING_OPTIONS));
    assertCeilingRead(await readAll(config, WIDE_QUERY, CEILING_OPTIONS));
  });
});

Deno.test("postgres fetch: the ceiling does not change FETCH sizes (batchRows rows per batch)", async () => {
  await withSchema(PG_WIDE, async (schema) => {
    const config = sourceConfig(schema, { statementTimeoutS: 30 });
    const options = { ...CEILING_OPTIONS, batchRows: 500 };
    const { batches, log } = await readAll(config, WIDE_QUERY, options);
    assert.deepEqual(
      batches.map((b) => b.numRows),
      Array.from({ length: Math.ceil(ROWS / 500) }, (_, i) => Math.min(500, ROWS - i * 500)),
    );
    assert.deepEqual(log, []);
  });
});

Deno.test("mysql: without a budget, batches of wide rows still end near maxBatchBytes", async () => {
  await withMysqlDb(MYSQL_WIDE, async (db) => {
    assertCeilingRead(await readAll(db.config(), WIDE_QUERY, CEILING_OPTIONS));
  });
});

// ---------------------------------------------------------------------------------------------
// byteLength
// ---------------------------------------------------------------------------------------------

Deno.test("arrow builders: byteLength is the size of the data finish() returns", () => {
  const fill = (builder: ColumnBuilder, append: (i: number) => void) => {
    for (let i = 0; i < 37; i++) {
      if (i % 5 === 3) builder.appendNull();
      else append(i);
    }
  };
  const i32 = int32Builder();
  fill(i32, (i) => i32.append(i));
  const i64 = int64Builder();
  fill(i64, (i) => i64.appendNumber(i));
  const f64 = float64Builder();
  fill(f64, (i) => f64.append(i / 3));
  const bool = new BoolBuilder();
  fill(bool, (i) => bool.append(i % 2 === 0));
  const dec = new Decimal128Builder(10, 2);
  fill(dec, (i) => dec.append(`${i}.25`));
  const text = new Utf8Builder();
  fill(text, (i) => text.append("é".repeat(i)));
  const list = new ListBuilder(int32Builder());
  fill(list, (i) => {
    for (let k = 0; k < i % 4; k++) list.child.append(k);
    list.endList();
  });
  const builders: ColumnBuilder[] = [i32, i64, f64, bool, dec, text, list];
  for (const builder of builders) {
    const expected = builder.byteLength;
    assert.equal(dataBytes(builder.finish()), expected, String(builder.type));
    // The next batch starts from nothing (an empty Utf8 or List batch still has one offset).
    assert.equal(builder.byteLength, dataBytes(builder.finish()), `${builder.type} when empty`);
  }
  // A batch without NULLs has no bitmap; pendingBytes sums a batch's builders.
  const id = int32Builder();
  const name = new Utf8Builder();
  const tags = new ListBuilder(new Utf8Builder());
  for (let i = 0; i < 3; i++) {
    id.append(i);
    name.append("abc");
    tags.child.append("x");
    tags.endList();
  }
  assert.equal(pendingBytes([id, name, tags]), 12 + (9 + 16) + (16 + 3 + 16));
  const schema = new Schema([
    new Field("id", new Int32(), true),
    new Field("name", new Utf8(), true),
    new Field("tags", new List(new Field("item", new Utf8(), true)), true),
  ]);
  assert.equal(batchBytes(finishBatch(schema, [id, name, tags])), 12 + 25 + 35);
});
