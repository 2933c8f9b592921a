/**
 * Slack notifications (spec "Slack notifications"): a subscriber to the pipeline's events that
 * posts one incoming-webhook message per export whose outcome matches a configured trigger.
 *
 * Delivery is best effort. A webhook that refuses, times out or answers non-2xx costs a warning,
 * never the export or the exit code: the data already landed, and a chat outage must not make a
 * scheduler retry a good run. The webhook URL is a secret and appears in no warning.
 *
 * @module
 */
import type { SlackConfig, SlackTrigger } from "../config/types.ts";
import { errorMessage } from "../errors.ts";
import type { DegradedEvent, EventListener } from "../pipeline/events.ts";
import type { ExportSummary } from "../pipeline/summary.ts";
import { log } from "../util/log.ts";
import { redact } from "../util/secrets.ts";

/** How long one webhook request may take before it is given up on. */
const SLACK_TIMEOUT_MS = 10_000;

/** Attachment colours: red for a failed export, amber for anything else worth a message. */
const COLOR_FAILED = "#e74c3c";
const COLOR_WARNING = "#f39c12";

/** The body POSTed to the webhook (Slack's legacy attachment format, as upstream rivet sends). */
export interface SlackPayload {
  /** One attachment per message. */
  attachments: {
    /** {@link COLOR_FAILED} or {@link COLOR_WARNING}. */
    color: string;
    /** `Rivet: <run_id>`. */
    title: string;
    /** The export, status, rows and duration, then one line per notable fact. */
    text: string;
    /** Always `rivet export notification`. */
    footer: string;
  }[];
}

/** A subscriber to `runExports`' events that notifies Slack. */
export interface SlackNotifier {
  /** Pass as `RunOptions.onEvent`. */
  listener: EventListener;
  /** Resolves once every message started so far was delivered or given up on (never rejects). */
  flush(): Promise<void>;
}

/** What the triggers look at: an export's summary and the verdict of its last check, if poor. */
export interface Outcome {
  /** The export's final summary (its `finished` event). */
  summary: ExportSummary;
  /** The verdict of its `degraded` event during the run, if there was one. */
  degraded?: DegradedEvent["verdict"];
}

/**
 * The triggers an outcome fires: `failure` when the export failed, `schema_change` when its schema
 * changed since the last run, `degraded` when its last `rivet check` was DEGRADED or UNSAFE.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 *
 * const summary = {
 *   exportName: "orders",
 *   runId: "orders_20260329T125109.336",
 *   status: "failed" as const,
 *   exitCode: 2,
 *   rows: 0,
 *   files: 0,
 *   bytes: 0,
 *   durationMs: 12,
 *   peakRssMb: 80,
 *   retries: 0,
 *   longestStatementMs: 0,
 *   longestTransactionMs: 0,
 *   locations: [],
 *   schema: "CHANGED" as const,
 * };
 * assert.deepEqual(firedTriggers({ summary, degraded: "UNSAFE" }), [
 *   "failure",
 *   "schema_change",
 *   "degraded",
 * ]);
 * ```
 */
export function firedTriggers(outcome: Outcome): SlackTrigger[] {
  const fired: SlackTrigger[] = [];
  if (outcome.summary.status === "failed") fired.push("failure");
  if (outcome.summary.schema === "CHANGED") fired.push("schema_change");
  if (outcome.degraded !== undefined) fired.push("degraded");
  return fired;
}

/**
 * The message for one export. Every fact worth knowing is in the text, whichever trigger fired:
 * a failed export whose schema also changed says both.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 *
 * const payload = slackPayload({
 *   summary: {
 *     exportName: "orders",
 *     runId: "orders_20260329T125109.336",
 *     status: "failed",
 *     exitCode: 2,
 *     rows: 0,
 *     files: 0,
 *     bytes: 0,
 *     durationMs: 412,
 *     peakRssMb: 80,
 *     retries: 0,
 *     longestStatementMs: 0,
 *     longestTransactionMs: 0,
 *     locations: [],
 *     error: "relation \"orders\" does not exist",
 *   },
 * });
 * assert.deepEqual(payload, {
 *   attachments: [{
 *     color: "#e74c3c",
 *     title: "Rivet: orders_20260329T125109.336",
 *     text: "*orders* | status: `failed` | rows: 0 | duration: 412ms\n" +
 *       "error: relation \"orders\" does not exist",
 *     footer: "rivet export notification",
 *   }],
 * });
 * ```
 */
export function slackPayload(outcome: Outcome): SlackPayload {
  const s = outcome.summary;
  let text =
    `*${s.exportName}* | status: \`${s.status}\` | rows: ${s.rows} | duration: ${s.durationMs}ms`;
  if (s.error !== undefined) text += `\nerror: ${s.error}`;
  if (s.schema === "CHANGED") text += "\nschema changed";
  if (outcome.degraded !== undefined) text += `\ndegraded: ${outcome.degraded}`;
  return {
    attachments: [{
      color: s.status === "failed" ? COLOR_FAILED : COLOR_WARNING,
      title: `Rivet: ${s.runId}`,
      // The message leaves the machine: mask any secret even if a summary field came to hold one.
      text: redact(text),
      footer: "rivet export notification",
    }],
  };
}

/**
 * Subscribes Slack to a run: one message per export whose outcome fires one of `config.on`, sent
 * when its `finished` event arrives. Call {@link SlackNotifier.flush} before the process exits.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 *
 * const received: unknown[] = [];
 * const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (req) => {
 *   received.push(await req.json());
 *   return new Response("ok");
 * });
 * const notifier = slackNotifier({
 *   webhookUrl: `http://127.0.0.1:${server.addr.port}/services/T1/B2/abc`,
 *   on: ["schema_change"],
 * });
 * const summary = {
 *   exportName: "orders",
 *   runId: "orders_20260329T125109.336",
 *   status: "success" as const,
 *   exitCode: 0,
 *   rows: 3,
 *   files: 1,
 *   bytes: 900,
 *   durationMs: 40,
 *   peakRssMb: 80,
 *   retries: 0,
 *   longestStatementMs: 3,
 *   longestTransactionMs: 5,
 *   locations: ["/out/orders.parquet"],
 * };
 * notifier.listener({ type: "finished", summary });
 * notifier.listener({ type: "finished", summary: { ...summary, schema: "CHANGED" } });
 * await notifier.flush();
 * await server.shutdown();
 * assert.equal(received.length, 1);
 * ```
 */
export function slackNotifier(config: SlackConfig): SlackNotifier {
  const degraded = new Map<string, DegradedEvent["verdict"]>();
  const pending = new Set<Promise<void>>();
  const listener: EventListener = (event) => {
    if (event.type === "degraded") {
      degraded.set(event.exportName, event.verdict);
      return;
    }
    if (event.type !== "finished") return;
    const name = event.summary.exportName;
    const outcome: Outcome = { summary: event.summary, degraded: degraded.get(name) };
    degraded.delete(name);
    if (!firedTriggers(outcome).some((t) => config.on.includes(t))) return;
    const sending = post(config.webhookUrl, name, slackPayload(outcome));
    pending.add(sending);
    sending.finally(() => pending.delete(sending));
  };
  return {
    listener,
    async flush() {
      await Promise.all(pending);
    },
  };
}

/** Sends one message; every failure ends in a warning (never a rejection). */
async function post(url: string, exportName: string, payload: SlackPayload): Promise<void> {
  try {
    const response = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(payload),
      signal: AbortSignal.timeout(SLACK_TIMEOUT_MS),
    });
    // Only the status matters; cancelling the body frees the connection.
    await response.body?.cancel();
    if (response.ok) {
      log.info(`export '${exportName}': Slack notification sent`);
      return;
    }
    log.warn(
      `export '${exportName}': Slack notification not delivered: the webhook answered HTTP ${response.status}`,
    );
  } catch (err) {
    log.warn(
      `export '${exportName}': Slack notification not delivered: ${failureReason(err, url)}`,
    );
  }
}

/**
 * Why a request failed, without the URL: fetch errors quote it, and log redaction masks only what
 * config loading registered, which a notifier built from a hand-made config never was.
 */
function failureReason(err: unknown, url: string): string {
  if (err instanceof DOMException && err.name === "TimeoutError") {
    return `no answer within ${SLACK_TIMEOUT_MS / 1000}s`;
  }
  let text = errorMessage(err);
  // Deno's fetch says only "fetch failed"; what went wrong (refused, DNS, TLS) is in the cause.
  if (err instanceof Error && err.cause !== undefined) text += `: ${errorMessage(err.cause)}`;
  for (const form of new Set([url, URL.canParse(url) ? new URL(url).href : url])) {
    text = text.split(form).join("<webhook>");
  }
  return text;
}
