import assert from "node:assert/strict";
import type { RunEvent } from "../pipeline/events.ts";
import {
  formatClock,
  formatCount,
  formatProgress,
  liveLine,
  type ProgressSnapshot,
  ProgressTracker,
} from "./progress.ts";

function started(exportName: string, estimatedRows?: number): RunEvent {
  return {
    type: "started",
    exportName,
    runId: "r",
    mode: "chunked",
    format: "csv",
    pieces: 4,
    estimatedRows,
  };
}

function batch(piece: number, pieceRows: number, pieceBytes: number): RunEvent {
  return { type: "batch", exportName: "orders", piece, rows: 0, pieceRows, pieceBytes, at: 0 };
}

Deno.test("progress tracker: sums the pieces running in parallel", () => {
  const t = new ProgressTracker();
  t.observe(started("orders", 10_000), 0);
  t.observe(batch(0, 100, 1_000), 10);
  t.observe(batch(1, 300, 3_000), 20);
  t.observe(batch(0, 200, 2_000), 30);
  assert.deepEqual(t.snapshot(5_000), {
    exportName: "orders",
    rows: 500,
    bytes: 5_000,
    elapsedMs: 5_000,
    estimatedRows: 10_000,
  });
});

Deno.test("progress tracker: a retried piece counts from its new attempt, not twice", () => {
  const t = new ProgressTracker();
  t.observe(started("orders"), 0);
  t.observe(batch(0, 400, 4_000), 10);
  t.observe({
    type: "retry",
    exportName: "orders",
    piece: 0,
    attempt: 1,
    delayMs: 0,
    retryClass: "network",
    error: "reset",
  }, 20);
  t.observe(batch(0, 100, 1_000), 30);
  assert.equal(t.snapshot(40)?.rows, 100);
  assert.equal(t.snapshot(40)?.bytes, 1_000);
});

Deno.test("progress tracker: a committed piece counts its files' final sizes", () => {
  const t = new ProgressTracker();
  t.observe(started("orders"), 0);
  // Parquet: the last row group and footer reach the file only at finish.
  t.observe(batch(0, 1_000, 0), 10);
  const committed = (bytes: number): RunEvent => ({
    type: "committed",
    exportName: "orders",
    piece: 0,
    location: "x",
    rows: 500,
    bytes,
  });
  t.observe(committed(700), 20);
  t.observe(committed(800), 21);
  t.observe(batch(1, 10, 99), 30);
  assert.equal(t.snapshot(40)?.bytes, 1_599);
  assert.equal(t.snapshot(40)?.rows, 1_010);
});

Deno.test("progress tracker: nothing between exports, and each export starts from zero", () => {
  const t = new ProgressTracker();
  assert.equal(t.snapshot(0), undefined);
  t.observe(started("orders", 50), 0);
  t.observe(batch(0, 40, 400), 10);
  t.observe({ type: "finished", summary: {} as never }, 20);
  assert.equal(t.snapshot(30), undefined);
  t.observe(started("users"), 1_000);
  assert.deepEqual(t.snapshot(1_500), {
    exportName: "users",
    rows: 0,
    bytes: 0,
    elapsedMs: 500,
    estimatedRows: undefined,
  });
});

const base: ProgressSnapshot = { exportName: "orders", rows: 0, bytes: 0, elapsedMs: 0 };

Deno.test("formatProgress: no rate and no ETA in the first second", () => {
  assert.equal(
    formatProgress({ ...base, rows: 900, bytes: 2048, elapsedMs: 999, estimatedRows: 9_000 }),
    "900/~9,000 rows (10%), 2.0 KB, 1s elapsed",
  );
});

Deno.test("formatProgress: an estimate the rows have passed is dropped, not shown above 100%", () => {
  assert.equal(
    formatProgress({ ...base, rows: 12_000, elapsedMs: 4_000, estimatedRows: 10_000 }),
    "12,000 rows, 3,000 rows/s, 0 B, 4s elapsed",
  );
  assert.equal(
    formatProgress({ ...base, rows: 10, elapsedMs: 4_000, estimatedRows: 0 }),
    "10 rows, 3 rows/s, 0 B, 4s elapsed",
  );
});

Deno.test("formatProgress: the ETA is the rows left at the average rate so far", () => {
  assert.equal(
    formatProgress({ ...base, rows: 1_000, elapsedMs: 10_000, estimatedRows: 61_000 }),
    "1,000/~61,000 rows (1%), 100 rows/s, 0 B, 10s elapsed, ETA 10m00s",
  );
  // Nothing read yet after a second: no rate to extrapolate from.
  assert.equal(
    formatProgress({ ...base, elapsedMs: 3_000, estimatedRows: 5 }),
    "0/~5 rows (0%), 0 rows/s, 0 B, 3s elapsed",
  );
});

Deno.test("formatClock: seconds, minutes, hours at their boundaries", () => {
  assert.equal(formatClock(0), "0s");
  assert.equal(formatClock(-5), "0s");
  assert.equal(formatClock(59_400), "59s");
  assert.equal(formatClock(59_600), "1m00s");
  assert.equal(formatClock(3_599_000), "59m59s");
  assert.equal(formatClock(3_600_000), "1h00m");
  assert.equal(formatClock(90_000_000), "25h00m");
});

Deno.test("formatCount: groups of three from the right", () => {
  assert.equal(formatCount(0), "0");
  assert.equal(formatCount(1_000), "1,000");
  assert.equal(formatCount(12_345_678_901), "12,345,678,901");
});

Deno.test("liveLine: never wider than the terminal minus one column", () => {
  const s: ProgressSnapshot = {
    exportName: "a_rather_long_export_name",
    rows: 123_456_789,
    bytes: 9_876_543_210,
    elapsedMs: 3_725_000,
    estimatedRows: 987_654_321,
  };
  for (let columns = 1; columns <= 200; columns++) {
    const line = liveLine(s, columns);
    assert.ok(line.length <= Math.max(1, columns - 1), `${columns}: ${line}`);
  }
  assert.equal(
    liveLine(s, 200),
    "a_rather_long_export_name: 123,456,789/~987,654,321 rows (12%), 33,143 rows/s, 9.2 GB, 1h02m elapsed, ETA 7h14m",
  );
});
