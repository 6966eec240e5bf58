import { GatewayError } from '../gateway-error';
import type { JsonResult } from '../provider';
import type { CompletionUsage } from '../wire';
import { misTypedAnswerField, misTypedUsageField } from '../translation/chunk-shape';
import { wholeUsage } from '../translation/completion';
import { invalidJson } from '../translation/errors';
import { isSpace, valueAt } from './json-bytes';
import { utf8Bytes } from '../utf8-bytes';
import { usageAt, withCacheHits } from './usage-bytes';

const USAGE_KEY = Buffer.from('"usage"');
const OBJECT_KEY = Buffer.from('"object"');
const objectValues = new Map<string, Buffer>();

/**
 * Reads a successful JSON answer. The bytes are forwarded as they came, but for bytes that are not UTF-8
 * (utf8Bytes), and are not parsed whole (embeddings answers run to megabytes): we check that they open and close
 * as an object (a body cut short mid-value is refused, so the router tries elsewhere) and
 * the object type, and parse only the top-level `usage` object, found from the end where
 * OpenAI-format servers put it.
 */
export function readJsonResult(provider: string, received: Buffer, expect: string): JsonResult {
  const body = utf8Bytes(received);
  if (body[0] !== 0x7b /* { */ || body[lastNonSpace(body)] !== 0x7d /* } */ || !isObjectOf(body, expect)) throw notA(provider, expect);
  return { body, usage: usageOf(body) };
}

/**
 * A non-streamed chat answer (bytes that are not UTF-8 replaced: utf8Bytes), parsed to check the types of the
 * fields the cache and the codecs read (chunk-shape.ts): a choice that is no object (`"choices":[null]`), a `content` that is a number, went out as
 * a 200 and made them throw. The upstream's invalid answer (502, retryable) then, before anything is sent.
 * The object type and the usage are read from that parse (what readJsonResult's byte reads give, JSON.parse
 * being their reference): one parse and the check, ~7 µs for the bench's 833-byte answer, against ~5.5 µs for
 * the bytes-only read alone (BENCHMARKS.md, session 23).
 */
export function readChatResult(provider: string, received: Buffer, apiKey?: string): JsonResult {
  const body = utf8Bytes(received);
  if (body[0] !== 0x7b /* { */ || body[lastNonSpace(body)] !== 0x7d /* } */) throw notA(provider, 'chat.completion');
  let answer: Record<string, unknown>;
  try {
    answer = JSON.parse(body.toString('utf8')) as Record<string, unknown>; // an object: it opens with `{`
  } catch (err) {
    throw invalidJson(provider, err as Error, apiKey);
  }
  if (answer.object !== 'chat.completion') throw notA(provider, 'chat.completion');
  const field = misTypedAnswerField(answer);
  if (field !== undefined)
    throw GatewayError.invalidResponse(
      `Provider ${provider} returned a response that is not a chat.completion (\`${field}\` is missing or of the wrong type).`,
    );
  // The tier that served prices the usage, reported or estimated.
  const serviceTier = typeof answer.service_tier === 'string' ? answer.service_tier : undefined;
  // Usage whose counts are not numbers (`"prompt_tokens":"100"`) is no usage: a good answer is not refused
  // for it, and its cost is estimated (accounting.ts), as a stream's is. The codecs and the cache read the
  // body's usage, where a string made a sum text: the body goes out without it.
  if (misTypedUsageField(answer) !== undefined)
    return { body: Buffer.from(JSON.stringify({ ...answer, usage: undefined })), usage: undefined, serviceTier };
  // `"usage":null` is no usage (cost is then estimated); misTypedAnswerField allows only an object or null.
  const usage = answer.usage as CompletionUsage | null | undefined;
  if (!usage) return { body, usage: undefined, serviceTier };
  // Usage without a count the OpenAI SDK types as a number (`completion_tokens`): the client gets none (wholeUsage),
  // the bill its prompt count, the output estimated.
  if (!wholeUsage(usage))
    return { body: Buffer.from(JSON.stringify({ ...answer, usage: undefined })), usage: withCacheHits(usage), serviceTier };
  return { body, usage: withCacheHits(usage), serviceTier };
}

function notA(provider: string, expect: string): GatewayError {
  return GatewayError.invalidResponse(`Provider ${provider} returned a response that is not a ${expect}.`);
}

/** Whether an `"object"` key has the string value `expect`. */
function isObjectOf(body: Buffer, expect: string): boolean {
  let value = objectValues.get(expect);
  if (!value) objectValues.set(expect, (value = Buffer.from(JSON.stringify(expect))));
  for (let at = body.indexOf(OBJECT_KEY); at >= 0; at = body.indexOf(OBJECT_KEY, at + OBJECT_KEY.length)) {
    const start = valueAt(body, at + OBJECT_KEY.length);
    if (start >= 0 && start + value.length <= body.length && body.compare(value, 0, value.length, start, start + value.length) === 0)
      return true;
  }
  return false;
}

function lastNonSpace(body: Buffer): number {
  let i = body.length - 1;
  while (i > 0 && isSpace(body[i])) i--;
  return i;
}

/** The `usage` object of a JSON answer, or undefined when it has none (cost is then estimated). */
export function usageOf(body: Buffer): JsonResult['usage'] {
  const key = topLevelUsageKey(body);
  const start = key < 0 ? -1 : valueAt(body, key + USAGE_KEY.length);
  // `"usage":null` (and a server's own fields after it) is no usage.
  if (start < 0 || body[start] !== 0x7b /* { */) return undefined;
  return withCacheHits(usageAt(body, start));
}

/**
 * Where the answer's own `"usage"` key is: the last one (JSON.parse keeps the last of a key) that
 * is a key of the top-level object, not one nested in a server's own fields nor a string's text.
 * Read backwards from the end, where OpenAI-format servers put it, so only the usage object and
 * what follows it are read, and no further back than the first `"usage"` before the scan.
 */
function topLevelUsageKey(body: Buffer): number {
  let candidate = body.lastIndexOf(USAGE_KEY);
  let depth = 0;
  for (let i = lastNonSpace(body); candidate >= 0 && i >= candidate; i--) {
    const byte = body[i];
    if (byte === 0x22 /* " */) {
      const open = openingQuote(body, i);
      if (depth === 1 && open === candidate && valueAt(body, i + 1) >= 0) return open;
      i = open;
      // A negative offset would search from the end.
      if (candidate >= i) candidate = i > 0 ? body.lastIndexOf(USAGE_KEY, i - 1) : -1;
    } else if (byte === 0x7d /* } */ || byte === 0x5d /* ] */) depth++;
    else if (byte === 0x7b /* { */ || byte === 0x5b /* [ */) depth--;
  }
  return -1;
}

/**
 * The quote opening the string whose closing quote is at `close`: the first before it not escaped.
 * A loop, not Buffer#lastIndexOf: a native call costs more than the few bytes of a usage key.
 */
function openingQuote(body: Buffer, close: number): number {
  for (let at = close - 1; at >= 0; at--) {
    if (body[at] !== 0x22 /* " */) continue;
    let slashes = 0;
    while (body[at - 1 - slashes] === 0x5c /* \ */) slashes++;
    if (slashes % 2 === 0) return at;
  }
  return -1;
}
