/**
 * A test seam: sends the requests google-auth-library makes to Google's OAuth token endpoints to
 * another URL (the GCS stand-in's). The library posts to fixed URLs, whatever a key file's
 * `token_uri` says, so no configuration can point it at a test server.
 *
 * A test imports {@link redirectGoogleTokenRequests} to redirect in its own process; a CLI
 * subprocess gets this module as `deno run --preload` with `RIVET_TEST_TOKEN_URL` set.
 *
 * @module
 */
import { Gaxios } from "gaxios";

/** Where service-account assertions (gtoken) and user refresh tokens (OAuth2Client) go. */
const GOOGLE_TOKEN_URLS = new Set([
  "https://www.googleapis.com/oauth2/v4/token",
  "https://oauth2.googleapis.com/token",
]);

/** From now on, every request to a Google token URL in this process goes to `target`. */
export function redirectGoogleTokenRequests(target: string): void {
  const request = Gaxios.prototype.request;
  Gaxios.prototype.request = function (this: Gaxios, options = {}) {
    const redirected = GOOGLE_TOKEN_URLS.has(String(options.url))
      ? { ...options, url: target }
      : options;
    return request.call(this, redirected);
  } as typeof request;
}

const target = Deno.env.get("RIVET_TEST_TOKEN_URL");
if (target) redirectGoogleTokenRequests(target);
