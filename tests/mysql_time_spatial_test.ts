/**
 * MySQL TIME (a signed duration, not a time of day) and the spatial types, through the real CLI
 * into Parquet and CSV, read back by DuckDB and csv-parse and compared value by value with what
 * the server itself says: `TIME_TO_SEC` and `CAST(... AS CHAR)` for TIME, `ST_AsBinary` and
 * `ST_SRID` for geometries.
 *
 * @module
 */
import assert from "node:assert/strict";
import { Field, type Schema, tableFromIPC } from "apache-arrow";
import * as pw from "parquet-wasm";
import { BinaryBuilder, durationBuilder } from "../src/arrow/mod.ts";
import { appendGeometry } from "../src/source/mysql/geometry.ts";
import { durationText, rendererFor } from "../src/arrow/text.ts";
import { parseSummaries, rivet } from "./support/cli.ts";
import { mysqlDb, type TestDb, withDb } from "./support/engines.ts";
import { withTempDir, writeFile } from "./support/files.ts";
import { readParquet } from "./support/read_parquet.ts";
import { readCsv } from "./support/read_csv.ts";

const MYSQL = { create: mysqlDb };

/** Rows per batch: every table below spans several batches. */
const BATCH = 3;

/** Runs `rivet run` exporting `query` to Parquet and to CSV; returns the two files. */
async function exportBoth(
  db: TestDb,
  dir: string,
  query: string,
): Promise<{ parquet: string; csv: string }> {
  const lines = [
    "source:",
    "  type: mysql",
    `  url: "${db.url}"`,
    `  tuning: { batch_size: ${BATCH} }`,
    "exports:",
  ];
  for (const format of ["parquet", "csv"]) {
    lines.push(
      `  - name: t_${format}`,
      `    query: "${query}"`,
      "    mode: full",
      `    format: ${format}`,
      "    destination: { type: local, path: ./out }",
    );
  }
  const config = await writeFile(dir, "rivet.yaml", lines.join("\n") + "\n");
  const r = await rivet(["run", "--config", config, "--validate"]);
  assert.equal(r.code, 0, r.stderr);
  const summaries = parseSummaries(r.stdout);
  for (const name of ["t_parquet", "t_csv"]) {
    assert.equal(summaries[name]?.status, "success", r.stdout);
    assert.equal(summaries[name].validated, "pass", r.stdout);
  }
  return { parquet: summaries.t_parquet.file, csv: summaries.t_csv.file };
}

/** The Arrow schema embedded in a Parquet file (what arrow-rs and pyarrow restore). */
function embeddedSchema(path: string): Schema {
  const table = pw.readParquet(Deno.readFileSync(path));
  return tableFromIPC(table.intoIPCStream()).schema;
}

/** `[name, Arrow type, rivet.source_type, rivet.logical_type]` of every field. */
function describe(schema: Schema): (string | undefined)[][] {
  return schema.fields.map((f) => [
    f.name,
    String(f.type),
    f.metadata.get("rivet.source_type"),
    f.metadata.get("rivet.logical_type"),
  ]);
}

function hexBytes(hex: string): Uint8Array {
  return Uint8Array.from(hex.match(/../g) ?? [], (h) => parseInt(h, 16));
}

/** `hex` as bytes amid others (as a value sits in a row packet), with its range. */
function framed(hex: string): [Uint8Array, number, number] {
  const value = hexBytes(hex);
  const bytes = new Uint8Array(value.length + 6).fill(0x20);
  bytes.set(value, 3);
  return [bytes, 3, 3 + value.length];
}

function hexOf(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

/**
 * The documented export of a geometry: its WKB as is for SRID 0, else EWKB (flag 0x20000000 in
 * the type word, the SRID after it, both in the WKB's byte order).
 */
function expectedWkb(wkb: Uint8Array, srid: number): Uint8Array {
  if (srid === 0) return wkb;
  const little = wkb[0] === 1;
  const out = new Uint8Array(wkb.length + 4);
  const view = new DataView(out.buffer);
  out[0] = wkb[0];
  const type = new DataView(wkb.buffer, wkb.byteOffset).getUint32(1, little);
  view.setUint32(1, (type | 0x20000000) >>> 0, little);
  view.setUint32(5, srid, little);
  out.set(wkb.subarray(5), 9);
  return out;
}

// ---------------------------------------------------------------------------------------------
// TIME

const TIMES = `
CREATE TABLE t (id INT PRIMARY KEY, t6 TIME(6), t0 TIME, t3 TIME(3));
INSERT INTO t VALUES
  (1, '-838:59:59.999999', '-838:59:59', '-838:59:59.999'),
  (2, '838:59:59.999999', '838:59:59', '838:59:59.999'),
  (3, '00:00:00', '00:00:00', '00:00:00'),
  (4, '-00:00:00.000001', '-00:00:01', '-00:00:00.001'),
  (5, '-00:00:01.5', '-00:00:00', '-12:00:00.5'),
  (6, '12:34:56.123456', '100:00:00', '12:00:00.5'),
  (7, '-00:00:00.5', '23:59:59', '24:00:00'),
  (8, NULL, NULL, NULL),
  (9, '01:00:00.000010', '-01:02:03', '-99:59:59.9');
`;

const TIME_COLUMNS = ["t6", "t0", "t3"];

Deno.test("mysql TIME: the whole -838:59:59.999999..838:59:59.999999 range, exactly", async () => {
  await withDb(MYSQL, async (db) => {
    await db.exec(`USE ${db.ns}; ${TIMES}`);
    // Per column: exact microseconds, then the server's own text.
    const refs = await db.textRows(
      `SELECT id, ${
        TIME_COLUMNS.map((c) => `CAST(TIME_TO_SEC(${c}) * 1000000 AS SIGNED), CAST(${c} AS CHAR)`)
          .join(", ")
      } FROM ${db.ns}.t ORDER BY id`,
    );
    await withTempDir(async (dir) => {
      const files = await exportBoth(db, dir, `SELECT * FROM ${db.ns}.t ORDER BY id`);

      assert.deepEqual(describe(embeddedSchema(files.parquet)), [
        ["id", "Int32", "int", undefined],
        ["t6", "Duration<MICROSECOND>", "time(6)", undefined],
        ["t0", "Duration<MICROSECOND>", "time", undefined],
        ["t3", "Duration<MICROSECOND>", "time(3)", undefined],
      ]);
      const pq = await readParquet(files.parquet);
      // Parquet has no duration type: the column is INT64 microseconds, the embedded Arrow schema
      // says Duration.
      assert.deepEqual(pq.columns.map((c) => c.type), ["INTEGER", "BIGINT", "BIGINT", "BIGINT"]);
      assert.deepEqual(
        pq.rows.map((row) => [String(row.id), ...TIME_COLUMNS.map((c) => row[c])]),
        refs.map((ref) => [
          ref[0],
          ...TIME_COLUMNS.map((_, k) => (ref[1 + 2 * k] === null ? null : BigInt(ref[1 + 2 * k]!))),
        ]),
      );

      const [header, ...records] = await readCsv(files.csv);
      assert.deepEqual(header, ["id", ...TIME_COLUMNS]);
      assert.deepEqual(records, refs.map((ref) => [ref[0], ref[2], ref[4], ref[6]]));

      // Spot checks against literals, independent of the server's rendering.
      const byId = new Map(pq.rows.map((row) => [Number(row.id), row]));
      assert.equal(byId.get(1)!.t6, -3_020_399_999_999n);
      assert.equal(byId.get(2)!.t6, 3_020_399_999_999n);
      assert.equal(byId.get(4)!.t6, -1n);
      assert.equal(byId.get(3)!.t6, 0n);
      assert.deepEqual(records[0], ["1", "-838:59:59.999999", "-838:59:59", "-838:59:59.999"]);
      assert.deepEqual(records[1], ["2", "838:59:59.999999", "838:59:59", "838:59:59.999"]);
      assert.deepEqual(records[4], ["5", "-00:00:01.500000", "00:00:00", "-12:00:00.500"]);
      assert.deepEqual(records[7], ["8", null, null, null]);
    });
  });
});

Deno.test("mysql TIME and geometry columns are refused as incremental cursors", async () => {
  await withDb(MYSQL, async (db) => {
    await db.exec(
      `USE ${db.ns}; CREATE TABLE c (id INT, tm TIME(6), g GEOMETRY);
       INSERT INTO c VALUES (1, '-01:00:00', ST_GeomFromText('POINT(1 2)'));`,
    );
    await withTempDir(async (dir) => {
      for (const column of ["tm", "g"]) {
        const config = await writeFile(
          dir,
          "rivet.yaml",
          [
            "source:",
            "  type: mysql",
            `  url: "${db.url}"`,
            "exports:",
            "  - name: c",
            `    query: "SELECT * FROM ${db.ns}.c"`,
            "    mode: incremental",
            `    cursor_column: ${column}`,
            "    format: csv",
            "    destination: { type: local, path: ./out }",
          ].join("\n") + "\n",
        );
        const r = await rivet(["run", "--config", config]);
        assert.notEqual(r.code, 0, r.stdout);
        assert.match(
          r.stdout + r.stderr,
          new RegExp(
            `cursor_column '${column}' has type .*cannot be used as an incremental cursor`,
          ),
        );
      }
    });
  });
});

Deno.test("duration text: MySQL's TIME rendering at every declared precision", () => {
  const cases: [number, number, string][] = [
    [0, 0, "00:00:00"],
    [0, 6, "00:00:00.000000"],
    [-1, 6, "-00:00:00.000001"],
    [-1_500_000, 6, "-00:00:01.500000"],
    [-1_500_000, 1, "-00:00:01.5"],
    [43_200_500_000, 3, "12:00:00.500"],
    [3_020_399_999_999, 6, "838:59:59.999999"],
    [-3_020_399_000_000, 0, "-838:59:59"],
    [359_999_990_000, 2, "99:59:59.99"],
    [360_000_000_000, 0, "100:00:00"],
    // More precision than declared (a TIME(0) never holds this): all six digits, nothing dropped.
    [1_500_000, 0, "00:00:01.500000"],
    [1_000_010, 3, "00:00:01.000010"],
  ];
  for (const [micros, digits, want] of cases) {
    assert.equal(durationText(micros, digits), want, `${micros} µs, ${digits} digits`);
  }
});

Deno.test("duration CSV renderer: digits from rivet.source_type, exact to 64 bits", () => {
  const values = [
    -(2n ** 63n),
    2n ** 63n - 1n,
    2n ** 53n,
    -(2n ** 53n) - 1n,
    -1n,
    1_500_000n,
  ];
  const render = (sourceType: string | undefined) => {
    const b = durationBuilder();
    for (const v of values) b.append(v);
    const metadata = new Map(sourceType === undefined ? [] : [["rivet.source_type", sourceType]]);
    const text = rendererFor(new Field("d", b.type, true, metadata))(b.finish());
    return values.map((_, i) => text(i));
  };
  // Reference: bigint arithmetic on the same values.
  const reference = (v: bigint) => {
    const abs = v < 0n ? -v : v;
    const s = abs / 1_000_000n;
    const two = (n: bigint) => String(n).padStart(2, "0");
    return `${v < 0n ? "-" : ""}${two(s / 3600n)}:${two((s / 60n) % 60n)}:${two(s % 60n)}.${
      String(abs % 1_000_000n).padStart(6, "0")
    }`;
  };
  assert.deepEqual(render(undefined), values.map(reference));
  assert.deepEqual(render("interval"), values.map(reference));
  assert.deepEqual(render("time(1)").slice(4), ["-00:00:00.000001", "00:00:01.5"]);
  assert.deepEqual(render("time").slice(4), ["-00:00:00.000001", "00:00:01.500000"]);
  assert.equal(render(undefined)[0], "-2562047788:00:54.775808");
});

// ---------------------------------------------------------------------------------------------
// Spatial types

const SHAPES = `
CREATE TABLE g (id INT PRIMARY KEY, g GEOMETRY, p POINT);
INSERT INTO g VALUES
  (1, ST_GeomFromText('POINT(1 -2.5)'), ST_GeomFromText('POINT(3 4)')),
  (2, ST_GeomFromText('POLYGON((0 0,10 0,10 10,0 10,0 0),(2 2,3 2,3 3,2 2))'), NULL),
  (3, ST_GeomFromText(
        'GEOMETRYCOLLECTION(POINT(1 2),LINESTRING(0 0,1 1,2 0),POLYGON((0 0,1 0,1 1,0 0)))'),
      ST_GeomFromText('POINT(0 0)')),
  (4, ST_GeomFromText('MULTIPOLYGON(((0 0,1 0,1 1,0 0)),((5 5,6 5,6 6,5 5)))', 4326),
      ST_GeomFromText('POINT(-71.0589 42.3601)', 4326)),
  (5, NULL, NULL),
  (6, ST_GeomFromText('LINESTRING(-1e300 1e-300,0.1 0.2)', 3857),
      ST_GeomFromText('POINT(1 2)', 3857)),
  (7, ST_GeomFromText('GEOMETRYCOLLECTION EMPTY'), ST_GeomFromText('POINT(-0 0)'));
`;

const SHAPE_COLUMNS = ["g", "p"];

Deno.test("mysql spatial: WKB for SRID 0, EWKB otherwise, in Parquet and CSV", async () => {
  await withDb(MYSQL, async (db) => {
    await db.exec(`USE ${db.ns}; ${SHAPES}`);
    // MariaDB never reorders axes; on MySQL 8 a geographic SRID's reference would need
    // ST_AsBinary(col, 'axis-order=long-lat'), the stored order.
    const refs = await db.textRows(
      `SELECT id, ${
        SHAPE_COLUMNS.map((c) => `HEX(ST_AsBinary(${c})), ST_SRID(${c})`).join(", ")
      } FROM ${db.ns}.g ORDER BY id`,
    );
    const expected = refs.map((ref) =>
      SHAPE_COLUMNS.map((_, k) => {
        const wkb = ref[1 + 2 * k];
        return wkb === null ? null : expectedWkb(hexBytes(wkb), Number(ref[2 + 2 * k]));
      })
    );
    // The table holds what the test means to cover.
    assert.deepEqual(refs.map((ref) => ref[2]), ["0", "0", "0", "4326", null, "3857", "0"]);
    assert.equal(hexOf(expected[3][1]!).slice(0, 18), "0101000020e6100000");

    await withTempDir(async (dir) => {
      const files = await exportBoth(db, dir, `SELECT * FROM ${db.ns}.g ORDER BY id`);

      // MariaDB names the declared spatial type (extended metadata); MySQL says `geometry`.
      assert.deepEqual(describe(embeddedSchema(files.parquet)), [
        ["id", "Int32", "int", undefined],
        ["g", "Binary", "geometry", "wkb"],
        ["p", "Binary", "point", "wkb"],
      ]);
      const pq = await readParquet(files.parquet);
      assert.deepEqual(pq.columns.map((c) => c.type), ["INTEGER", "BLOB", "BLOB"]);
      assert.deepEqual(pq.rows.map((row) => String(row.id)), refs.map((ref) => ref[0]));
      assert.deepEqual(pq.rows.map((row) => SHAPE_COLUMNS.map((c) => row[c])), expected);

      const [header, ...records] = await readCsv(files.csv);
      assert.deepEqual(header, ["id", ...SHAPE_COLUMNS]);
      assert.deepEqual(
        records,
        refs.map((ref, r) => [ref[0], ...expected[r].map((v) => (v === null ? null : hexOf(v)))]),
      );
    });
  });
});

Deno.test("geometry bytes: EWKB in either byte order; malformed values are refused", () => {
  const builder = new BinaryBuilder();
  const valid: [internal: string, exported: string][] = [
    // SRID 0: the WKB after the SRID, unchanged.
    [
      "00000000" + "0101000000" + "000000000000f03f" + "0000000000000040",
      "0101000000" +
      "000000000000f03f" + "0000000000000040",
    ],
    // Little-endian WKB, SRID 0x12345678: flag in the type word's last byte, SRID little-endian.
    [
      "78563412" + "0101000000" + "000000000000f03f",
      "0101000020" + "78563412" + "000000000000f03f",
    ],
    // Big-endian WKB: flag in the type word's first byte, SRID big-endian.
    [
      "78563412" + "0000000001" + "3ff0000000000000",
      "0020000001" + "12345678" + "3ff0000000000000",
    ],
  ];
  for (const [internal] of valid) assert.ok(appendGeometry(builder, ...framed(internal)));
  const refused = [
    "",
    "0000000001010000",
    "000000000201000000",
    "e61000000101000020e6100000",
  ];
  for (const internal of refused) {
    assert.equal(appendGeometry(builder, ...framed(internal)), false, internal);
  }
  const data = builder.finish();
  assert.equal(data.length, valid.length);
  const offsets = data.valueOffsets;
  const bytes = data.values;
  assert.deepEqual(
    valid.map((_, i) => hexOf(bytes.subarray(offsets[i], offsets[i + 1]))),
    valid.map(([, exported]) => exported),
  );
});
