import assert from "node:assert/strict";
import { formattedReference, REFERENCE_PATH } from "../tools/config_reference.ts";

Deno.test("docs/reference.md is what the schema generates (run `deno task docs` after changing src/config/schema.ts)", async () => {
  const committed = await Deno.readTextFile(REFERENCE_PATH);
  assert.equal(committed, await formattedReference());
});
