import assert from "node:assert/strict";
import {
  DenseUnion,
  Field,
  Int32,
  makeData,
  RecordBatch,
  Schema,
  Struct,
  tableFromArrays,
  TimestampMillisecond,
  Utf8,
} from "apache-arrow";
import { parquetMetadata } from "hyparquet";
import { finishBatch, Utf8Builder } from "../src/arrow/mod.ts";
import type { CompressionName } from "../src/config/types.ts";
import { DataIntegrityError, TypeMappingError } from "../src/errors.ts";
import { setLogLevel } from "../src/util/log.ts";
import { createWriter } from "../src/writer/create.ts";
import { acquireEncoder, discardEncoder, releaseEncoder } from "../src/writer/encoder_pool.ts";
import { createParquetWriter } from "../src/writer/parquet.ts";
import { parquetRowCount, parquetTailRowCount } from "../src/writer/verify.ts";
import type { FormatWriter } from "../src/writer/writer.ts";
import { withTempDir } from "./support/files.ts";
import { type ParquetValue, readParquet } from "./support/read_parquet.ts";
import {
  buildData,
  COLUMNS,
  FIXTURE_ROWS,
  fixtureBatch,
  SCHEMA,
} from "./support/writer_fixtures.ts";

const CODEC_IN_FOOTER: Record<CompressionName, string> = {
  zstd: "ZSTD",
  snappy: "SNAPPY",
  gzip: "GZIP",
  lz4: "LZ4_RAW",
  none: "UNCOMPRESSED",
};

/** Equality that tells NaN, -0 and byte arrays apart the way a value-by-value check must. */
function sameValue(actual: ParquetValue, expected: ParquetValue): boolean {
  if (typeof expected === "number") {
    return typeof actual === "number" && Object.is(actual, expected);
  }
  if (expected instanceof Uint8Array) {
    return actual instanceof Uint8Array && actual.length === expected.length &&
      actual.every((b, i) => b === expected[i]);
  }
  if (Array.isArray(expected)) {
    return Array.isArray(actual) && actual.length === expected.length &&
      actual.every((v, i) => sameValue(v, expected[i]));
  }
  return actual === expected;
}

function show(v: ParquetValue): string {
  return Deno.inspect(v, { depth: 5 });
}

async function writeFile(
  path: string,
  batches: RecordBatch[],
  open: (sink: WritableStream<Uint8Array>) => Promise<FormatWriter>,
): Promise<{ rows: number; bytes: number; bytesWritten: number }> {
  const file = await Deno.open(path, { write: true, create: true, truncate: true });
  const writer = await open(file.writable);
  for (const batch of batches) await writer.write(batch);
  const result = await writer.finish();
  return { ...result, bytesWritten: writer.bytesWritten() };
}

/** Four batches: three whole fixture batches and one sliced (non-zero offsets in every column). */
function fixtureBatches(): { batches: RecordBatch[]; firstRow: number[] } {
  const sliced = fixtureBatch(300).slice(3, FIXTURE_ROWS);
  return {
    batches: [fixtureBatch(0), fixtureBatch(100), fixtureBatch(200), sliced],
    firstRow: [0, 0, 0, 3],
  };
}

for (const codec of ["zstd", "snappy", "gzip", "lz4", "none"] as const) {
  Deno.test(`parquet ${codec}: every type round-trips exactly through DuckDB`, async () => {
    await withTempDir(async (dir) => {
      const path = `${dir}/all.parquet`;
      const { batches, firstRow } = fixtureBatches();
      const expectedRows = batches.reduce((n, b) => n + b.numRows, 0);
      const result = await writeFile(
        path,
        batches,
        (sink) => createWriter(SCHEMA, sink, { format: "parquet", compression: codec }),
      );
      const size = (await Deno.stat(path)).size;
      assert.deepEqual(result, { rows: expectedRows, bytes: size, bytesWritten: size });
      assert.deepEqual(await parquetRowCount(path), expectedRows);

      const back = await readParquet(path);
      assert.deepEqual(back.columns.map((c) => c.name), SCHEMA.fields.map((f) => f.name));
      assert.deepEqual(back.rows.length, expectedRows);
      let row = 0;
      batches.forEach((batch, b) => {
        for (let r = firstRow[b]; r < firstRow[b] + batch.numRows; r++, row++) {
          const got = back.rows[row];
          assert.equal(got.id, b * 100 + r, `id of row ${row}`);
          COLUMNS.forEach((column) => {
            const expected = column.values[r];
            assert.ok(
              sameValue(got[column.field.name], expected),
              `${column.field.name} row ${r}: got ${show(got[column.field.name])}, want ${
                show(expected)
              }`,
            );
          });
        }
      });

      for (const [columnPath, codecs] of back.codecs) {
        assert.deepEqual([...codecs], [CODEC_IN_FOOTER[codec]], `codec of ${columnPath}`);
      }
      assert.deepEqual(back.codecs.size, SCHEMA.fields.length);
    });
  });
}

Deno.test("parquet: types and logical types in the footer", async () => {
  await withTempDir(async (dir) => {
    const path = `${dir}/types.parquet`;
    await writeFile(
      path,
      [fixtureBatch(0)],
      (sink) => createWriter(SCHEMA, sink, { format: "parquet", compression: "zstd" }),
    );
    const back = await readParquet(path);
    const types = Object.fromEntries(back.columns.map((c) => [c.name, c.type]));
    assert.deepEqual(types, {
      id: "INTEGER",
      b: "BOOLEAN",
      i16: "SMALLINT",
      i32: "INTEGER",
      i64: "BIGINT",
      u64: "UBIGINT",
      f32: "FLOAT",
      f64: "DOUBLE",
      dec38: "DECIMAL(38,10)",
      dec18: "DECIMAL(18,4)",
      dec9: "DECIMAL(9,2)",
      s: "VARCHAR",
      bin: "BLOB",
      d: "DATE",
      ts: "TIMESTAMP",
      tsz: "TIMESTAMP WITH TIME ZONE",
      t: "TIME",
      l: "INTEGER[]",
      ls: "VARCHAR[]",
      lf: "DOUBLE[]",
      ld: "DECIMAL(10,2)[]",
      ldt: "DATE[]",
      j: "VARCHAR",
    });
    const element = (name: string) => back.schema.find((e) => e.name === name);
    assertIncludes(element("ts")?.logicalType ?? "", "isAdjustedToUTC=0");
    assertIncludes(element("ts")?.logicalType ?? "", "MICROS=MicroSeconds()");
    assertIncludes(element("tsz")?.logicalType ?? "", "isAdjustedToUTC=1");
    assertIncludes(element("tsz")?.logicalType ?? "", "MICROS=MicroSeconds()");
    assertIncludes(element("t")?.logicalType ?? "", "MICROS=MicroSeconds()");
    assertIncludes(element("dec38")?.logicalType ?? "", "scale=10, precision=38");
    assert.deepEqual(element("id")?.type, "INT32");
  });
});

function numbered(first: number, rows: number): RecordBatch {
  const schema = new Schema([new Field("n", new Int32(), true), new Field("s", new Utf8(), true)]);
  const n = Array.from({ length: rows }, (_, i) => first + i);
  return new RecordBatch(
    schema,
    makeData({
      type: new Struct(schema.fields),
      length: rows,
      nullCount: 0,
      children: [buildData(new Int32(), n), buildData(new Utf8(), n.map((v) => `row ${v}`))],
    }),
  );
}

Deno.test("parquet: rows that come slowly (the worker compresses pages itself) make the same file, byte for byte", async () => {
  await withTempDir(async (dir) => {
    const batches = Array.from({ length: 30 }, (_, i) => numbered(i * 500, 500));
    const schema = batches[0].schema;
    const write = async (path: string, pauseMs: number) => {
      const file = await Deno.open(path, { write: true, create: true, truncate: true });
      const writer = await createParquetWriter(schema, file.writable, {
        format: "parquet",
        compression: "zstd",
        compressionLevel: 3,
      }, { maxRowGroupRows: 1000, maxRowGroupBytes: 1 << 30 });
      for (const batch of batches) {
        await writer.write(batch);
        // Waiting for rows, the worker has the time to compress each row group as it flushes.
        if (pauseMs > 0) await new Promise((resolve) => setTimeout(resolve, pauseMs));
      }
      await writer.finish();
    };
    await write(`${dir}/fast.parquet`, 0);
    await write(`${dir}/slow.parquet`, 30);
    assert.deepEqual(
      await Deno.readFile(`${dir}/slow.parquet`),
      await Deno.readFile(`${dir}/fast.parquet`),
    );
    const back = await readParquet(`${dir}/slow.parquet`);
    assert.deepEqual(back.rows.map((r) => r.n), Array.from({ length: 15_000 }, (_, i) => i));
  });
});

Deno.test("parquet: many batches make many bounded row groups", async () => {
  await withTempDir(async (dir) => {
    const batches = Array.from({ length: 50 }, (_, i) => numbered(i * 500, 500));
    const schema = batches[0].schema;

    const byRows = `${dir}/rows.parquet`;
    await writeFile(
      byRows,
      batches,
      (sink) =>
        createParquetWriter(schema, sink, { format: "parquet", compression: "zstd" }, {
          maxRowGroupRows: 2000,
          maxRowGroupBytes: 1 << 30,
        }),
    );
    const rowsBack = await readParquet(byRows);
    assert.deepEqual(rowsBack.rowGroupRows, Array(13).fill(2000).with(12, 1000));
    assert.deepEqual(rowsBack.rows.map((r) => r.n), Array.from({ length: 25000 }, (_, i) => i));

    const byBytes = `${dir}/bytes.parquet`;
    await writeFile(
      byBytes,
      batches,
      (sink) =>
        createParquetWriter(schema, sink, { format: "parquet", compression: "zstd" }, {
          maxRowGroupRows: 1 << 20,
          maxRowGroupBytes: 64 * 1024,
        }),
    );
    const bytesBack = await readParquet(byBytes);
    assert.ok(bytesBack.rowGroupRows.length > 3, `${bytesBack.rowGroupRows.length} row groups`);
    assert.deepEqual(bytesBack.rowGroupRows.reduce((a, b) => a + b), 25000);
    assert.deepEqual(await parquetRowCount(byBytes), 25000);
  });
});

Deno.test("parquet: each output chunk is freed once the sink stored it, and the file is whole", async () => {
  await withTempDir(async (dir) => {
    const batches = Array.from({ length: 20 }, (_, i) => numbered(i * 500, 500));
    const received: Uint8Array[] = [];
    const copies: Uint8Array<ArrayBuffer>[] = [];
    const sink = new WritableStream<Uint8Array>({
      write: (chunk) => {
        received.push(chunk);
        copies.push(chunk.slice());
      },
    });
    const writer = await createParquetWriter(batches[0].schema, sink, {
      format: "parquet",
      compression: "zstd",
    }, { maxRowGroupRows: 1000, maxRowGroupBytes: 1 << 30 });
    for (const batch of batches) await writer.write(batch);
    await writer.finish();
    assert.ok(received.length > 3, `${received.length} chunks`);
    // Row groups were stored while rows still came: their memory went back at once.
    assert.ok(
      (received[0].buffer as ArrayBuffer).detached,
      "the first row group's chunk was freed",
    );
    const path = `${dir}/copied.parquet`;
    await Deno.writeFile(path, new Uint8Array(await new Blob(copies).arrayBuffer()));
    const back = await readParquet(path);
    assert.deepEqual(back.rows.map((r) => r.n), Array.from({ length: 10_000 }, (_, i) => i));
  });
});

Deno.test("parquet: columns are written without dictionary pages (plain, then compressed)", async () => {
  await withTempDir(async (dir) => {
    const path = `${dir}/plain.parquet`;
    // Few distinct values: the case where a dictionary would have been used.
    const batch = tableFromArrays({
      n: Int32Array.from({ length: 5000 }, (_, i) => i % 3),
      s: Array.from({ length: 5000 }, (_, i) => ["a", "b", "c"][i % 3]),
    }).batches[0];
    await writeFile(
      path,
      [batch],
      (sink) => createWriter(batch.schema, sink, { format: "parquet", compression: "zstd" }),
    );
    const metadata = parquetMetadata((await Deno.readFile(path)).buffer);
    for (const group of metadata.row_groups) {
      for (const column of group.columns) {
        const meta = column.meta_data!;
        assert.equal(meta.dictionary_page_offset, undefined, meta.path_in_schema.join("."));
        assert.ok(
          !meta.encodings.some((e) => e.includes("DICTIONARY")),
          `${meta.path_in_schema.join(".")}: ${meta.encodings.join(",")}`,
        );
      }
    }
    const back = await readParquet(path);
    assert.deepEqual(back.rows.slice(0, 4), [
      { n: 0, s: "a" },
      { n: 1, s: "b" },
      { n: 2, s: "c" },
      { n: 0, s: "a" },
    ]);
  });
});

Deno.test("parquet: a batch too big to copy into WASM at once is written whole", async () => {
  await withTempDir(async (dir) => {
    const path = `${dir}/big.parquet`;
    // 20,000 rows of ~1 KB text: over the 8 MiB fed to the encoder at a time.
    const text = Array.from({ length: 20_000 }, (_, i) => `${i}:${"é".repeat(500)}`);
    const schema = new Schema([
      new Field("n", new Int32(), true),
      new Field("s", new Utf8(), true),
    ]);
    const batch = new RecordBatch(
      schema,
      makeData({
        type: new Struct(schema.fields),
        length: text.length,
        nullCount: 0,
        children: [buildData(new Int32(), text.map((_, i) => i)), buildData(new Utf8(), text)],
      }),
    );
    assert.ok(batch.data.byteLength > 8 * 1024 * 1024);
    const result = await writeFile(
      path,
      [batch, batch.slice(5, 9)],
      (sink) => createWriter(schema, sink, { format: "parquet", compression: "zstd" }),
    );
    assert.equal(result.rows, 20_004);
    const back = await readParquet(path);
    assert.deepEqual(back.rows.map((r) => r.n), [...text.keys(), 5, 6, 7, 8]);
    assert.ok(back.rows.every((r, i) => r.s === text[i < 20_000 ? i : i - 20_000 + 5]));
  });
});

Deno.test("parquet: unsupported types are refused before any byte and the sink is aborted", async () => {
  for (
    const type of [
      new DenseUnion([0, 1], [new Field("a", new Int32()), new Field("b", new Utf8())]),
      new TimestampMillisecond(),
    ]
  ) {
    let aborted = false;
    const sink = new WritableStream<Uint8Array>({
      write() {
        throw new Error("nothing may be written");
      },
      abort() {
        aborted = true;
      },
    });
    const schema = new Schema([new Field("x", type, true)]);
    await assert.rejects(
      () => createWriter(schema, sink, { format: "parquet", compression: "zstd" }),
      TypeMappingError,
    );
    assert.ok(aborted);
  }
});

Deno.test("parquet: dictionary-encoded text (as tableFromArrays makes it) round-trips", async () => {
  await withTempDir(async (dir) => {
    const path = `${dir}/dict.parquet`;
    const batch = tableFromArrays({ n: Int32Array.from([1, 2, 3]), w: ["a", null, "b,c"] })
      .batches[0];
    await writeFile(
      path,
      [batch, batch],
      (sink) => createWriter(batch.schema, sink, { format: "parquet", compression: "zstd" }),
    );
    const back = await readParquet(path);
    assert.deepEqual(back.columns, [{ name: "n", type: "INTEGER" }, {
      name: "w",
      type: "VARCHAR",
    }]);
    assert.deepEqual(back.rows.map((r) => r.w), ["a", null, "b,c", "a", null, "b,c"]);
  });
});

Deno.test("parquet: no batches still makes a valid, empty file with the schema", async () => {
  await withTempDir(async (dir) => {
    const path = `${dir}/empty.parquet`;
    const result = await writeFile(
      path,
      [],
      (sink) => createWriter(SCHEMA, sink, { format: "parquet", compression: "zstd" }),
    );
    assert.deepEqual(result.rows, 0);
    assert.deepEqual(await parquetRowCount(path), 0);
    const back = await readParquet(path);
    assert.deepEqual(back.rows, []);
    assert.deepEqual(back.columns.length, SCHEMA.fields.length);
  });
});

/** A sink that accepts `okWrites` chunks, then rejects every write. */
function failingSink(okWrites: number, onClose?: () => void): WritableStream<Uint8Array> {
  let writes = 0;
  return new WritableStream<Uint8Array>({
    write() {
      if (++writes > okWrites) throw new Error("disk full");
    },
    close() {
      onClose?.();
    },
  });
}

Deno.test("parquet: a sink write error rejects write or finish", async () => {
  const batches = Array.from({ length: 20 }, (_, i) => numbered(i * 500, 500));
  const writer = await createParquetWriter(
    batches[0].schema,
    failingSink(1),
    { format: "parquet", compression: "zstd" },
    { maxRowGroupRows: 1000, maxRowGroupBytes: 1 << 30 },
  );
  await assert.rejects(
    async () => {
      for (const batch of batches) await writer.write(batch);
      await writer.finish();
    },
    /disk full/,
  );
  await writer.abort(new Error("cleanup"));
});

Deno.test("parquet: a sink that fails on the footer rejects finish", async () => {
  const writer = await createParquetWriter(
    SCHEMA,
    failingSink(0),
    { format: "parquet", compression: "snappy" },
  );
  await writer.write(fixtureBatch(0));
  await assert.rejects(() => writer.finish(), /disk full/);
  await writer.abort();
});

Deno.test("parquet: a sink that fails on close rejects finish", async () => {
  const writer = await createWriter(
    SCHEMA,
    failingSink(Infinity, () => {
      throw new Error("close failed");
    }),
    { format: "parquet", compression: "zstd" },
  );
  await writer.write(fixtureBatch(0));
  await assert.rejects(() => writer.finish(), /close failed/);
});

Deno.test("parquet: a batch with another schema is refused, not dropped", async () => {
  const writer = await createWriter(SCHEMA, new WritableStream(), {
    format: "parquet",
    compression: "zstd",
  });
  await assert.rejects(() => writer.write(numbered(0, 3)), TypeMappingError);
  await writer.write(fixtureBatch(0));
  assert.deepEqual((await writer.finish()).rows, FIXTURE_ROWS);
});

Deno.test("parquet: abort releases the sink and later calls fail", async () => {
  let aborted: unknown;
  const sink = new WritableStream<Uint8Array>({
    abort(reason) {
      aborted = reason;
    },
  });
  const writer = await createWriter(SCHEMA, sink, { format: "parquet", compression: "zstd" });
  await writer.write(fixtureBatch(0));
  const reason = new Error("source failed");
  await writer.abort(reason);
  assert.deepEqual(aborted, reason);
  await assert.rejects(() => writer.write(fixtureBatch(0)), /source failed/);
  await writer.abort();
});

Deno.test("parquet: compression levels are applied, without a warning", async () => {
  const lines: string[] = [];
  const original = Deno.stderr.writeSync;
  Deno.stderr.writeSync = (p: Uint8Array) => {
    lines.push(new TextDecoder().decode(p));
    return p.length;
  };
  setLogLevel("warn");
  const sizes = new Map<string, number>();
  try {
    for (
      const [compression, compressionLevel] of [
        ["zstd", 19],
        ["gzip", 9],
        ["zstd", 1],
        ["gzip", 1],
      ] as const
    ) {
      let size = 0;
      const sink = new WritableStream<Uint8Array>({
        write: (chunk) => void (size += chunk.length),
      });
      const writer = await createWriter(SCHEMA, sink, {
        format: "parquet",
        compression,
        compressionLevel,
      });
      for (let i = 0; i < 50; i++) await writer.write(fixtureBatch(i * FIXTURE_ROWS));
      await writer.finish();
      sizes.set(`${compression} ${compressionLevel}`, size);
    }
  } finally {
    Deno.stderr.writeSync = original;
    setLogLevel("info");
  }
  assert.deepEqual(lines, []);
  assert.ok(sizes.get("zstd 19")! < sizes.get("zstd 1")!, `sizes: ${[...sizes]}`);
  assert.ok(sizes.get("gzip 9")! < sizes.get("gzip 1")!, `sizes: ${[...sizes]}`);
});

Deno.test("parquet: footer checks catch truncated and inconsistent output", async () => {
  await withTempDir(async (dir) => {
    const path = `${dir}/ok.parquet`;
    await writeFile(
      path,
      [fixtureBatch(0), fixtureBatch(10)],
      (sink) => createWriter(SCHEMA, sink, { format: "parquet", compression: "zstd" }),
    );
    const bytes = await Deno.readFile(path);
    // The footer may be split over chunks in any way.
    const chunks = [bytes.subarray(0, 5), bytes.subarray(5, bytes.length - 3), bytes.subarray(-3)];
    assert.deepEqual(await parquetTailRowCount(chunks), 2 * FIXTURE_ROWS);
    const footerLength = new DataView(bytes.buffer).getUint32(bytes.length - 8, true);
    const footerOnly = bytes.subarray(bytes.length - footerLength - 8);
    assert.deepEqual(await parquetTailRowCount([footerOnly, new Uint8Array(0)]), 2 * FIXTURE_ROWS);
    await assertRejectsIntegrity(() => parquetTailRowCount([footerOnly.subarray(1)]));

    await assertRejectsIntegrity(() => parquetTailRowCount([bytes.subarray(0, bytes.length - 1)]));
    await assertRejectsIntegrity(() => parquetTailRowCount([bytes.subarray(-20)]));
    const truncated = `${dir}/truncated.parquet`;
    await Deno.writeFile(truncated, bytes.subarray(0, bytes.length - 10));
    await assert.rejects(() => parquetRowCount(truncated), DataIntegrityError);
    const headless = `${dir}/headless.parquet`;
    await Deno.writeFile(headless, bytes.subarray(4));
    await assert.rejects(() => parquetRowCount(headless), DataIntegrityError);
  });
});

function assertIncludes(text: string, part: string): void {
  assert.ok(text.includes(part), `${JSON.stringify(text)} lacks ${JSON.stringify(part)}`);
}

async function assertRejectsIntegrity(fn: () => Promise<unknown>): Promise<void> {
  await assert.rejects(fn, DataIntegrityError);
}

/** A worker for the next Parquet writer to take: the pool hands out the one parked last. */
function parkedEncoder(): Worker {
  const worker = acquireEncoder();
  releaseEncoder(worker, 0, 0);
  return worker;
}

/** One batch of a text column holding `values`. */
function textBatch(values: string[]): RecordBatch {
  const text = new Utf8Builder();
  for (const value of values) text.appendString(value);
  return finishBatch(new Schema([new Field("t", text.type, true)]), [text]);
}

Deno.test("parquet: an encoder that an outsized value grew is not kept for the next file; others are", async () => {
  await withTempDir(async (dir) => {
    const write = (name: string, batch: RecordBatch) =>
      writeFile(
        `${dir}/${name}.parquet`,
        [batch],
        (sink) =>
          createParquetWriter(batch.schema, sink, { format: "parquet", compression: "zstd" }),
      );

    const usual = parkedEncoder();
    await write("usual", textBatch(Array.from({ length: 10_000 }, (_, i) => `row ${i}`)));
    const reused = acquireEncoder();
    assert.equal(reused, usual, "a file of ordinary rows leaves its worker for the next file");
    releaseEncoder(reused, 0, 0);

    // arrow-rs copies a value several times into WASM memory: 40 MB takes it past 128 MiB.
    const grown = parkedEncoder();
    const huge = "x".repeat(40 * 1024 * 1024);
    const { rows } = await write("outsized", textBatch([huge, "small"]));
    assert.equal(rows, 2);
    const next = acquireEncoder();
    assert.notEqual(next, grown, "the grown worker was terminated, so its memory is freed");
    discardEncoder(next);
    const back = await readParquet(`${dir}/outsized.parquet`);
    assert.equal((back.rows[0].t as string).length, huge.length);
  });
});
