/**
 * Members one JSON object may have. Parsing is linear in them, but what walks a parsed object
 * may not be (class-validator took 200 s over 200,000 unknown keys of one admin body, blocking
 * the event loop); no request field needs more (`logit_bias` takes 1,024, metadata 16 or 50).
 */
export const MAX_JSON_KEYS = 10_000;

/** What makes a JSON text too costly to parse or walk: nesting deeper than allowed, or an object with too many members. */
export type JsonShapeProblem = 'too_deep' | 'too_many_keys';

/**
 * The first shape problem of `text`, or undefined. One pass over the characters, skipping
 * strings; run before JSON.parse so a nesting bomb or a key bomb is refused cheaply, at the
 * point it is found, instead of exhausting the parser's stack or the walks after it.
 */
export function jsonShapeProblem(text: string, maxDepth: number, maxKeys = MAX_JSON_KEYS): JsonShapeProblem | undefined {
  // Members of each open object, by depth (-1: an array); at most maxDepth + 1 entries.
  const members: number[] = [];
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 92 /* \ */) i++;
      else if (c === 34 /* " */) inString = false;
    } else if (c === 34) inString = true;
    else if (c === 123 /* { */ || c === 91 /* [ */) {
      if (++depth > maxDepth) return 'too_deep';
      members[depth] = c === 123 ? 0 : -1;
    } else if (c === 125 /* } */ || c === 93 /* ] */) depth--;
    // Outside strings a colon only ever follows a key of the innermost open object.
    else if (c === 58 /* : */ && depth > 0 && members[depth] >= 0 && ++members[depth] > maxKeys) return 'too_many_keys';
  }
  return undefined;
}
