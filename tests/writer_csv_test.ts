import assert from "node:assert/strict";
import {
  Dictionary,
  Field,
  Int32,
  makeData,
  RecordBatch,
  Schema,
  Struct,
  Table,
  tableFromArrays,
  TimestampMillisecond,
  Utf8,
  vectorFromArray,
} from "apache-arrow";
import { DataIntegrityError, TypeMappingError } from "../src/errors.ts";
import { createWriter } from "../src/writer/create.ts";
import { float32Text } from "../src/arrow/float_text.ts";
import { dateText, decimalText, timeText } from "../src/arrow/text.ts";
import { csvRowCount } from "../src/writer/verify.ts";
import type { FormatWriter } from "../src/writer/writer.ts";
import { withTempDir } from "./support/files.ts";
import { readCsv } from "./support/read_csv.ts";
import { queryDuckDB, sqlPath } from "./support/read_parquet.ts";
import {
  buildData,
  COLUMNS,
  FIXTURE_ROWS,
  fixtureBatch,
  SCHEMA,
} from "./support/writer_fixtures.ts";

const CSV = { format: "csv", compression: "none" } as const;

async function writeCsv(path: string, schema: Schema, batches: RecordBatch[]) {
  const file = await Deno.open(path, { write: true, create: true, truncate: true });
  const writer = await createWriter(schema, file.writable, CSV);
  for (const batch of batches) await writer.write(batch);
  const result = await writer.finish();
  return { ...result, bytesWritten: writer.bytesWritten() };
}

/** Three whole fixture batches and a sliced one (non-zero offsets in every column). */
function fixtureBatches(): { batches: RecordBatch[]; firstRow: number[] } {
  return {
    batches: [
      fixtureBatch(0),
      fixtureBatch(100),
      fixtureBatch(200),
      fixtureBatch(300).slice(3, FIXTURE_ROWS),
    ],
    firstRow: [0, 0, 0, 3],
  };
}

/** The RFC 4180 rule, stated independently of the writer. */
function rfc4180(text: string | null): string {
  if (text === null) return "";
  return text === "" || /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

Deno.test("csv: every type, read back with csv-parse, field by field", async () => {
  await withTempDir(async (dir) => {
    const path = `${dir}/all.csv`;
    const { batches, firstRow } = fixtureBatches();
    const total = batches.reduce((n, b) => n + b.numRows, 0);
    const result = await writeCsv(path, SCHEMA, batches);
    const size = (await Deno.stat(path)).size;
    assert.deepEqual(result, { rows: total, bytes: size, bytesWritten: size });

    const [header, ...rows] = await readCsv(path);
    assert.deepEqual(header, SCHEMA.fields.map((f) => f.name));
    assert.equal(rows.length, total);
    let row = 0;
    batches.forEach((batch, b) => {
      for (let r = firstRow[b]; r < firstRow[b] + batch.numRows; r++, row++) {
        assert.equal(rows[row][0], String(b * 100 + r));
        COLUMNS.forEach((column, c) => {
          assert.equal(
            rows[row][c + 1],
            column.csv[r],
            `${column.field.name} row ${r}: got ${JSON.stringify(rows[row][c + 1])}`,
          );
        });
      }
    });
    assert.equal(await csvRowCount(path), total);
  });
});

Deno.test("csv: a batch of many row blocks, and a slice across blocks, read back value for value", async () => {
  await withTempDir(async (dir) => {
    const path = `${dir}/long.csv`;
    // 2,600 rows: the writer renders a batch a block of rows at a time, each on its own slice.
    const n = FIXTURE_ROWS * 260;
    const children = [
      buildData(new Int32(), Array.from({ length: n }, (_, i) => i)),
      ...COLUMNS.map((c) =>
        buildData(c.field.type, Array.from({ length: n }, (_, i) => c.values[i % FIXTURE_ROWS]))
      ),
    ];
    const batch = new RecordBatch(
      SCHEMA,
      makeData({ type: new Struct(SCHEMA.fields), length: n, nullCount: 0, children }),
    );
    // Starts inside a block, at an offset that is not a whole byte of a bitmap.
    const slice = batch.slice(997, 2_203);
    await writeCsv(path, SCHEMA, [batch, slice]);

    const [, ...rows] = await readCsv(path);
    const ids = [
      ...Array.from({ length: n }, (_, i) => i),
      ...Array.from({ length: 2_203 - 997 }, (_, i) => 997 + i),
    ];
    assert.equal(rows.length, ids.length);
    rows.forEach((row, k) => {
      const id = ids[k];
      assert.equal(row[0], String(id));
      COLUMNS.forEach((column, c) => {
        assert.equal(row[c + 1], column.csv[id % FIXTURE_ROWS], `${column.field.name} id ${id}`);
      });
    });
  });
});

Deno.test("csv: bytes are exactly RFC 4180 with LF endings and minimal quoting", async () => {
  await withTempDir(async (dir) => {
    const path = `${dir}/exact.csv`;
    await writeCsv(path, SCHEMA, [fixtureBatch(0)]);
    const lines = [SCHEMA.fields.map((f) => f.name).join(",")];
    for (let r = 0; r < FIXTURE_ROWS; r++) {
      lines.push([String(r), ...COLUMNS.map((c) => rfc4180(c.csv[r]))].join(","));
    }
    assert.equal(await Deno.readTextFile(path), lines.join("\n") + "\n");
    // NULL is an empty unquoted field; the empty string and empty binary are `""`.
    assert.equal(lines.at(-1), "9" + ",".repeat(COLUMNS.length));
    assert.match(lines[2], /^1,false,32767,[^\n]*,"",""(,|$)/);
  });
});

Deno.test("csv: temporal, numeric and binary text parses back exactly in DuckDB", async () => {
  await withTempDir(async (dir) => {
    const path = `${dir}/duck.csv`;
    await writeCsv(path, SCHEMA, [fixtureBatch(0)]);
    const back = await queryDuckDB(
      `SELECT b::BOOLEAN AS b, i64::BIGINT AS i64, u64::UBIGINT AS u64, f32::FLOAT AS f32,
              f64::DOUBLE AS f64, dec38::DECIMAL(38,10) AS dec38, dec18::DECIMAL(18,4) AS dec18,
              unhex(bin) AS bin, d::DATE AS d, ts::TIMESTAMP AS ts, tsz::TIMESTAMPTZ AS tsz,
              t::TIME AS t, l::INTEGER[] AS l
       FROM read_csv(${sqlPath(path)}, header = true, all_varchar = true,
                               allow_quoted_nulls = false)`,
    );
    assert.equal(back.length, FIXTURE_ROWS);
    for (const name of Object.keys(back[0])) {
      const column = COLUMNS.find((c) => c.field.name === name)!;
      back.forEach((row, r) => {
        const want = column.values[r];
        const got = row[name];
        const same = want instanceof Uint8Array
          ? got instanceof Uint8Array && got.join() === want.join()
          : Array.isArray(want)
          ? Array.isArray(got) && got.join() === want.join()
          : Object.is(got, want);
        assert.ok(same, `${name} row ${r}: DuckDB read ${Deno.inspect(got)}, want ${want}`);
      });
    }
  });
});

function textBatch(values: (string | null)[]): RecordBatch {
  const schema = new Schema([new Field("n", new Int32(), true), new Field("s", new Utf8(), true)]);
  return new RecordBatch(
    schema,
    makeData({
      type: new Struct(schema.fields),
      length: values.length,
      nullCount: 0,
      children: [
        buildData(new Int32(), values.map((_, i) => i)),
        buildData(new Utf8(), values),
      ],
    }),
  );
}

Deno.test("csv: big batches are chunked and still counted right", async () => {
  await withTempDir(async (dir) => {
    const path = `${dir}/big.csv`;
    // ~2.5 M characters: several encode chunks and several column blocks in one batch.
    const values = Array.from(
      { length: 30_000 },
      (_, i) => i % 7 === 0 ? `multi\nline, "${i}" ${"é".repeat(40)}` : `v${i} ${"x".repeat(70)}`,
    );
    const batch = textBatch(values);
    const { rows } = await writeCsv(path, batch.schema, [batch, batch]);
    assert.equal(rows, 60_000);
    assert.equal(await csvRowCount(path), 60_000);
    const records = await readCsv(path);
    assert.equal(records.length, 60_001);
    assert.deepEqual(records[1], ["0", values[0]]);
    assert.deepEqual(records[30_000], ["29999", values[29_999]]);
    assert.deepEqual(records[60_000], ["29999", values[29_999]]);
  });
});

Deno.test("csv: dictionary-encoded text (as tableFromArrays makes it) is written by value", async () => {
  await withTempDir(async (dir) => {
    const path = `${dir}/dict.csv`;
    const table = tableFromArrays({ n: Int32Array.from([1, 2, 3, 4, 5]) });
    const words = vectorFromArray(
      ["a", null, 'x,"y"', "", "a"],
      new Dictionary(new Utf8(), new Int32()),
    );
    const batch = table.assign(new Table({ w: words })).batches[0];
    await writeCsv(path, batch.schema, [batch, batch.slice(2, 4)]);
    assert.equal(
      await Deno.readTextFile(path),
      'n,w\n1,a\n2,\n3,"x,""y"""\n4,""\n5,a\n3,"x,""y"""\n4,""\n',
    );
  });
});

Deno.test("csv: no batches writes just the header", async () => {
  await withTempDir(async (dir) => {
    const path = `${dir}/empty.csv`;
    const result = await writeCsv(path, SCHEMA, []);
    assert.equal(result.rows, 0);
    assert.equal(await Deno.readTextFile(path), SCHEMA.fields.map((f) => f.name).join(",") + "\n");
    assert.equal(await csvRowCount(path), 0);
  });
});

Deno.test("csv: header names are quoted by the same rules", async () => {
  await withTempDir(async (dir) => {
    const schema = new Schema([
      new Field("a,b", new Int32(), true),
      new Field('say "x"', new Int32(), true),
      new Field("plain", new Int32(), true),
    ]);
    const path = `${dir}/names.csv`;
    await writeCsv(path, schema, []);
    assert.equal(await Deno.readTextFile(path), '"a,b","say ""x""",plain\n');
  });
});

Deno.test("csv: in a one-column file, \\. alone is quoted (COPY FROM's end-of-data marker)", async () => {
  await withTempDir(async (dir) => {
    const one = new Schema([new Field("\\.", new Utf8(), true)]);
    const batch = new RecordBatch(
      one,
      makeData({
        type: new Struct(one.fields),
        length: 4,
        nullCount: 0,
        children: [buildData(new Utf8(), ["\\.", "\\.x", null, "."])],
      }),
    );
    await writeCsv(`${dir}/one.csv`, one, [batch]);
    assert.equal(await Deno.readTextFile(`${dir}/one.csv`), '"\\."\n"\\."\n\\.x\n\n.\n');
    // With two columns the line is never `\.` alone, so nothing needs quoting.
    await writeCsv(`${dir}/two.csv`, textBatch(["\\."]).schema, [textBatch(["\\."])]);
    assert.equal(await Deno.readTextFile(`${dir}/two.csv`), "n,s\n0,\\.\n");
  });
});

Deno.test("csv: an unsupported type fails before writing and aborts the sink", async () => {
  let aborted = false;
  const sink = new WritableStream<Uint8Array>({
    abort() {
      aborted = true;
    },
  });
  const schema = new Schema([new Field("t", new TimestampMillisecond(), true)]);
  await assert.rejects(() => createWriter(schema, sink, CSV), TypeMappingError);
  assert.ok(aborted);
});

Deno.test("csv: sink errors reject write, and the writer stays failed", async () => {
  let writes = 0;
  const sink = new WritableStream<Uint8Array>({
    write() {
      if (++writes > 1) throw new Error("disk full");
    },
  });
  const writer: FormatWriter = await createWriter(SCHEMA, sink, CSV);
  await assert.rejects(() => writer.write(fixtureBatch(0)), /disk full/);
  await assert.rejects(() => writer.write(fixtureBatch(0)), /disk full/);
  await assert.rejects(() => writer.finish(), /disk full/);
  await writer.abort();
});

Deno.test("csv: a sink that fails on the header rejects createWriter", async () => {
  const sink = new WritableStream<Uint8Array>({
    write() {
      throw new Error("read-only");
    },
  });
  await assert.rejects(() => createWriter(SCHEMA, sink, CSV), /read-only/);
});

Deno.test("csv: a batch with another schema is refused", async () => {
  const writer = await createWriter(SCHEMA, new WritableStream(), CSV);
  await assert.rejects(() => writer.write(textBatch(["x"])), TypeMappingError);
  await writer.write(fixtureBatch(0));
  assert.equal((await writer.finish()).rows, FIXTURE_ROWS);
});

Deno.test("csv: invalid UTF-8 in a text column fails loudly, naming the column", async () => {
  const schema = new Schema([new Field("s", new Utf8(), true)]);
  const bad = makeData({
    type: new Utf8(),
    length: 1,
    nullCount: 0,
    valueOffsets: new Int32Array([0, 2]),
    data: new Uint8Array([0xc3, 0x28]),
  });
  const batch = new RecordBatch(
    schema,
    makeData({ type: new Struct(schema.fields), length: 1, nullCount: 0, children: [bad] }),
  );
  const writer = await createWriter(schema, new WritableStream(), CSV);
  await assert.rejects(() => writer.write(batch), /column "s"/);
  await writer.abort();
});

Deno.test("csv text: float32 is the shortest text that reads back to the same float32", () => {
  const bits = new Uint32Array(1);
  const view = new Float32Array(bits.buffer);
  /** Half the distance from the float32 with bit pattern `b` to the next one toward `to`. */
  const halfStep = (b: number, to: number): number => {
    const v = view[0];
    bits[0] = (to > v) === (v >= 0) ? b + 1 : b - 1;
    const half = Math.abs(view[0] - v) / 2;
    bits[0] = b;
    return half;
  };
  let state = 12345;
  for (let n = 0; n < 20_000; n++) {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0;
    bits[0] = state;
    const v = view[0];
    const text = float32Text(v);
    if (Number.isNaN(v)) {
      assert.equal(text, "NaN");
      continue;
    }
    assert.ok(Object.is(Math.fround(Number(text)), v), `${v} -> ${text}`);
    const digits = text.replace(/^-/, "").replace(/e.*$/, "").replace(".", "")
      .replace(/^0+/, "").replace(/0+$/, "");
    if (digits.length > 1) {
      // A shorter decimal may read back only from exactly halfway to a neighbour, which
      // PostgreSQL's float4out never prints (see float_text.ts).
      const shorter = Number(v.toPrecision(digits.length - 1));
      if (Math.fround(shorter) === v) {
        assert.equal(Math.abs(shorter - v), halfStep(state, shorter), `${text} for ${v}`);
      }
    }
  }
});

Deno.test("csv text: decimals match a bigint reference at every width and scale", () => {
  let state = 99n;
  const next = () => (state = (state * 6364136223846793005n + 1442695040888963407n) % (1n << 64n));
  for (let n = 0; n < 5_000; n++) {
    const bits = n % 3 === 0 ? 20n : n % 3 === 1 ? 60n : 127n;
    let v = ((next() << 64n) | next()) & ((1n << bits) - 1n);
    if (n % 2 === 1) v = -v;
    const scale = n % 39;
    const words = new Uint32Array(4);
    let u = BigInt.asUintN(128, v);
    for (let k = 0; k < 4; k++, u >>= 32n) words[k] = Number(u & 0xffffffffn);
    const abs = (v < 0n ? -v : v).toString().padStart(scale + 1, "0");
    const want = (v < 0n ? "-" : "") +
      (scale === 0 ? abs : `${abs.slice(0, abs.length - scale)}.${abs.slice(abs.length - scale)}`);
    assert.equal(decimalText(words, 0, 4, scale), want);
  }
});

Deno.test("csv text: dates and times agree with the JS Date calendar", () => {
  for (let days = -719528; days <= 2932896; days += 997) {
    assert.equal(dateText(days), new Date(days * 86_400_000).toISOString().slice(0, 10));
  }
  for (let micros = 0; micros < 86_400_000_000; micros += 7_777_777_777) {
    const iso = new Date(Math.floor(micros / 1000)).toISOString().slice(11, 23);
    assert.equal(timeText(micros), iso + String(micros % 1000).padStart(3, "0"));
  }
});

Deno.test("csvRowCount: counts records, not lines", async () => {
  await withTempDir(async (dir) => {
    const cases: [string, number][] = [
      ['h\n1\n"a\nb"\n', 2],
      ["h\r\n1\r\n2\r\n", 2],
      ["h\n1\n2", 2],
      ['h\n"x""\ny"\n', 1],
      ["h\n", 0],
      ["h", 0],
      ["h\n\n", 1],
    ];
    for (const [text, rows] of cases) {
      const path = `${dir}/c.csv`;
      await Deno.writeTextFile(path, text);
      assert.equal(await csvRowCount(path), rows, JSON.stringify(text));
    }
    await Deno.writeTextFile(`${dir}/open.csv`, 'h\n"unterminated\n');
    await assert.rejects(() => csvRowCount(`${dir}/open.csv`), DataIntegrityError);
    await Deno.writeTextFile(`${dir}/empty.csv`, "");
    await assert.rejects(() => csvRowCount(`${dir}/empty.csv`), DataIntegrityError);
  });
});
