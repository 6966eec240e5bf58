import type { Capability, ProviderType } from '@gateway/config';
import {
  type ChatCompletionCreateParams,
  type ChatCompletionMessageParam,
  type EmbeddingCreateParams,
  embeddingInputs,
  embeddingTokens,
  embeddingTokensAtMost,
  inputTokens,
  maxTokensOf,
  type NativeOnly,
  type NativeRequest,
  textWeight,
  tokensOf,
  wantsReasoning,
} from '@gateway/providers';

/** What routing needs to know about a request, computed once. */
export interface RequestProfile {
  /** Rough prompt size: its text by estimateTokens' rates (script-aware), media at the rates below. */
  promptTokens: number;
  /** The completion budget the request asks for, if any. */
  maxTokens: number | undefined;
  /** Capabilities a deployment must have to serve it. */
  needs: Capability[];
  /**
   * Capabilities a deployment should have: those that declare them go first in the plan, the
   * others stay as fallbacks (see preferDeclaring). `reasoning`, when the request asks for it:
   * every vendor adapter sends the effort on whatever the deployment declares, and an upstream
   * that has no reasoning may still answer, so a group without a declared reasoning model serves
   * such a request as before.
   */
  wants: Capability[];
  /** Completions asked for (`n`): the completion budget is spent once for each. */
  choices: number;
  /**
   * Set when only a deployment on this type of provider can serve it: the request is in
   * that vendor's protocol and uses what only its API runs (NativeRequest.only). Not a
   * capability: no config can declare it, the provider's type is what decides.
   */
  onlyProvider?: NativeOnly & { type: ProviderType };
  /** The most web searches an upstream may run for it (NativeRequest.webSearches). */
  webSearches?: number;
  /** Asks for Anthropic's fast mode (a Messages body's `speed: "fast"`): only then may an Anthropic answer be billed at `tiers.fast`. */
  fastMode?: boolean;
  /** The chat request, whose parameters a deployment's adapter may refuse (Provider.params, param-refusals.ts). */
  request?: ChatCompletionCreateParams;
  /** The vendor protocol it came in, when not OpenAI's (NativeRequest.protocol): that vendor's adapter checks no parameter. */
  protocol?: ProviderType;
  /**
   * Embeddings: the largest input (its estimate, and the param naming it). A model embeds each
   * input on its own, so its context window must hold the largest, not their sum.
   */
  largestInput?: { tokens: number; param: string };
  /** Embeddings given as token ids, which a text-only embedder (Provider.embedsTextOnly) cannot take. */
  tokenIds?: boolean;
  /** The most tokens the prompt can be, where known (embeddings: embeddingTokensAtMost); usage reported beyond is not believed. */
  promptTokensAtMost?: number;
  lastUserText: string;
  hasImages: boolean;
  stream: boolean;
}

/** Tokens charged for an image when we cannot see its size (OpenAI's high-detail tile estimate). */
const IMAGE_TOKENS = 765;
/**
 * Bytes of a file (a PDF: the one kind the vendors take as a file part) per token. Vendors
 * charge by the page: OpenAI and Anthropic its text plus an image of it, ~2,500 tokens; a page
 * is ~8 KB of a text PDF and 50-200 KB of a scanned or figure-heavy one, so 3 to 80 bytes a
 * token. 16 is the geometric middle: off by at most ~5x either way. A text-rate 4 would refuse
 * (context_length_exceeded) a few-MB scanned PDF that a 200k-token model reads.
 */
const FILE_BYTES_PER_TOKEN = 16;
/** Audio at Gemini's published 32 tokens a second, for speech-typical wav (16 kHz, 16-bit mono) and mp3 (128 kbit/s). */
const AUDIO_BYTES_PER_TOKEN = new Map<unknown, number>([
  ['wav', 32_000 / 32],
  ['mp3', 16_000 / 32],
]);
const MESSAGE_OVERHEAD_TOKENS = 4;
/** A data URL's media type (media types are case-insensitive; Gemini takes `data:Audio/WAV`). */
const DATA_URL_TYPE = /^data:([^;,]*)/;
/** Audio types of wav, counted at its rate; any other audio (mp3, aac, ogg, flac, aiff) at mp3's, the higher. */
const WAV_TYPES = new Set(['audio/wav', 'audio/x-wav', 'audio/wave']);

/** What a request sends upstream, measured: its text in quarter tokens (textWeight), and media already in tokens. */
interface Size {
  textWeight: number;
  mediaTokens: number;
  images: number;
  /** Documents (PDFs) and audio: needs (`vision`, `audio`), not counted by the task rules' `images`. */
  documents: number;
  audio: number;
}

type Part = { type: string; [field: string]: unknown };

/** `native`: the request as the client sent it in a vendor's protocol, when it did (see NativeRequest). */
export function profileChat(request: ChatCompletionCreateParams, native?: NativeRequest): RequestProfile {
  const size: Size = { textWeight: 0, mediaTokens: 0, images: 0, documents: 0, audio: 0 };
  let lastUserText = '';
  for (const message of request.messages) {
    const text = measureMessage(message, size);
    if (message.role === 'user') lastUserText = text;
  }
  if (request.tools) size.textWeight += textWeight(JSON.stringify(request.tools));
  const needs: Capability[] = [];
  if (request.tools?.length) needs.push('tools');
  // A document is read as its text and an image of each page: a vision model's work at every vendor.
  if (size.images || size.documents) needs.push('vision');
  if (size.audio) needs.push('audio');
  const format = request.response_format?.type;
  if (format === 'json_object' || format === 'json_schema') needs.push('json');
  // The Messages API's thinking and the Responses API's reasoning.effort arrive here as reasoning_effort.
  const wants: Capability[] = wantsReasoning(request) ? ['reasoning'] : [];
  return {
    promptTokens:
      tokensOf(size.textWeight) + size.images * IMAGE_TOKENS + size.mediaTokens + request.messages.length * MESSAGE_OVERHEAD_TOKENS,
    maxTokens: maxTokensOf(request),
    needs,
    wants,
    choices: request.n ?? 1,
    request,
    protocol: native?.protocol,
    ...(native?.only && { onlyProvider: { type: native.protocol, ...native.only } }),
    ...(native?.webSearches !== undefined && { webSearches: native.webSearches }),
    ...(native?.protocol === 'anthropic' && native.body.speed === 'fast' && { fastMode: true }),
    lastUserText,
    // Task rules' `images`: what needs vision, documents too (a rule sending images to a vision group sent a PDF elsewhere).
    hasImages: size.images > 0 || size.documents > 0,
    stream: request.stream === true,
  };
}

/**
 * A profile for embeddings: only the size matters, and that it needs an embeddings model. The size is
 * embeddingTokens', the estimate a vendor without usage (Gemini) answers with: one estimate, billed and shown.
 */
export function profileEmbeddings(input: EmbeddingCreateParams['input']): RequestProfile {
  const inputs = embeddingInputs(input);
  let largest = 0;
  inputs.forEach((item, i) => {
    if (inputTokens(item) > inputTokens(inputs[largest])) largest = i;
  });
  return {
    promptTokens: embeddingTokens(inputs),
    maxTokens: 0,
    needs: ['embeddings'],
    wants: [],
    choices: 1,
    // `input` itself when it is one text or one token-id list, else the item.
    largestInput: { tokens: inputTokens(inputs[largest]), param: inputs[0] === input ? 'input' : `input[${largest}]` },
    tokenIds: typeof inputs[0] !== 'string',
    promptTokensAtMost: embeddingTokensAtMost(inputs),
    lastUserText: '',
    hasImages: false,
    stream: false,
  };
}

/**
 * Adds everything of one message that goes upstream to `size`: its content, an assistant's
 * refusal and tool calls (an agent's history is mostly their arguments). Returns the text
 * parts, joined, for task rules. Fields the request schema leaves unchecked are read only
 * when they are strings.
 */
function measureMessage(message: ChatCompletionMessageParam, size: Size): string {
  const content = message.content;
  let text = '';
  if (typeof content === 'string') text = content;
  else if (Array.isArray(content)) {
    for (const part of content as unknown as Part[]) {
      if (part.type === 'text') text += (text ? ' ' : '') + part.text;
      else measurePart(part, size);
    }
  }
  size.textWeight += textWeight(text);
  if (message.role !== 'assistant') return text;
  size.textWeight += weightOf(message.refusal);
  for (const call of message.tool_calls ?? []) size.textWeight += callWeight((call as { function?: FunctionCall }).function);
  size.textWeight += callWeight(message.function_call);
  return text;
}

type FunctionCall = { name?: unknown; arguments?: unknown } | null | undefined;

/** A function call's name and arguments, as the assistant made it (tool_calls, or the older function_call). */
function callWeight(call: FunctionCall): number {
  return call ? weightOf(call.name) + weightOf(call.arguments) : 0;
}

/** A content part other than text: a refusal as text, images at a flat rate, files and audio by their size. */
function measurePart(part: Part, size: Size): void {
  switch (part.type) {
    case 'refusal':
      size.textWeight += weightOf(part.refusal);
      break;
    case 'image_url':
      size.images++;
      break;
    case 'file': {
      // A file sent by id (OpenAI's Files API) has no size here, so it counts nothing.
      const data = (part.file as { file_data?: unknown } | undefined)?.file_data;
      // A data URL of audio or an image is read as one (the translations send it as `inlineData` or an image
      // block), so it is counted at that rate: at a PDF's, 1 MB of wav was 62,500 tokens, not ~1,000 (media34 D1).
      const mediaType = typeof data === 'string' ? DATA_URL_TYPE.exec(data)?.[1].toLowerCase() : undefined;
      if (mediaType?.startsWith('audio/')) measureAudio(data, WAV_TYPES.has(mediaType) ? 'wav' : 'mp3', size);
      else if (mediaType?.startsWith('image/')) size.images++;
      else {
        size.documents++;
        size.mediaTokens += Math.ceil(base64Bytes(data) / FILE_BYTES_PER_TOKEN);
      }
      break;
    }
    case 'input_audio': {
      const audio = (part.input_audio ?? {}) as { data?: unknown; format?: unknown };
      measureAudio(audio.data, audio.format, size);
      break;
    }
  }
}

/** Audio by its size at its format's rate; a format the vendors do not take (the adapter refuses it) at mp3's, the higher. */
function measureAudio(data: unknown, format: unknown, size: Size): void {
  size.audio++;
  const bytesPerToken = AUDIO_BYTES_PER_TOKEN.get(format) ?? AUDIO_BYTES_PER_TOKEN.get('mp3')!;
  size.mediaTokens += Math.ceil(base64Bytes(data) / bytesPerToken);
}

/** Bytes encoded in base64 data or a `data:` URL, from its length alone (nothing is decoded). */
function base64Bytes(data: unknown): number {
  if (typeof data !== 'string') return 0;
  const start = data.startsWith('data:') ? data.indexOf(',') + 1 : 0;
  return Math.floor(((data.length - start) * 3) / 4);
}

function weightOf(value: unknown): number {
  return typeof value === 'string' ? textWeight(value) : 0;
}
