/**
 * `gen_ai.provider.name` by provider type: the OpenTelemetry GenAI conventions' well-known value
 * where the type fixes the vendor (a MUST when one applies). An `openai-compatible` (or mock)
 * provider could be any server, so it is named by its configured name: call one `groq` or
 * `mistral_ai` and it carries the well-known value too.
 */
const WELL_KNOWN: Readonly<Record<string, string>> = {
  openai: 'openai',
  anthropic: 'anthropic',
  gemini: 'gcp.gemini',
};

export function genAiProviderName(provider: { name: string; type: string }): string {
  return Object.hasOwn(WELL_KNOWN, provider.type) ? WELL_KNOWN[provider.type] : provider.name;
}

/**
 * `gen_ai.operation.name`: the conventions' `chat` and `embeddings`; counting a prompt's tokens has
 * no well-known value, so it goes by the Anthropic endpoint's own name.
 */
export type GenAiOperation = 'chat' | 'embeddings' | 'count_tokens';
