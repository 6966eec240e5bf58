import { GatewayError } from '../gateway-error';
import type { JsonResult } from '../provider';
import { isSpace, valueAt } from './json-bytes';

const USAGE_KEY = Buffer.from('"usage"');

/**
 * Reads a successful JSON answer. The bytes are forwarded as they came and are not
 * parsed whole (embeddings answers run to megabytes): we check that they open and close
 * as an object (a body cut short mid-value is refused, so the router tries elsewhere) and
 * the object type, and parse only the `usage` object, found from the end where
 * OpenAI-format servers put it.
 */
export function readJsonResult(provider: string, body: Buffer, expect: string): JsonResult {
  if (
    body[0] !== 0x7b /* { */ ||
    body[lastNonSpace(body)] !== 0x7d /* } */ ||
    !(body.includes(`"object":"${expect}"`) || body.includes(`"object": "${expect}"`))
  ) {
    throw GatewayError.invalidResponse(`Provider ${provider} returned a response that is not a ${expect}.`);
  }
  return { body, usage: usageOf(body) };
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
  let depth = 0;
  for (let i = start; i < body.length; i++) {
    if (body[i] === 0x7b) depth++;
    else if (body[i] === 0x7d && --depth === 0) {
      try {
        return JSON.parse(body.toString('utf8', start, i + 1));
      } catch {
        return undefined;
      }
    }
  }
  return undefined;
}
