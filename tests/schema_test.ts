import assert from "node:assert/strict";
import { Ajv } from "ajv";
import { basename } from "node:path";
import { parse } from "yaml";
import { CONFIG_SCHEMA } from "../src/config/schema.ts";
import { rivet } from "./support/cli.ts";

const EXAMPLES = new URL("../examples/", import.meta.url).pathname;

/** Every `examples/*.yaml`, parsed (placeholders unexpanded, as an editor sees the file). */
async function examples(): Promise<{ name: string; data: unknown }[]> {
  const out = [];
  for await (const entry of Deno.readDir(EXAMPLES)) {
    if (!entry.isFile || !entry.name.endsWith(".yaml")) continue;
    out.push({
      name: entry.name,
      data: parse(await Deno.readTextFile(`${EXAMPLES}${entry.name}`)),
    });
  }
  return out.sort((a, b) => a.name.localeCompare(b.name));
}

/** The schema `rivet schema` prints, compiled by a strict ajv of its own. */
async function printedSchema() {
  const r = await rivet(["schema"]);
  assert.equal(r.code, 0, r.stderr);
  const schema = JSON.parse(r.stdout);
  const ajv = new Ajv({ strict: true, allErrors: true, allowUnionTypes: true });
  return { schema, validate: ajv.compile(schema) };
}

Deno.test("rivet schema: the loader's JSON Schema, valid draft-07 that ajv compiles", async () => {
  const { schema } = await printedSchema();
  assert.deepEqual(schema, JSON.parse(JSON.stringify(CONFIG_SCHEMA)));
  assert.equal(schema.$schema, "http://json-schema.org/draft-07/schema#");
  // The printed schema is itself a valid JSON Schema (checked against the draft-07 meta-schema).
  const ajv = new Ajv({ strict: true, allowUnionTypes: true });
  assert.ok(ajv.validateSchema(schema), JSON.stringify(ajv.errors));
});

Deno.test("rivet schema: accepts every file in examples/", async () => {
  const { validate } = await printedSchema();
  const files = await examples();
  assert.ok(files.length >= 7, `found ${files.map((f) => f.name)}`);
  for (const { name, data } of files) {
    assert.ok(validate(data), `${name}: ${JSON.stringify(validate.errors)}`);
  }
});

Deno.test("rivet schema: rejects a misspelt key, a wrong value and a wrong type", async () => {
  const { validate } = await printedSchema();
  const example = (await examples()).find((e) =>
    basename(e.name) === "mysql_incremental_csv.yaml"
  )!;
  const variant = (edit: (e: Record<string, unknown>) => void) => {
    const data = structuredClone(example.data) as { exports: Record<string, unknown>[] };
    edit(data.exports[0]);
    return data;
  };

  assert.equal(validate(variant((e) => (e.formatt = e.format))), false);
  assert.deepEqual(
    validate.errors?.map((e) => [e.keyword, e.params]),
    [["additionalProperties", { additionalProperty: "formatt" }]],
  );
  assert.equal(validate(variant((e) => (e.mode = "incremntal"))), false);
  assert.equal(validate.errors?.[0].keyword, "enum");
  assert.equal(validate(variant((e) => (e.skip_empty = "yes"))), false);
  assert.equal(validate.errors?.[0].keyword, "type");
  assert.equal(validate(variant((e) => (e.destination = { type: "local", pth: "./out" }))), false);
  assert.equal(validate.errors?.[0].keyword, "additionalProperties");
});

Deno.test("rivet schema: every key has a description for editors, defaults where there are some", async () => {
  const { schema } = await printedSchema();
  const undescribed: string[] = [];
  const visit = (node: Record<string, unknown>, path: string) => {
    for (const [key, child] of Object.entries(node.properties ?? {})) {
      const c = child as Record<string, unknown>;
      if (typeof c.description !== "string" || c.description.length < 10) {
        undescribed.push(`${path}${key}`);
      }
      visit(c, `${path}${key}.`);
      if (c.items) visit(c.items as Record<string, unknown>, `${path}${key}[].`);
    }
  };
  visit(schema, "");
  assert.deepEqual(undescribed, []);
  const entry = schema.properties.exports.items.properties;
  assert.equal(entry.mode.default, "full");
  assert.equal(entry.format.default, "parquet");
  assert.equal(entry.compression.default, "zstd");
  assert.equal(schema.properties.source.properties.tuning.properties.profile.default, "balanced");
  assert.match(
    schema.properties.source.properties.tuning.properties.batch_size.description,
    /fast 50000, balanced 10000, safe 2000/,
  );
});
