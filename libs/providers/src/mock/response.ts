import { createHash, randomBytes } from 'node:crypto';
import type { ChatCompletion, ChatCompletionCreateParams, CompletionUsage } from '../wire';
import { type MockPlan, mockTokens, promptTokens } from './request';

export const MOCK_FINGERPRINT = 'fp_gateway_mock';

/** The answer split into the pieces a stream would send, already cut by `max_tokens` and `stop`. */
export interface MockAnswer {
  plan: MockPlan;
  /** Text pieces (about a token each); empty for a tool call. */
  pieces: string[];
  finishReason: 'stop' | 'length' | 'tool_calls';
  usage: CompletionUsage;
}

export function shapeAnswer(request: ChatCompletionCreateParams, plan: MockPlan): MockAnswer {
  const prompt = promptTokens(request);
  if (plan.kind === 'tool_call') {
    const completion = mockTokens(plan.name + plan.arguments);
    return { plan, pieces: [], finishReason: 'tool_calls', usage: usage(prompt, completion) };
  }
  let text = plan.text;
  for (const stop of [request.stop ?? []].flat()) {
    const at = stop ? text.indexOf(stop) : -1;
    if (at >= 0) text = text.slice(0, at);
  }
  let pieces: string[] = text.match(/\S+\s*/g) ?? [];
  const limit = request.max_completion_tokens ?? request.max_tokens;
  const cut = limit != null && pieces.length > limit;
  if (cut) pieces = pieces.slice(0, limit);
  return { plan, pieces, finishReason: cut ? 'length' : 'stop', usage: usage(prompt, Math.max(1, pieces.length)) };
}

function usage(prompt: number, completion: number): CompletionUsage {
  return { prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion };
}

export function completionId(): string {
  return `chatcmpl-mock${randomBytes(9).toString('hex')}`;
}

export function toCompletion(answer: MockAnswer, model: string, n: number): ChatCompletion {
  const message = (index: number) =>
    answer.plan.kind === 'tool_call'
      ? {
          role: 'assistant' as const,
          content: null,
          refusal: null,
          tool_calls: [
            {
              id: toolCallId(answer, index),
              type: 'function' as const,
              function: { name: answer.plan.name, arguments: answer.plan.arguments },
            },
          ],
        }
      : { role: 'assistant' as const, content: answer.pieces.join(''), refusal: null };
  return {
    id: completionId(),
    object: 'chat.completion',
    created: Math.floor(Date.now() / 1000),
    model,
    system_fingerprint: MOCK_FINGERPRINT,
    choices: Array.from({ length: n }, (_, index) => ({
      index,
      message: message(index),
      finish_reason: answer.finishReason,
      logprobs: null,
    })),
    usage: usageOfChoices(answer, n),
  };
}

/** Usage of `n` identical choices: one prompt, `n` completions. */
export function usageOfChoices(answer: MockAnswer, n: number): CompletionUsage {
  return usage(answer.usage.prompt_tokens, answer.usage.completion_tokens * n);
}

/**
 * A digest of the call and its choice: the same request yields the same id (replays
 * and cache hits agree), different calls or choices never share one.
 */
export function toolCallId(answer: MockAnswer, choice: number): string {
  const plan = answer.plan as Extract<MockPlan, { kind: 'tool_call' }>;
  return `call_mock_${createHash('sha256').update(`${choice}\0${plan.name}\0${plan.arguments}`).digest('base64url').slice(0, 24)}`;
}
