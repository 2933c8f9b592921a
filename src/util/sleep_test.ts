import assert from "node:assert/strict";
import { MAX_TIMER_MS, sleep } from "./sleep.ts";

Deno.test("sleep: a wait longer than a timer can hold still waits (until aborted)", async () => {
  const controller = new AbortController();
  let settled = "pending";
  const waiting = sleep(MAX_TIMER_MS + 1, controller.signal).then(
    () => settled = "resolved",
    () => settled = "aborted",
  );
  await new Promise((resolve) => setTimeout(resolve, 50));
  assert.equal(settled, "pending");
  controller.abort(new Error("stopped"));
  await waiting;
  assert.equal(settled, "aborted");
});

Deno.test("sleep: a short wait resolves after its time", async () => {
  const started = performance.now();
  await sleep(20);
  assert.ok(performance.now() - started >= 19);
});
