/**
 * Config rule: `notifications.slack` (spec "Slack notifications"). The webhook comes from exactly
 * one of `webhook_url` and `webhook_url_env`, must be an http(s) URL, and is registered as a
 * secret: whoever holds it can post to the channel, so it is never printed. `on` defaults to
 * `[failure]`.
 *
 * @module
 */
import { registerSecret } from "../util/secrets.ts";
import type { Fail } from "./export/rule.ts";
import type { KeyPath } from "./location.ts";
import type { SlackConfig, SlackTrigger } from "./types.ts";

/** `notifications` as the schema admits it, before resolution. */
export interface RawNotifications {
  /** The Slack incoming webhook and its triggers. */
  slack?: {
    webhook_url?: string;
    webhook_url_env?: string;
    on?: SlackTrigger[];
  };
}

/** The triggers when `on` is absent: a failed export is the one event nobody wants to miss. */
const DEFAULT_TRIGGERS: readonly SlackTrigger[] = ["failure"];

/**
 * Resolves `notifications`; `undefined` when the section is absent. `env` reads the variable named
 * by `webhook_url_env`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 *
 * const fail = (message: string): never => {
 *   throw new Error(message);
 * };
 * const env = (name: string) =>
 *   name === "SLACK_HOOK" ? "https://hooks.slack.com/services/T1/B2/abc" : undefined;
 * assert.deepEqual(resolveNotifications({ slack: { webhook_url_env: "SLACK_HOOK" } }, env, fail), {
 *   slack: { webhookUrl: "https://hooks.slack.com/services/T1/B2/abc", on: ["failure"] },
 * });
 * assert.throws(
 *   () => resolveNotifications({ slack: { webhook_url_env: "NOPE" } }, env, fail),
 *   /environment variable NOPE is not set/,
 * );
 * ```
 */
export function resolveNotifications(
  raw: RawNotifications | undefined,
  env: (name: string) => string | undefined,
  fail: Fail,
): { slack?: SlackConfig } | undefined {
  if (raw === undefined) return undefined;
  return raw.slack === undefined ? {} : { slack: resolveSlack(raw.slack, env, fail) };
}

function resolveSlack(
  raw: NonNullable<RawNotifications["slack"]>,
  env: (name: string) => string | undefined,
  fail: Fail,
): SlackConfig {
  const at = (...key: string[]): KeyPath => ["notifications", "slack", ...key];
  if ((raw.webhook_url === undefined) === (raw.webhook_url_env === undefined)) {
    const both = raw.webhook_url !== undefined;
    fail(
      `notifications.slack: set exactly one of webhook_url or webhook_url_env${
        both ? ", not both" : ""
      }`,
      both ? at("webhook_url_env") : at(),
      both,
    );
  }
  let webhookUrl: string;
  let key: string;
  if (raw.webhook_url_env !== undefined) {
    key = "webhook_url_env";
    const value = env(raw.webhook_url_env)?.trim();
    if (value === undefined || value === "") {
      fail(
        `notifications.slack.webhook_url_env: environment variable ${raw.webhook_url_env} is not set`,
        at(key),
      );
    }
    webhookUrl = value;
  } else {
    key = "webhook_url";
    webhookUrl = raw.webhook_url!;
  }
  // Registered before it is checked, so that no later message can echo it.
  registerSecret(webhookUrl);
  checkUrl(webhookUrl, key, (message) => fail(message, at(key)));
  const on = raw.on ?? DEFAULT_TRIGGERS;
  if (on.length === 0) {
    fail(
      "notifications.slack.on: the list is empty; name at least one of failure, schema_change, degraded (or omit 'on' for [failure])",
      at("on"),
    );
  }
  return { webhookUrl, on: [...new Set(on)] };
}

/** Only the scheme is ever named in a message: the rest of the URL is the secret. */
function checkUrl(text: string, key: string, fail: (message: string) => never): void {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return fail(`notifications.slack.${key}: the webhook is not a valid URL`);
  }
  // The parsed form can differ from the text (case, trailing '/'), and error messages quote it.
  registerSecret(url.href);
  if (url.protocol !== "https:" && url.protocol !== "http:") {
    fail(
      `notifications.slack.${key}: the webhook must be an http:// or https:// URL, got '${url.protocol}//'`,
    );
  }
}
