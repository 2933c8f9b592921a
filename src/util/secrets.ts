/**
 * A registry of secret strings (passwords, URLs with credentials) that must never be printed.
 *
 * Secrets are registered where they are resolved (config loading); every log line and every error
 * message printed by the CLI passes through {@link redact}.
 *
 * @module
 */

const secrets = new Set<string>();

/** Registers a secret so that {@link redact} masks it. Short strings are ignored (too ambiguous). */
export function registerSecret(value: string | undefined): void {
  if (value && value.length >= 3) {
    secrets.add(value);
    const encoded = encodeURIComponent(value);
    if (encoded !== value) secrets.add(encoded);
  }
}

/** Masks every registered secret and any `user:password@` URL userinfo in `text`. */
export function redact(text: string): string {
  let out = text;
  for (const s of secrets) out = out.split(s).join("***");
  return out.replace(/(\b[a-z][a-z0-9+.-]*:\/\/[^:/@\s]*:)[^@\s]*@/gi, "$1***@");
}
