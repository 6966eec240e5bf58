/** What an upstream's text shows in place of the provider's key. */
const HIDDEN = '[provider key]';

/**
 * `text` from an upstream (an error message) without the provider key the gateway sent it: some
 * upstreams (LiteLLM-style proxies) repeat the credential they were given in their errors, and
 * those reach the client.
 */
export function withoutKey(text: string, key: string | undefined): string {
  return key ? text.replaceAll(key, HIDDEN) : text;
}
