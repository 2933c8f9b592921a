import assert from "node:assert/strict";
import { BatchBudget } from "./batch_budget.ts";

function budget(bytes: number): BatchBudget {
  return BatchBudget.of({ batchRows: 1_000_000, batchBytes: bytes, throttleMs: 0 })!;
}

Deno.test("batch budget: predictions and the mean width are whole bytes, rounded up", () => {
  const b = budget(1000);
  assert.equal(b.predict(10), undefined, "nothing measured yet");
  // 3 rows took 100 bytes of column data for 70 bytes on the wire: 1.43 bytes per wire byte.
  b.measure(3, 100, 70);
  assert.equal(b.rowBytes, 34);
  for (let raw = 1; raw <= 200; raw++) {
    const predicted = b.predict(raw)!;
    // Per-row answers that are fractions cost a heap number per row (see `predict`).
    assert.ok(Number.isInteger(predicted), `predict(${raw}) = ${predicted}`);
    assert.ok(predicted >= (raw * 100) / 70 && predicted < (raw * 100) / 70 + 1);
  }
});

Deno.test("batch budget: a batch is full once a row of the rounded-up mean width would not fit", () => {
  const b = budget(1000);
  b.measure(3, 100, 70);
  assert.equal(b.full(10, 966), false, "966 + 34 fits 1000");
  assert.equal(b.full(10, 967), true);
  assert.equal(b.full(0, 5000), false, "the first row of a batch always fits");
  // Before any measurement the batch's own mean decides, rounded up as well.
  const fresh = budget(1000);
  assert.equal(fresh.full(3, 900), true, "900 + 300 would not fit");
  assert.equal(fresh.full(3, 749), false, "749 + 250 fits");
});
