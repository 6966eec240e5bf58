import type { CompletionUsage } from '../wire';
import { isSpace, valueAt } from './json-bytes';

type Counts = { [key: string]: number | null | Counts };

/** The keys OpenAI-format servers write, as strings made once (a string per key read is most of the cost). */
const KNOWN_KEYS = [
  'prompt_tokens',
  'completion_tokens',
  'total_tokens',
  'prompt_tokens_details',
  'completion_tokens_details',
  'cached_tokens',
  'audio_tokens',
  'reasoning_tokens',
  'accepted_prediction_tokens',
  'rejected_prediction_tokens',
].map((key) => ({ key, bytes: Buffer.from(key) }));

function keyAt(body: Buffer, start: number, end: number): string {
  for (const known of KNOWN_KEYS) if (sameBytes(body, start, end, known.bytes)) return known.key;
  return body.toString('latin1', start, end);
}

// A loop, not Buffer#compare: a native call costs more than the dozen bytes compared.
function sameBytes(body: Buffer, start: number, end: number, bytes: Buffer): boolean {
  if (bytes.length !== end - start) return false;
  for (let k = 0; k < bytes.length; k++) if (body[start + k] !== bytes[k]) return false;
  return true;
}

/**
 * The `usage` object starting at `start` (its `{`), read straight from the bytes: objects of
 * integer counts (`null` allowed), nested, as every OpenAI-format server writes them. Anything
 * else in it (a string, an array, a fraction, an escape) is parsed by JSON.parse instead, so the
 * result is always JSON.parse's. Undefined when the object is cut short or is not valid JSON.
 * Why not JSON.parse alone: it was a fifth of the gateway's own work on a JSON answer (the
 * bench's pretty-printed usage: ~0.75 µs of JSON.parse plus the copy to a string, against
 * ~0.25 µs here), paid on every request.
 */
export function usageAt(body: Buffer, start: number): CompletionUsage | undefined {
  const reader = { at: start };
  const usage = readCounts(body, reader);
  if (usage !== undefined) return usage as unknown as CompletionUsage;
  return parsedAt(body, start);
}

/** An object of counts at `reader.at`, or undefined at anything else (the caller falls back). */
function readCounts(body: Buffer, reader: { at: number }): Counts | undefined {
  let i = reader.at + 1; // past `{`
  const counts: Counts = {};
  i = skipSpace(body, i);
  if (body[i] === 0x7d /* } */) {
    reader.at = i + 1;
    return counts;
  }
  for (;;) {
    if (body[i] !== 0x22 /* " */) return undefined;
    const keyEnd = body.indexOf(0x22, i + 1);
    if (keyEnd < 0) return undefined;
    for (let k = i + 1; k < keyEnd; k++) if (body[k] === 0x5c /* \ */ || body[k] >= 0x80) return undefined;
    const key = keyAt(body, i + 1, keyEnd);
    if (key === '__proto__') return undefined; // an own property for JSON.parse, the prototype here
    i = valueAt(body, keyEnd + 1);
    if (i < 0) return undefined;
    const first = body[i];
    if (first === 0x7b /* { */) {
      reader.at = i;
      const inner = readCounts(body, reader);
      if (inner === undefined) return undefined;
      counts[key] = inner;
      i = reader.at;
    } else if (first === 0x6e /* n */) {
      if (body[i + 1] !== 0x75 || body[i + 2] !== 0x6c || body[i + 3] !== 0x6c) return undefined;
      counts[key] = null;
      i += 4;
    } else {
      // A non-negative integer without leading zeros: JSON.parse would read it the same way.
      let value = 0;
      const digits = i;
      while (body[i] >= 0x30 && body[i] <= 0x39) value = value * 10 + body[i++] - 0x30;
      if (i === digits || (body[digits] === 0x30 && i - digits > 1) || i - digits > 15) return undefined;
      counts[key] = value;
    }
    i = skipSpace(body, i);
    if (body[i] === 0x2c /* , */) i = skipSpace(body, i + 1);
    else if (body[i] === 0x7d /* } */) {
      reader.at = i + 1;
      return counts;
    } else return undefined;
  }
}

function skipSpace(body: Buffer, from: number): number {
  let i = from;
  while (isSpace(body[i])) i++;
  return i;
}

/** JSON.parse of the object at `start`, found by its matching brace. */
function parsedAt(body: Buffer, start: number): CompletionUsage | undefined {
  let depth = 0;
  let inString = false;
  for (let i = start; i < body.length; i++) {
    const byte = body[i];
    if (inString) {
      if (byte === 0x5c /* \ */) i++;
      else if (byte === 0x22) inString = false;
    } else if (byte === 0x22) inString = true;
    else if (byte === 0x7b) depth++;
    else if (byte === 0x7d && --depth === 0) {
      try {
        return JSON.parse(body.toString('utf8', start, i + 1));
      } catch {
        return undefined;
      }
    }
  }
  return undefined;
}

/**
 * DeepSeek reports the prompt tokens its context cache served as `prompt_cache_hit_tokens`, not
 * as OpenAI's `prompt_tokens_details.cached_tokens`: read as OpenAI's, so they are billed at the
 * deployment's `cachedInput` price and reported as cached to every client protocol (they were
 * billed at the full input price, ~4x DeepSeek's cache-hit price).
 */
export function withCacheHits<T extends CompletionUsage | undefined>(usage: T): T {
  const hits = (usage as { prompt_cache_hit_tokens?: unknown } | undefined)?.prompt_cache_hit_tokens;
  if (!usage || typeof hits !== 'number' || usage.prompt_tokens_details?.cached_tokens != null) return usage;
  return { ...usage, prompt_tokens_details: { ...usage.prompt_tokens_details, cached_tokens: hits } };
}
