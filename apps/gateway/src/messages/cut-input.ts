import { parseExactIntegers } from '@gateway/providers';

type PartialParse = (typeof import('@anthropic-ai/sdk/_vendor/partial-json-parser/parser'))['partialParse'];
let partialParse: PartialParse | undefined;

/**
 * A tool call's arguments cut short by the output limit, as far as they parse: read as the Anthropic
 * SDKs read a streamed tool_use block's `input_json_delta`s (their partial-JSON parser: whole members
 * kept, an unfinished string or number or a key without its value left out), so a cut call's input
 * is the same created or streamed; `{}` when that is no object. Anthropic's own answer to a call cut
 * by `max_tokens` is such an unfinished tool_use block, with stop_reason `max_tokens`.
 */
export function cutInput(text: string): Record<string, unknown> {
  // Required at the first cut call, not at start-up: no module of a vendor SDK is loaded before a provider
  // of that vendor is (startup-modules.test.ts), and a cut call is rare.
  partialParse ??= (require('@anthropic-ai/sdk/_vendor/partial-json-parser/parser') as { partialParse: PartialParse }).partialParse;
  try {
    return asObject(partialParse(text)) ?? {};
  } catch {
    return {};
  }
}

/** The JSON object `text` is, else undefined (not JSON, or another value). */
export function jsonObject(text: string): Record<string, unknown> | undefined {
  try {
    return asObject(parseExactIntegers(text));
  } catch {
    return undefined;
  }
}

function asObject(value: unknown): Record<string, unknown> | undefined {
  return value && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
}
