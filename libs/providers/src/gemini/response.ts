import { randomBytes } from 'node:crypto';
import {
  type Candidate,
  type FunctionCall,
  type GenerateContentResponse,
  type GenerateContentResponseUsageMetadata,
  MediaModality,
  type ModalityTokenCount,
  type Part,
} from '@google/genai';
import { imageNotCarried } from '../answer-images';
import { GatewayError } from '../gateway-error';
import { type ChoiceOut, type FinishReason, type ToolCallOut, numericUsage, usageOf } from '../translation/completion';
import { type ErrorMapping, vendorError } from '../translation/errors';
import type { CompletionUsage } from '../wire';
import { signedCall } from './signatures';

/** Gemini `finishReason` -> OpenAI `finish_reason`, for answers the client can use. */
export const FINISH_REASONS: Record<string, FinishReason> = {
  STOP: 'stop',
  FINISH_REASON_UNSPECIFIED: 'stop',
  OTHER: 'stop',
  TOO_MANY_TOOL_CALLS: 'stop',
  MAX_TOKENS: 'length',
  // Only reaches us with automatic continuation off or exhausted: the answer was cut.
  CONTINUATION: 'length',
  SAFETY: 'content_filter',
  RECITATION: 'content_filter',
  LANGUAGE: 'content_filter',
  BLOCKLIST: 'content_filter',
  PROHIBITED_CONTENT: 'content_filter',
  SPII: 'content_filter',
  IMAGE_SAFETY: 'content_filter',
  IMAGE_PROHIBITED_CONTENT: 'content_filter',
  IMAGE_RECITATION: 'content_filter',
  ESCALATION: 'content_filter',
  MODEL_ARMOR: 'content_filter',
};

/** Finish reasons that leave no usable answer: an error instead of an empty 200. */
export const FAILED_FINISHES: Record<string, ErrorMapping> = {
  // The model produced a broken or unexpected call; another attempt may well succeed.
  MALFORMED_FUNCTION_CALL: [502, 'upstream_error', 'upstream_malformed_tool_call', true],
  UNEXPECTED_TOOL_CALL: [502, 'upstream_error', 'upstream_malformed_tool_call', true],
  MALFORMED_RESPONSE: [502, 'upstream_error', 'upstream_invalid_response', true],
  MISSING_THOUGHT_SIGNATURE: [400, 'invalid_request_error', 'missing_thought_signature', false],
  PUP_LIMITED_DISABLED: [502, 'upstream_error', 'upstream_permission_denied', false],
};

/** Gemini counts cached tokens inside promptTokenCount, as OpenAI does; thinking is billed as output. */
/**
 * Undefined when Gemini reported none, no prompt count (`{}`) or a count that is no number (numericUsage): the gateway then estimates it
 * (accounting.ts), never bills zero. An absent output count is 0 when the answer has none (Gemini leaves out counts of 0, and
 * the count of an empty or blocked answer); when it has (`answered`: answerParts), the output was not counted (a proxy
 * dropped the count): usage without it (usageOf), whose output the bill estimates, marked so, and no client is shown; its
 * thoughts stay the reasoning count, which the bill adds the estimate to (accounting.ts, estimatedUsage).
 */
export function usageFrom(usage: GenerateContentResponseUsageMetadata | undefined, answered: boolean): CompletionUsage | undefined {
  if (usage?.promptTokenCount == null) return undefined;
  const thoughts = usage.thoughtsTokenCount ?? 0;
  const prompt = usage.promptTokenCount + (usage.toolUsePromptTokenCount ?? 0);
  const output = usage.candidatesTokenCount ?? (answered ? undefined : 0);
  const translated = usageOf(prompt, output === undefined ? undefined : output + thoughts, usage.cachedContentTokenCount ?? 0, thoughts);
  const audioIn = audioTokens(usage.promptTokensDetails);
  const audioOut = audioTokens(usage.candidatesTokensDetails);
  // Audio is priced apart (Price.audioInput, audioOutput): counted where OpenAI's usage counts it. Gemini's prompt
  // breakdown covers the cached part too, which is billed as a cache read: the audio counted is the audio not read
  // from the cache, or cached audio would make fresh text bill at the audio price (recheck30 D2).
  const cachedAudio = audioTokens(usage.cacheTokensDetails) ?? 0;
  if (audioIn !== undefined) translated.prompt_tokens_details!.audio_tokens = Math.max(0, audioIn - cachedAudio);
  if (audioOut !== undefined) translated.completion_tokens_details!.audio_tokens = audioOut;
  return numericUsage(translated);
}

/** The AUDIO entry's count of a Gemini modality breakdown, undefined when it has none. */
function audioTokens(details: readonly ModalityTokenCount[] | undefined): number | undefined {
  return details?.find((d) => d.modality === MediaModality.AUDIO)?.tokenCount;
}

/** Whether `parts` answer something (text or a function call, thoughts aside, which Gemini counts apart): what candidatesTokenCount counts. */
export function answerParts(parts: readonly Part[] | undefined): boolean {
  return !!parts?.some((part) => !part.thought && (!!part.text || !!part.functionCall));
}

/** A prompt Gemini refused to answer at all is a 400 (as OpenAI's content filter does), never an empty 200. */
export function checkPromptBlocked(response: GenerateContentResponse): void {
  const blocked = response.promptFeedback?.blockReason;
  if (!blocked || response.candidates?.length) return;
  const why = response.promptFeedback?.blockReasonMessage;
  throw new GatewayError(
    400,
    `Gemini blocked the prompt (${blocked})${why ? `: ${why}` : '.'}`,
    'invalid_request_error',
    'content_filter',
    'messages',
  );
}

/** A whole answer: a blocked prompt (checkPromptBlocked), else an answer without candidates is none (noCandidates). */
export function checkPromptFeedback(provider: string, response: GenerateContentResponse): void {
  checkPromptBlocked(response);
  if (!response.candidates?.length) throw noCandidates(provider);
}

/** An answer, or a stream read to its end, that never had a candidate: a retryable 502. */
export function noCandidates(provider: string): GatewayError {
  return GatewayError.invalidResponse(`Provider ${provider} returned no answer (no candidates).`);
}

/**
 * A candidate with no parts and no finish reason: Gemini neither answered nor said
 * why it stopped. Streamed or not, that is a retryable 502 (another deployment is
 * tried), never an empty 200 and never a stream that starts and then breaks.
 */
export function noAnswer(provider: string): GatewayError {
  return GatewayError.invalidResponse(`Provider ${provider} returned a candidate with no content and no finish reason.`);
}

/** True for a candidate that says nothing: no parts and no finish reason. */
export function isEmptyCandidate(candidate: Candidate): boolean {
  return !candidate.content?.parts?.length && !candidate.finishReason;
}

/** OpenAI's finish reason for a candidate, or the error its finish reason stands for. */
export function finishOf(provider: string, candidate: Candidate, hasToolCalls: boolean): FinishReason {
  const reason = candidate.finishReason ?? 'STOP';
  const failed = FAILED_FINISHES[reason];
  if (failed)
    throw vendorError(provider, failed, `Gemini stopped with ${reason}${candidate.finishMessage ? `: ${candidate.finishMessage}` : ''}`);
  const finish = FINISH_REASONS[reason] ?? 'stop';
  // Gemini ends a turn that calls functions with STOP; OpenAI says tool_calls.
  return finish === 'stop' && hasToolCalls ? 'tool_calls' : finish;
}

/** What the client reads when a filter stopped the answer. */
export function refusalOf(candidate: Candidate, finish: FinishReason): string | null {
  if (finish !== 'content_filter') return null;
  return `Gemini stopped the answer (${candidate.finishReason})${candidate.finishMessage ? `: ${candidate.finishMessage}` : '.'}`;
}

/** Gemini returns call ids on newer models only; OpenAI clients need one to answer the call. */
export function toolCallOf(call: FunctionCall, part: Part, toolNames: ReadonlyMap<string, string>): ToolCallOut {
  return {
    id: call.id || `call_${randomBytes(12).toString('base64url')}`,
    name: (call.name && toolNames.get(call.name)) ?? call.name ?? '',
    arguments: JSON.stringify(call.args ?? {}),
    ...(part.thoughtSignature ? { extra: signedCall(part.thoughtSignature) } : {}),
  };
}

/**
 * An image model's picture (an `inlineData` part): the translation to OpenAI's answer, and from it to the Messages and
 * Responses ones, has no place for it (chat's `message.images` is no OpenAI field).
 */
export function imageAnswer(provider: string, mediaType: string | undefined): GatewayError {
  return imageNotCarried(
    `Provider ${provider}`,
    `(${mediaType ?? 'no type'}), which the gateway does not translate from Gemini: only text, reasoning and tool calls are.`,
  );
}

export interface ChoiceOptions {
  provider: string;
  exposeReasoning: boolean;
  /** 1 when the client set parallel_tool_calls: false, which Gemini cannot be told. */
  maxToolCalls: number;
  /** The client's names of tools Gemini knows by another (request.ts answerToolNames), by Gemini's name. */
  toolNames: ReadonlyMap<string, string>;
}

export function choiceFrom(candidate: Candidate, options: ChoiceOptions): ChoiceOut {
  if (isEmptyCandidate(candidate)) throw noAnswer(options.provider);
  let text = '';
  let reasoning = '';
  const toolCalls: ToolCallOut[] = [];
  for (const part of candidate.content?.parts ?? []) {
    if (part.thought) reasoning += part.text ?? '';
    else if (part.functionCall) {
      if (toolCalls.length < options.maxToolCalls) toolCalls.push(toolCallOf(part.functionCall, part, options.toolNames));
    } else if (part.inlineData) throw imageAnswer(options.provider, part.inlineData.mimeType);
    else if (part.text) text += part.text;
  }
  const finishReason = finishOf(options.provider, candidate, toolCalls.length > 0);
  return {
    text,
    refusal: refusalOf(candidate, finishReason),
    toolCalls,
    finishReason,
    ...(options.exposeReasoning ? { reasoning } : {}),
  };
}
