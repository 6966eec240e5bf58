/** What an upstream's text shows in place of the provider's key. */
const HIDDEN = '[provider key]';

/**
 * Keys shorter than this are not taken out of text: a placeholder key such as `none` or `x` for
 * a local server guards nothing, and replacing every `x` in a message garbles it (the log's
 * redaction, apps/gateway/src/http/body-redaction.ts, keeps the same floor).
 */
const MIN_SECRET_LENGTH = 8;

/** A character of a base64 or base64url word (its `=` padding aside). */
const BASE64_CHAR = /[A-Za-z0-9+/_-]/;

/** Patterns of the key's encoded forms, by key: a provider has one key (bounded all the same: keys may be re-read). */
const encodedForms = new Map<string, RegExp>();
const MAX_KEYS = 64;

/**
 * `text` from an upstream (an error message) without the provider key the gateway sent it: some
 * upstreams (LiteLLM-style proxies) repeat the credential they were given in their errors, and
 * those reach the client. The key as it is, and encoded in base64 or base64url, alone or inside
 * a Basic credential (`user:key`): each such word is replaced whole. A key shorter than
 * MIN_SECRET_LENGTH is left in. The one place upstream text loses the key.
 */
export function withoutKey(text: string, key: string | undefined): string {
  if (!key || key.length < MIN_SECRET_LENGTH) return text;
  return withoutEncoded(text.replaceAll(key, HIDDEN), encoded(key));
}

/**
 * The key's encodings' pattern, whatever came before or after it: base64 encodes 3 bytes at a time, so the key's
 * bytes from a 3-byte group boundary on encode the same whatever precedes them (0, 1 or 2 bytes past a boundary:
 * `key`, `:key`, `user:key`). Those 3 encodings' full groups (all but at most 2 bytes at each end of the key) are
 * looked for, in both alphabets.
 */
function encoded(key: string): RegExp {
  let pattern = encodedForms.get(key);
  if (pattern) return pattern;
  const bytes = Buffer.from(key);
  const cores = new Set<string>();
  for (let skip = 0; skip < 3; skip++) {
    const whole = bytes.subarray(skip, skip + Math.floor((bytes.length - skip) / 3) * 3);
    cores.add(whole.toString('base64')).add(whole.toString('base64url'));
  }
  pattern = new RegExp([...cores].map((core) => core.replace(/[+/]/g, '\\$&')).join('|'), 'g');
  if (encodedForms.size >= MAX_KEYS) encodedForms.clear();
  encodedForms.set(key, pattern);
  return pattern;
}

/** `text` with each word holding a match of `cores` replaced whole (found outward from the match: linear in `text`). */
function withoutEncoded(text: string, cores: RegExp): string {
  let out = '';
  let done = 0;
  for (const match of text.matchAll(cores)) {
    let start = match.index;
    let end = start + match[0].length;
    if (start < done) continue;
    while (start > done && BASE64_CHAR.test(text[start - 1])) start--;
    while (end < text.length && BASE64_CHAR.test(text[end])) end++;
    while (text[end] === '=') end++;
    out += text.slice(done, start) + HIDDEN;
    done = end;
  }
  return done === 0 ? text : out + text.slice(done);
}
