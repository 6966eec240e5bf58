import type { CallContext } from '../provider';
import type { ToolCallOut } from '../translation/completion';
import type { ChatCompletionCreateParams } from '../wire';
import type { KeptSignatures } from './request';
import { thoughtSignatureOf } from './signatures';

/** The ids of the calls of assistant messages sent back with no thought signature on any of them (request.ts, signedTurn, joins a turn's messages). */
function unsignedCalls(request: ChatCompletionCreateParams): string[] {
  const ids: string[] = [];
  for (const message of request.messages) {
    const calls = message.role === 'assistant' ? (message.tool_calls ?? []) : [];
    if (!calls.some((call) => thoughtSignatureOf(call))) for (const call of calls) ids.push(call.id);
  }
  return ids;
}

/**
 * The thought signatures the gateway kept for calls an OpenAI-format client sent back without
 * `extra_content` (no OpenAI field: most clients drop it), so Gemini gets its own signature and not
 * the placeholder, which costs it its reasoning. Undefined, with nothing looked up, when every
 * tool turn has its signature or there is none: a chat without tool calls pays nothing.
 */
export function recallSignatures(request: ChatCompletionCreateParams, ctx: CallContext): Promise<KeptSignatures> | undefined {
  if (!ctx.reasoning) return undefined;
  const ids = unsignedCalls(request);
  return ids.length ? ctx.reasoning.recall('gemini', ids) : undefined;
}

/** Keeps the thought signatures of an answer's calls, by call id, where recallSignatures looks for them. */
export function rememberSignatures(ctx: CallContext, calls: readonly ToolCallOut[]): void {
  const signed = new Map<string, string>();
  for (const call of calls) {
    const signature = thoughtSignatureOf(call.extra);
    if (signature) signed.set(call.id, signature);
  }
  if (signed.size) ctx.reasoning?.remember('gemini', signed);
}
