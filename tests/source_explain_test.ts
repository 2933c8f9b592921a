/**
 * `Source.explain` against the local servers (PostgreSQL 15, MariaDB 10.11), and the MySQL 8
 * plan shape, which no local server prints, read from a literal plan.
 *
 * Run: deno test --allow-all tests/source_explain_test.ts
 */
import assert from "node:assert/strict";
import { SourceError } from "../src/errors.ts";
import { readPlan as readMysqlPlan } from "../src/source/mysql/plan.ts";
import { openSource } from "../src/source/open.ts";
import type { QueryPlan, Source } from "../src/source/source.ts";
import type { SqlQuery, TypedValue } from "../src/sql.ts";
import type { SourceConfig, Tuning } from "../src/config/types.ts";
import { ENGINES, mysqlDb, postgresDb, type TestDb, withDb } from "./support/engines.ts";
import { pretendRows } from "./support/fake_stats.ts";
import { MYSQL_SERVER } from "./support/mysql.ts";
import { sourceConfig, tuning } from "./support/pg.ts";

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

const ROWS = 20_000;
/** `updated_at` of row `i` is this plus `i` minutes. */
const EPOCH = Date.UTC(2024, 0, 1);

/** A source config reading `db`'s namespace, unqualified names included. */
function configFor(db: TestDb, overrides: Partial<Tuning> = {}): SourceConfig {
  if (db.engine === "postgres") return sourceConfig(db.ns, overrides);
  return {
    type: "mysql",
    connection: { ...MYSQL_SERVER, database: db.ns, options: {} },
    tuning: tuning(overrides),
  };
}

async function withSource<T>(config: SourceConfig, body: (s: Source) => Promise<T>): Promise<T> {
  const source = await openSource(config);
  try {
    return await body(source);
  } finally {
    await source.close();
  }
}

/** `text` with its `$n` placeholders written as `?` on MySQL. */
function sql(db: TestDb, text: string, params: TypedValue[] = []): SqlQuery {
  return { text: db.engine === "mysql" ? text.replace(/\$\d+/g, "?") : text, params };
}

/** The timestamp `minutes` after {@link EPOCH}, as SQL text without the `T`. */
function at(minutes: number): string {
  return new Date(EPOCH + minutes * 60_000).toISOString().slice(0, 19).replace("T", " ");
}

function since(minutes: number): TypedValue {
  return { kind: "timestamp", text: `${at(minutes).replace(" ", "T")}.000000` };
}

/**
 * `orders` (indexed on `updated_at`) and `events` (not indexed) with {@link ROWS} rows each, one
 * a minute, statistics fresh.
 */
async function createTables(db: TestDb): Promise<void> {
  const types = db.engine === "postgres"
    ? { ts: "timestamp(6)", text: "text" }
    : { ts: "datetime(6)", text: "varchar(40)" };
  for (const table of ["orders", "events"]) {
    await db.exec(
      `CREATE TABLE ${db.ns}.${table} (id int PRIMARY KEY, updated_at ${types.ts} NOT NULL,
         kind ${types.text} NOT NULL)`,
    );
    for (let from = 1; from <= ROWS; from += 5_000) {
      const values = Array.from(
        { length: 5_000 },
        (_, i) => `(${from + i}, '${at(from + i)}', 'kind${(from + i) % 13}')`,
      );
      await db.exec(`INSERT INTO ${db.ns}.${table} VALUES ${values.join(",")}`);
    }
  }
  await db.exec(`CREATE INDEX idx_orders_updated_at ON ${db.ns}.orders (updated_at)`);
  await db.exec(
    db.engine === "postgres"
      ? `ANALYZE ${db.ns}.orders; ANALYZE ${db.ns}.events`
      : `ANALYZE TABLE ${db.ns}.orders, ${db.ns}.events`,
  );
}

/** Within a factor of two of `truth`. */
function assertNear(estimate: number | undefined, truth: number): void {
  assert.ok(
    estimate !== undefined && estimate >= truth / 2 && estimate <= truth * 2,
    `estimate ${estimate} is not within 2x of ${truth}`,
  );
}

/** Runs `fn` and asserts it took less than `ms`. */
async function quick<T>(ms: number, fn: () => Promise<T>): Promise<T> {
  const start = performance.now();
  const result = await fn();
  const took = performance.now() - start;
  assert.ok(took < ms, `took ${Math.round(took)} ms`);
  return result;
}

/** Awaits `fn`, expecting a SourceError; returns it. */
async function sourceError(fn: () => Promise<unknown>): Promise<SourceError> {
  try {
    await fn();
  } catch (error) {
    assert.ok(error instanceof SourceError, `expected a SourceError, got ${error}`);
    return error;
  }
  throw new assert.AssertionError({ message: "expected a SourceError" });
}

/** `query` as rivet wraps a user's query, in a derived table. */
function wrapped(db: TestDb, query: SqlQuery): SqlQuery {
  const inner = query.text.replace(/;$/, "");
  return sql(db, `SELECT * FROM (${inner}) AS _rivet`, query.params);
}

function describe(plan: QueryPlan): string {
  return JSON.stringify(plan);
}

// ---------------------------------------------------------------------------------------------
// Both engines, real servers
// ---------------------------------------------------------------------------------------------

for (const engine of ENGINES) {
  const name = engine.name;

  Deno.test(`${name} explain: index and full scans, sorts, min/max, joins`, async () => {
    await withDb(engine, async (db) => {
      await createTables(db);
      await withSource(configFor(db), async (source) => {
        // The last 1000 minutes of 20000: selective enough for the index on both planners.
        const recent = [since(ROWS - 1_000)];
        const indexed = sql(
          db,
          "SELECT * FROM orders WHERE updated_at > $1 ORDER BY updated_at;",
          recent,
        );
        for (const query of [indexed, wrapped(db, indexed)]) {
          const plan = await source.explain(query);
          assert.equal(plan.scans.length, 1, describe(plan));
          const [scan] = plan.scans;
          assert.equal(scan.method, "index", describe(plan));
          assert.equal(scan.table, "orders");
          assert.equal(scan.index, "idx_orders_updated_at");
          assert.equal(
            scan.description,
            name === "postgres"
              ? "Index Scan using idx_orders_updated_at on orders"
              : "range scan on orders using idx_orders_updated_at",
          );
          assert.equal(plan.sorts, false, describe(plan));
          assertNear(plan.rows, 1_000);
        }

        const unindexed = sql(db, "SELECT * FROM events WHERE updated_at > $1", recent);
        for (const query of [unindexed, wrapped(db, unindexed)]) {
          const plan = await source.explain(query);
          assert.deepEqual(plan.scans, [{
            method: "full",
            table: "events",
            description: name === "postgres" ? "Seq Scan on events" : "full table scan on events",
          }]);
          assert.equal(plan.sorts, false);
          // MariaDB keeps no histogram of an unindexed column unless ANALYZE ... PERSISTENT
          // collects one: it expects every row to match.
          assertNear(plan.rows, name === "postgres" ? 1_000 : ROWS);
        }

        const sorted = await source.explain(sql(db, "SELECT * FROM events ORDER BY kind"));
        assert.equal(sorted.sorts, true, describe(sorted));
        assert.deepEqual(sorted.scans.map((s) => s.method), ["full"]);
        assertNear(sorted.rows, ROWS);

        // PostgreSQL: Limit -> Index Only Scan in one InitPlan per aggregate. MariaDB: "Select
        // tables optimized away", also when the aggregate is a materialized derived table.
        const minMax = sql(db, "SELECT min(updated_at) AS lo, max(updated_at) AS hi FROM orders");
        for (const query of [minMax, wrapped(db, minMax)]) {
          const plan = await source.explain(query);
          assert.ok(plan.scans.length > 0, describe(plan));
          assert.ok(plan.scans.every((s) => s.method === "index"), describe(plan));
          if (name === "postgres") {
            assert.ok(plan.scans.every((s) => s.index === "idx_orders_updated_at"));
            assert.match(plan.scans[0].description, /^Index Only Scan (Backward )?using idx_/);
          } else {
            assert.deepEqual(plan.scans, [
              { method: "index", description: "Select tables optimized away" },
            ]);
          }
          // MariaDB has no estimate for a block without tables, 1 for its derived table.
          assert.ok(plan.rows === 1 || (name === "mysql" && plan.rows === undefined));
        }

        const join = await source.explain(sql(
          db,
          "SELECT orders.id, events.kind FROM orders JOIN events ON events.id = orders.id " +
            "WHERE orders.updated_at > $1",
          recent,
        ));
        assert.deepEqual(
          join.scans.map((s) => s.table).sort(),
          ["events", "orders"],
          describe(join),
        );
        assert.ok(join.scans.some((s) => s.index === "idx_orders_updated_at"), describe(join));
        assertNear(join.rows, 1_000);
      });
    });
  });

  Deno.test(`${name} explain: statistics of a 60-million-row table, without the rows`, async () => {
    await withDb(engine, async (db) => {
      await createTables(db);
      await pretendRows(db, "events", 60_000_000);
      await withSource(configFor(db), async (source) => {
        const plan = await source.explain(sql(db, "SELECT * FROM events"));
        assert.ok(Math.abs((plan.rows ?? 0) - 60_000_000) <= 600_000, describe(plan));
        assert.deepEqual(plan.scans.map((s) => [s.method, s.table]), [["full", "events"]]);
        const estimate = await source.estimateRows(sql(db, "SELECT * FROM events"));
        assert.ok(Math.abs((estimate ?? 0) - 60_000_000) <= 600_000, `estimate ${estimate}`);
        // Only the pretended table grew.
        assertNear((await source.explain(sql(db, "SELECT * FROM orders"))).rows, ROWS);
      });
      await assert.rejects(() => pretendRows(db, "events", 0), RangeError);
      // PostgreSQL scales the pretended rows by the table's real pages: an empty table has none.
      await db.exec(`CREATE TABLE ${db.ns}.empty (id int PRIMARY KEY)`);
      if (name === "postgres") {
        await assert.rejects(() => pretendRows(db, "empty", 1_000), /insert at least one row/);
      } else {
        await pretendRows(db, "empty", 1_000);
      }
    });
  });

  Deno.test(`${name} explain: never runs the query`, async () => {
    await withDb(engine, async (db) => {
      await createTables(db);
      // A function with a side effect: the counter would move if EXPLAIN ran it.
      await db.exec(
        `CREATE TABLE ${db.ns}.counter (n int NOT NULL); ` +
          `INSERT INTO ${db.ns}.counter VALUES (0)`,
      );
      await db.exec(
        name === "postgres"
          ? `CREATE FUNCTION ${db.ns}.bump() RETURNS int LANGUAGE sql VOLATILE AS ` +
            `$$ UPDATE ${db.ns}.counter SET n = n + 1 RETURNING n $$`
          : `CREATE FUNCTION ${db.ns}.bump() RETURNS int MODIFIES SQL DATA NOT DETERMINISTIC ` +
            `BEGIN UPDATE ${db.ns}.counter SET n = n + 1; RETURN 1; END`,
      );
      const sleep = name === "postgres" ? "pg_sleep(5)" : "SLEEP(5)";
      await withSource(configFor(db, { statementTimeoutS: 30 }), async (source) => {
        const sleepy = await quick(
          3_000,
          () => source.explain(sql(db, `SELECT kind, ${sleep} AS z FROM events`)),
        );
        assert.deepEqual(sleepy.scans.map((s) => s.method), ["full"]);
        const bumping = sql(db, "SELECT kind, bump() AS b FROM events");
        if (name === "postgres") {
          await quick(3_000, () => source.explain(bumping));
        } else {
          // MariaDB locks the tables a statement's functions write before planning it, which
          // rivet's read-only session refuses, EXPLAIN included (in a read-write session the
          // EXPLAIN plans and the counter stays put too).
          const refused = await sourceError(() => source.explain(bumping));
          assert.equal(refused.code, "1792");
          assert.equal(refused.retryClass, "permanent");
        }
        assert.deepEqual(await db.textRows(`SELECT n FROM ${db.ns}.counter`), [["0"]]);

        const missing = await sourceError(() => source.explain(sql(db, "SELECT * FROM nowhere")));
        assert.equal(missing.retryClass, "permanent");
        assert.match(missing.message, /nowhere/);
        const syntax = await sourceError(() => source.explain(sql(db, "SELEC id FROM events")));
        assert.equal(syntax.retryClass, "permanent");

        // Pinned to a snapshot, a failed explain leaves the connection usable.
        await source.pinSnapshot();
        await sourceError(() => source.explain(sql(db, "SELECT * FROM nowhere")));
        const plan = await source.explain(sql(db, "SELECT * FROM events"));
        assert.deepEqual(plan.scans.map((s) => s.method), ["full"]);
        const { batches } = await source.query(sql(db, "SELECT count(*) FROM events"), {
          batchRows: 10,
          throttleMs: 0,
        });
        let count = "";
        for await (const batch of batches) count = String(batch.getChildAt(0)!.get(0));
        assert.equal(count, String(ROWS));
      });
    });
  });
}

Deno.test("postgres explain: statement_timeout bounds the planning", async () => {
  await withDb({ create: postgresDb }, async (db) => {
    // The planner folds an IMMUTABLE call with constant arguments, so this sleeps while planning.
    await db.exec(
      `CREATE FUNCTION ${db.ns}.slow_const() RETURNS int LANGUAGE plpgsql IMMUTABLE AS ` +
        "$$ BEGIN PERFORM pg_sleep(5); RETURN 1; END $$",
    );
    await withSource(configFor(db, { statementTimeoutS: 0.2 }), async (source) => {
      const slow = await sourceError(() =>
        quick(3_000, () => source.explain(sql(db, "SELECT slow_const()")))
      );
      assert.equal(slow.retryClass, "timeout");
    });
  });
});

Deno.test("mariadb explain: max_statement_time bounds what EXPLAIN evaluates", async () => {
  await withDb({ create: mysqlDb }, async (db) => {
    // MariaDB materializes a one-row derived table while optimizing, so EXPLAIN runs its SLEEP:
    // EXPLAIN does not run the query's reads, but it is not free of evaluation either.
    await withSource(configFor(db, { statementTimeoutS: 1 }), async (source) => {
      const slow = await sourceError(() =>
        quick(4_000, () => source.explain(sql(db, "SELECT * FROM (SELECT SLEEP(5) AS s) AS d")))
      );
      assert.equal(slow.retryClass, "timeout");
    });
  });
});

// ---------------------------------------------------------------------------------------------
// MySQL 8's plan shape (no MySQL 8 server here: literal plans in the documented shape)
// ---------------------------------------------------------------------------------------------

Deno.test("mysql 8 plan: a join sorted by filesort, read from the documented JSON shape", () => {
  // EXPLAIN FORMAT=JSON of
  //   SELECT * FROM orders o JOIN customers c ON c.id = o.customer_id
  //   WHERE o.updated_at > '2024-01-14' ORDER BY c.name
  // as MySQL 8.0 prints it (explain_json_format_version = 1): costs and `filtered` as strings.
  const output = {
    query_block: {
      select_id: 1,
      cost_info: { query_cost: "2265.81" },
      ordering_operation: {
        using_temporary_table: true,
        using_filesort: true,
        cost_info: { sort_cost: "1280.00" },
        nested_loop: [
          {
            table: {
              table_name: "o",
              access_type: "range",
              possible_keys: ["idx_orders_updated_at"],
              key: "idx_orders_updated_at",
              used_key_parts: ["updated_at"],
              key_length: "5",
              rows_examined_per_scan: 1280,
              rows_produced_per_join: 1280,
              filtered: "100.00",
              index_condition: "(`shop`.`o`.`updated_at` > TIMESTAMP'2024-01-14 00:00:00')",
              cost_info: {
                read_cost: "576.26",
                eval_cost: "128.00",
                prefix_cost: "704.26",
                data_read_per_join: "80K",
              },
              used_columns: ["id", "customer_id", "updated_at"],
            },
          },
          {
            table: {
              table_name: "c",
              access_type: "eq_ref",
              possible_keys: ["PRIMARY"],
              key: "PRIMARY",
              used_key_parts: ["id"],
              key_length: "4",
              ref: ["shop.o.customer_id"],
              rows_examined_per_scan: 1,
              rows_produced_per_join: 1280,
              filtered: "100.00",
              cost_info: {
                read_cost: "153.55",
                eval_cost: "128.00",
                prefix_cost: "985.81",
                data_read_per_join: "1M",
              },
              used_columns: ["id", "name"],
            },
          },
        ],
      },
    },
  };
  assert.deepEqual(readMysqlPlan(output), {
    rows: 1280,
    scans: [
      {
        method: "index",
        table: "o",
        index: "idx_orders_updated_at",
        description: "range scan on o using idx_orders_updated_at",
      },
      {
        method: "index",
        table: "c",
        index: "PRIMARY",
        description: "eq_ref lookup on c using PRIMARY",
      },
    ],
    sorts: true,
  });
});

Deno.test("mysql 8 plan: derived tables, subqueries, full scans and messages", () => {
  // SELECT * FROM (SELECT kind, count(*) AS n FROM events GROUP BY kind) AS _rivet
  // with an attached subquery; MySQL 8 names the derived table by its alias.
  const derived = {
    query_block: {
      select_id: 1,
      cost_info: { query_cost: "2.73" },
      table: {
        table_name: "_rivet",
        access_type: "ALL",
        rows_examined_per_scan: 13,
        rows_produced_per_join: 13,
        filtered: "100.00",
        cost_info: { read_cost: "2.52", eval_cost: "1.30", prefix_cost: "3.82" },
        used_columns: ["kind", "n"],
        materialized_from_subquery: {
          using_temporary_table: true,
          dependent: false,
          cacheable: true,
          query_block: {
            select_id: 2,
            cost_info: { query_cost: "6041.25" },
            grouping_operation: {
              using_temporary_table: true,
              using_filesort: false,
              table: {
                table_name: "events",
                access_type: "index",
                key: "idx_events_kind",
                used_key_parts: ["kind"],
                key_length: "162",
                rows_examined_per_scan: 60000,
                rows_produced_per_join: 60000,
                filtered: "100.00",
                using_index: true,
              },
            },
          },
        },
      },
    },
  };
  assert.deepEqual(readMysqlPlan(derived), {
    rows: 13,
    scans: [{
      method: "index",
      table: "events",
      index: "idx_events_kind",
      description: "full index scan on events using idx_events_kind",
    }],
    sorts: false,
  });

  // SELECT * FROM t WHERE v > (SELECT avg(v) FROM u) AND note LIKE '%x%', plus a subquery on
  // `w` that the optimizer evaluated once and dropped (`optimized_away_subqueries`).
  const attached = {
    query_block: {
      select_id: 1,
      cost_info: { query_cost: "1010.25" },
      table: {
        table_name: "t",
        access_type: "ALL",
        rows_examined_per_scan: 10000,
        rows_produced_per_join: 370,
        filtered: "3.70",
        attached_condition: "((`d`.`t`.`v` > (/* select#2 */ select avg(`d`.`u`.`v`) ...)))",
        attached_subqueries: [{
          dependent: false,
          cacheable: true,
          query_block: {
            select_id: 2,
            cost_info: { query_cost: "101.25" },
            table: {
              table_name: "u",
              access_type: "ALL",
              rows_examined_per_scan: 1000,
              rows_produced_per_join: 1000,
              filtered: "100.00",
            },
          },
        }],
      },
      optimized_away_subqueries: [{
        dependent: false,
        cacheable: true,
        query_block: {
          select_id: 3,
          table: {
            table_name: "w",
            access_type: "ALL",
            rows_examined_per_scan: 5,
            rows_produced_per_join: 5,
            filtered: "100.00",
          },
        },
      }],
    },
  };
  assert.deepEqual(readMysqlPlan(attached), {
    rows: 370,
    scans: [
      { method: "full", table: "t", description: "full table scan on t" },
      { method: "full", table: "u", description: "full table scan on u" },
      // Run once while optimizing: still a read of the table.
      { method: "full", table: "w", description: "full table scan on w" },
    ],
    sorts: false,
  });

  // MySQL puts a table-less block's reason straight under `query_block`.
  assert.deepEqual(
    readMysqlPlan({ query_block: { select_id: 1, message: "Select tables optimized away" } }),
    { scans: [{ method: "index", description: "Select tables optimized away" }], sorts: false },
  );
  assert.deepEqual(
    readMysqlPlan({ query_block: { select_id: 1, message: "No tables used" } }),
    { scans: [], sorts: false },
  );

  // UNION ALL: the branches' estimates add up.
  const union = {
    query_block: {
      union_result: {
        using_temporary_table: false,
        query_specifications: [
          {
            dependent: false,
            cacheable: true,
            query_block: {
              select_id: 1,
              table: { table_name: "a", access_type: "ALL", rows_produced_per_join: 10 },
            },
          },
          {
            dependent: false,
            cacheable: true,
            query_block: {
              select_id: 2,
              table: {
                table_name: "b",
                access_type: "ref",
                key: "idx_b_k",
                rows_produced_per_join: 5,
              },
            },
          },
        ],
      },
    },
  };
  const unionPlan = readMysqlPlan(union);
  assert.equal(unionPlan.rows, 15);
  assert.deepEqual(unionPlan.scans.map((s) => s.description), [
    "full table scan on a",
    "ref lookup on b using idx_b_k",
  ]);
});

Deno.test("mysql plan: a document without query_block is refused clearly", () => {
  // MySQL 8.3+ with explain_json_format_version = 2 prints a different document.
  assert.throws(
    () =>
      readMysqlPlan({ query: "/* select#1 */ select ...", inputs: [], operation: "Table scan" }),
    (error) => error instanceof SourceError && /explain_json_format_version/.test(error.message),
  );
});
