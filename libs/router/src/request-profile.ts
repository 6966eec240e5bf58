import type { Capability, ProviderType } from '@gateway/config';
import type { ChatCompletionCreateParams, ChatCompletionMessageParam, NativeOnly, NativeRequest } from '@gateway/providers';

/** What routing needs to know about a request, computed once. */
export interface RequestProfile {
  /** Rough prompt size (about four characters a token, images at a flat rate). */
  promptTokens: number;
  /** The completion budget the request asks for, if any. */
  maxTokens: number | undefined;
  /** Capabilities a deployment must have to serve it. */
  needs: Capability[];
  /**
   * Set when only a deployment on this type of provider can serve it: the request is in
   * that vendor's protocol and uses what only its API runs (NativeRequest.only). Not a
   * capability: no config can declare it, the provider's type is what decides.
   */
  onlyProvider?: NativeOnly & { type: ProviderType };
  /** The most web searches an upstream may run for it (NativeRequest.webSearches). */
  webSearches?: number;
  lastUserText: string;
  hasImages: boolean;
  stream: boolean;
}

/** Tokens charged for an image when we cannot see its size (OpenAI's high-detail tile estimate). */
const IMAGE_TOKENS = 765;
const MESSAGE_OVERHEAD_TOKENS = 4;

/** `native`: the request as the client sent it in a vendor's protocol, when it did (see NativeRequest). */
export function profileChat(request: ChatCompletionCreateParams, native?: NativeRequest): RequestProfile {
  let chars = 0;
  let images = 0;
  let lastUserText = '';
  for (const message of request.messages) {
    const text = textAndImages(message);
    chars += text.chars;
    images += text.images;
    if (message.role === 'user') lastUserText = text.text;
  }
  if (request.tools) chars += JSON.stringify(request.tools).length;
  const needs: Capability[] = [];
  if (request.tools?.length) needs.push('tools');
  if (images) needs.push('vision');
  const format = request.response_format?.type;
  if (format === 'json_object' || format === 'json_schema') needs.push('json');
  return {
    promptTokens: Math.ceil(chars / 4) + images * IMAGE_TOKENS + request.messages.length * MESSAGE_OVERHEAD_TOKENS,
    maxTokens: request.max_completion_tokens ?? request.max_tokens ?? undefined,
    needs,
    ...(native?.only && { onlyProvider: { type: native.protocol, ...native.only } }),
    ...(native?.webSearches !== undefined && { webSearches: native.webSearches }),
    lastUserText,
    hasImages: images > 0,
    stream: request.stream === true,
  };
}

/** A profile for embeddings: only the size matters, and that it needs an embeddings model. */
export function profileEmbeddings(input: unknown): RequestProfile {
  const text = Array.isArray(input) ? input.join(' ') : String(input);
  return {
    promptTokens: Math.ceil(text.length / 4),
    maxTokens: 0,
    needs: ['embeddings'],
    lastUserText: '',
    hasImages: false,
    stream: false,
  };
}

function textAndImages(message: ChatCompletionMessageParam): { text: string; chars: number; images: number } {
  const content = message.content;
  if (typeof content === 'string') return { text: content, chars: content.length, images: 0 };
  if (!Array.isArray(content)) return { text: '', chars: 0, images: 0 };
  let text = '';
  let images = 0;
  for (const part of content) {
    if (part.type === 'text') text += (text ? ' ' : '') + part.text;
    else if (part.type === 'image_url') images++;
  }
  return { text, chars: text.length, images };
}
