import { SecurityConfig } from '@gateway/config';
import { parseExactIntegers } from './exact-integers';
import { GatewayError } from './gateway-error';

/**
 * Members one JSON object may have. Parsing is linear in them, but what walks a parsed object
 * may not be (class-validator took 200 s over 200,000 unknown keys of one admin body, blocking
 * the event loop); no request field needs more (`logit_bias` takes 1,024, metadata 16 or 50).
 */
export const MAX_JSON_KEYS = 10_000;

/** What makes a JSON text too costly to parse or walk: nesting deeper than allowed, or an object with too many members. */
export type JsonShapeProblem = 'too_deep' | 'too_many_keys';

/**
 * The 400 for a JSON text of that shape: the body's own (`param` null), or one in a string of it at `param`.
 * One wording, code and bound for both.
 */
export function jsonShapeError(problem: JsonShapeProblem, maxDepth: number, param: string | null): GatewayError {
  const where = param === null ? '' : `Invalid '${param}': `;
  if (problem === 'too_deep')
    return GatewayError.badRequest(`${where}JSON nesting is deeper than ${maxDepth} levels.`, param, 'json_too_deep');
  const what = param === null ? 'A JSON object of the body' : `${where}a JSON object in it`;
  return GatewayError.badRequest(`${what} has more than ${MAX_JSON_KEYS} keys.`, param, 'json_too_many_keys');
}

/** security.maxJsonDepth once the gateway starts (limitJsonDepth); its default before (unit tests). */
let maxJsonDepth = new SecurityConfig().maxJsonDepth;

/** Bounds the JSON the gateway parses out of a request's strings (requestJson) as the body is: `security.maxJsonDepth`. */
export function limitJsonDepth(depth: number): void {
  maxJsonDepth = depth;
}

/**
 * The value of JSON a request carries in a string that the gateway parses itself (a tool call's arguments, a tool
 * result, for a vendor that wants objects), at `param`; undefined when the text is no JSON. Within the body's bounds
 * (jsonShapeProblem), or a 400 naming `param`: JSON.parse reads any depth, but what walks the value after it does
 * not (the vendor SDKs' JSON.stringify overflowed the stack on 5,000 levels, a 500). Text that is no JSON is not
 * scanned: its braces are prose (code in a tool's output), not nesting.
 */
export function requestJson(text: string, param: string): unknown {
  let value: unknown;
  try {
    value = parseExactIntegers(text);
  } catch {
    return undefined;
  }
  const problem = jsonShapeProblem(text, maxJsonDepth);
  if (problem) throw jsonShapeError(problem, maxJsonDepth, param);
  return value;
}

/**
 * Whether JSON an upstream answered in a string that the gateway parses and sends on as a value (a tool call's
 * arguments, as a Messages tool_use block's `input`) passes the bounds a request's JSON is held to: 5,000 levels
 * parsed fine, then overflowed the stack where the answer was serialized (a 500 instead of the upstream's
 * invalid answer).
 */
export function answerJsonFits(text: string): boolean {
  return jsonShapeProblem(text, maxJsonDepth) === undefined;
}

/** 1 for the ASCII characters the scan acts on: `"`, `{`, `}`, `[`, `]` and `:`. */
const STRUCTURAL = new Uint8Array(128);
for (const c of '"{}[]:') STRUCTURAL[c.charCodeAt(0)] = 1;

/**
 * The first shape problem of `text`, or undefined. One pass over the structure, run before
 * JSON.parse so a nesting bomb or a key bomb is refused cheaply, at the point it is found,
 * instead of exhausting the parser's stack or the walks after it. String contents (most of a
 * large body: prompts, base64, descriptions) are jumped over with indexOf rather than read a
 * character at a time, which kept this scan several times slower than the parse it guards.
 */
export function jsonShapeProblem(text: string, maxDepth: number, maxKeys = MAX_JSON_KEYS): JsonShapeProblem | undefined {
  // Members of each open object, by depth (-1: an array); at most maxDepth + 1 entries.
  const members: number[] = [];
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    // Digits, literals, commas and whitespace (all of a token-id list) need no more than this look-up.
    if (c >= 128 || STRUCTURAL[c] === 0) continue;
    if (c === 34 /* " */) {
      i = closingQuote(text, i + 1);
      // An unterminated string: nothing after it is structure, and the parser refuses the text.
      if (i < 0) return undefined;
    } else if (c === 123 /* { */ || c === 91 /* [ */) {
      if (++depth > maxDepth) return 'too_deep';
      members[depth] = c === 123 ? 0 : -1;
    } else if (c === 125 /* } */ || c === 93 /* ] */) depth--;
    // Outside strings a colon only ever follows a key of the innermost open object.
    else if (c === 58 /* : */ && depth > 0 && members[depth] >= 0 && ++members[depth] > maxKeys) return 'too_many_keys';
  }
  return undefined;
}

/**
 * The index of the quote that closes a string whose contents start at `from`, or -1. A quote
 * after an odd run of backslashes is escaped (`\"`), after an even one (`\\"`) it closes; each
 * run is counted back only as far as the previous quote, so the whole scan stays linear.
 */
function closingQuote(text: string, from: number): number {
  for (;;) {
    const quote = text.indexOf('"', from);
    if (quote < 0) return -1;
    let backslash = quote;
    while (backslash > from && text.charCodeAt(backslash - 1) === 92 /* \ */) backslash--;
    if ((quote - backslash) % 2 === 0) return quote;
    from = quote + 1;
  }
}
