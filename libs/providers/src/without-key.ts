/** What an upstream's text shows in place of the provider's key. */
const HIDDEN = '[provider key]';

/**
 * Keys shorter than this are not taken out of text: a placeholder key such as `none` or `x` for
 * a local server guards nothing, and replacing every `x` in a message garbles it (the log's
 * redaction, apps/gateway/src/http/body-redaction.ts, keeps the same floor).
 */
const MIN_SECRET_LENGTH = 8;

/**
 * `text` from an upstream (an error message) without the provider key the gateway sent it: some
 * upstreams (LiteLLM-style proxies) repeat the credential they were given in their errors, and
 * those reach the client. A key shorter than MIN_SECRET_LENGTH is left in.
 */
export function withoutKey(text: string, key: string | undefined): string {
  return key && key.length >= MIN_SECRET_LENGTH ? text.replaceAll(key, HIDDEN) : text;
}
