/**
 * Named moments of an export at which crash-safety tests stop the process, to kill it exactly
 * there: `read` (a batch read, not yet written), `written` (a batch in the staged file),
 * `finished` (files finished, not yet validated or delivered), `delivering` (a file published,
 * not yet recorded) and `delivered` (every file recorded, the cursor not yet saved).
 *
 * Inert unless the environment variable `RIVET_TEST_HALT_AT` names the point: then the process
 * logs that it reached it and waits until it is killed. Nothing else reads it.
 *
 * @module
 */
import { log } from "../util/log.ts";

/** The moments a test can stop an export at. */
export type FaultPoint = "read" | "written" | "finished" | "delivering" | "delivered";

let target: string | undefined | null = null;

/** Stops here, for good, when `RIVET_TEST_HALT_AT` names `point`. */
export async function faultPoint(point: FaultPoint): Promise<void> {
  if (target === null) {
    try {
      target = Deno.env.get("RIVET_TEST_HALT_AT");
    } catch {
      // Without permission to read the environment nobody can have set it.
      target = undefined;
    }
  }
  if (target !== point) return;
  log.warn(`fault point '${point}' reached (RIVET_TEST_HALT_AT): waiting to be killed`);
  await new Promise<never>(() => setInterval(() => {}, 60_000));
}
