/**
 * JSON parsing that keeps integers beyond 2^53 as they were written, where the gateway parses tool
 * arguments or inputs and serialises them again (a translated answer, history sent to another vendor):
 * as JS numbers, `1234567890123456789` (a Discord or Twitter snowflake id, an order number) came out as
 * `1234567890123456800`, while a streamed answer, relayed as text, kept it. Such an integer is parsed
 * as JSON.rawJSON of its source text, which JSON.stringify writes back unchanged.
 */

/** Node's JSON.rawJSON (TypeScript's ES2023 lib does not declare it). */
const rawJSON = (JSON as unknown as { rawJSON(text: string): unknown }).rawJSON;

/** Sixteen digits in a row: a text without them holds no integer beyond 2^53 (16 digits), so it is parsed as usual. */
const LONG_DIGITS = /\d{16}/;
const INTEGER = /^-?\d+$/;

/** The reviver: its third argument is the source text of a primitive value (Node 24's JSON.parse). */
function keepExact(_key: string, value: unknown, context?: { source?: string }): unknown {
  return typeof value === 'number' && !Number.isSafeInteger(value) && context?.source && INTEGER.test(context.source)
    ? rawJSON(context.source)
    : value;
}

/**
 * JSON.parse, except that an integer past Number.MAX_SAFE_INTEGER becomes JSON.rawJSON of its digits
 * (JSON.stringify writes them as they came). The reviver slows parsing, so only a text with a long
 * digit run gets it. Throws as JSON.parse does.
 */
export function parseExactIntegers(text: string): unknown {
  return LONG_DIGITS.test(text) ? JSON.parse(text, keepExact) : JSON.parse(text);
}
