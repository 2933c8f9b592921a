/**
 * A local stand-in for a Slack incoming webhook: records every request, and answers 200, 500, or
 * not at all (to exercise the notifier's timeout).
 *
 * @module
 */

/** One request as the stand-in received it. */
export interface WebhookRequest {
  /** The HTTP method (the notifier POSTs). */
  method: string;
  /** Path and query, e.g. `/services/T1/B2/secret`. */
  path: string;
  /** The `content-type` header, if any. */
  contentType: string | null;
  /** The raw body text. */
  body: string;
}

/** How the stand-in answers: `ok` 200, `fail` 500, `hang` never (until it stops). */
export type WebhookMode = "ok" | "fail" | "hang";

/** A running stand-in. */
export interface WebhookServer {
  /** `http://127.0.0.1:<port>`; any path is accepted. */
  origin: string;
  /** Every request so far, in arrival order. */
  requests: WebhookRequest[];
  /** The answer to the next requests (changeable at any time). */
  mode: WebhookMode;
  /** Releases hanging requests and stops listening. */
  close(): Promise<void>;
}

/** Starts a stand-in on a free loopback port. */
export function startWebhookServer(mode: WebhookMode = "ok"): WebhookServer {
  const requests: WebhookRequest[] = [];
  const hanging = new Set<() => void>();
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    async (req) => {
      const url = new URL(req.url);
      requests.push({
        method: req.method,
        path: url.pathname + url.search,
        contentType: req.headers.get("content-type"),
        body: await req.text(),
      });
      if (stand.mode === "hang") {
        // Shutdown waits for open requests: close() must be able to end this one.
        await new Promise<void>((release) => hanging.add(release));
        return new Response("released", { status: 503 });
      }
      return stand.mode === "ok"
        ? new Response("ok")
        : new Response("internal_error", { status: 500 });
    },
  );
  const stand: WebhookServer = {
    origin: `http://127.0.0.1:${server.addr.port}`,
    requests,
    mode,
    async close() {
      for (const release of hanging) release();
      await server.shutdown();
    },
  };
  return stand;
}
