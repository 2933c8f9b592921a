/**
 * The Deno runtime flags rivet is meant to run with, beside its permissions. Every launcher this
 * project makes adds them: `deno task rivet`, the `deno run` flags and the `deno install` line that
 * `rivet permissions` prints, the compiled binary (`deno task compile`) and the bench. Another
 * launcher (a plain `deno run jsr:@rivet/cli`, an Airflow operator) gets them from the command
 * line or from `DENO_V8_FLAGS`; without them rivet works the same and uses more memory.
 *
 * `--max-semi-space-size=2` caps each V8 isolate's young generation at 2 MB semi-spaces. V8 grows
 * that generation whenever the bytes that survived its collections since the last growth exceed
 * its size, so in any export of more than a few seconds the main thread's reaches V8's default
 * ceiling (16 MB semi-spaces here), although only 3-4% of each collection survives. Capped, the
 * collections come more often and each still finds little alive. Measured peak RSS (MiB), default
 * → capped (`fast` profile, two runs each): PostgreSQL 6 M rows of TPC-H `lineitem` → Parquet
 * 268-283 → 234-242, 1 M mixed rows → Parquet 243-246 → 224-229 and → CSV 94 → 87-88; MariaDB
 * 300 K rows of 2 KB text → Parquet 236-241 → 220-222, `lineitem` → CSV 116-117 → 95; CPU time
 * the same or lower on each. A program cannot set this for itself: V8 sizes an
 * isolate's heap when it creates the isolate.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { RUNTIME_FLAGS } from "./runtime_flags.ts";
 *
 * assert.ok(RUNTIME_FLAGS.every((flag) => flag.startsWith("--v8-flags=")));
 * ```
 *
 * @module
 */

/** The runtime flags, as `deno run`, `deno install` and `deno compile` take them. */
export const RUNTIME_FLAGS: readonly string[] = ["--v8-flags=--max-semi-space-size=2"];
