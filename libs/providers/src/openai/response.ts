import { GatewayError } from '../gateway-error';
import type { JsonResult } from '../provider';
import { isSpace, valueAt } from './json-bytes';
import { usageAt, withCacheHits } from './usage-bytes';

const USAGE_KEY = Buffer.from('"usage"');
const OBJECT_KEY = Buffer.from('"object"');
const objectValues = new Map<string, Buffer>();

/**
 * Reads a successful JSON answer. The bytes are forwarded as they came and are not
 * parsed whole (embeddings answers run to megabytes): we check that they open and close
 * as an object (a body cut short mid-value is refused, so the router tries elsewhere) and
 * the object type, and parse only the `usage` object, found from the end where
 * OpenAI-format servers put it.
 */
export function readJsonResult(provider: string, body: Buffer, expect: string): JsonResult {
  if (body[0] !== 0x7b /* { */ || body[lastNonSpace(body)] !== 0x7d /* } */ || !isObjectOf(body, expect)) {
    throw GatewayError.invalidResponse(`Provider ${provider} returned a response that is not a ${expect}.`);
  }
  return { body, usage: usageOf(body) };
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
  const key = body.lastIndexOf(USAGE_KEY);
  const start = key < 0 ? -1 : valueAt(body, key + USAGE_KEY.length);
  // `"usage":null` (and a server's own fields after it) is no usage.
  if (start < 0 || body[start] !== 0x7b /* { */) return undefined;
  return withCacheHits(usageAt(body, start));
}
