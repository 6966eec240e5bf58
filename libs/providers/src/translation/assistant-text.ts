import type { ChatCompletionContentPartText } from 'openai/resources/chat/completions';

/**
 * An assistant turn's texts as chat message content, for the ingress codecs (Messages text blocks,
 * Responses output_text parts): several texts stay separate parts, which each vendor's request keeps
 * apart (separate Anthropic text blocks, Gemini parts, OpenAI parts), not one string with their
 * sentences run together; one text is the plain string; empty texts are left out.
 */
export function assistantTextContent(texts: readonly string[]): string | ChatCompletionContentPartText[] {
  const said = texts.filter((text) => text !== '');
  return said.length > 1 ? said.map((text) => ({ type: 'text' as const, text })) : (said[0] ?? '');
}
