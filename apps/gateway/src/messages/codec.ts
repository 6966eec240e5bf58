import {
  bodyText,
  type ChatCompletion,
  parseExactIntegers,
  type ChatStream,
  type CompletionUsage,
  type JsonResult,
} from '@gateway/providers';
import { reportedSoFar, streamWithBilledCounts, withBilledCounts } from './output-count';
import { toMessage } from './response';
import { encodeChunks } from '../pipeline/chat-chunks';
import { MessageEvents, sseEvent } from './stream';

const PING = sseEvent('ping', {});

/**
 * How a translated answer is written for the client. `thinking`: the request turned thinking on.
 * `toolNames`: the client's names of tools whose names were fitted for the upstream. `billed`: the
 * usage the gateway bills for the usage the upstream reported (accounting.ts: checked, what it did not count
 * estimated), which the answer then carries: the client is shown what it is billed.
 */
export interface MessageWriting {
  thinking: boolean;
  toolNames?: ReadonlyMap<string, string>;
  billed?: (reported: CompletionUsage | undefined) => CompletionUsage;
}

/**
 * A complete chat answer as a Messages API `message` (an Anthropic upstream's as it is, but for usage the bill did
 * not take: withBilledCounts), with the
 * pipeline's usage kept for accounting. `id`: the id the answer gets instead of the upstream's (a
 * thread keeps answers by id, and neither a cached answer's nor every upstream's is unique).
 */
export function toMessageResult(answer: JsonResult, { thinking, toolNames, billed }: MessageWriting, id?: string): JsonResult {
  const result = answer.native === 'anthropic' && billed ? withBilledCounts(answer, () => billed(answer.usage)) : answer;
  if (result.native === 'anthropic' && !id) return result;
  const text = bodyText(result.body);
  const message =
    result.native === 'anthropic'
      ? (parseExactIntegers(text) as object)
      : // The usage the pipeline read, which the body may not show (usage without its output count is shown to no chat client).
        toMessage(JSON.parse(text) as ChatCompletion, thinking, toolNames, billed && (() => billed(result.usage)));
  return { body: JSON.stringify(id ? { ...message, id } : message), usage: result.usage, native: result.native };
}

/**
 * A chat stream as Anthropic's event stream; an Anthropic upstream's own stream is sent as
 * it is (ChatStream.native), but for usage the bill did not take (streamWithBilledCounts). An error thrown by it propagates, and the SSE writer sends it
 * as Anthropic's `error` event. `promptEstimate`: the gateway's estimate of the prompt's
 * tokens (RequestState.promptEstimate), for message_start when the upstream has not counted it.
 * `provider`: whose stream it is (ChatOutcome.provider).
 */
export function toMessageStream(
  { frames, provider }: { frames: ChatStream; provider?: string },
  { thinking, toolNames, billed }: MessageWriting,
  model: string,
  promptEstimate?: number,
): ChatStream {
  if (frames.native === 'anthropic') return billed ? streamWithBilledCounts(frames, billed) : frames;
  // Read at the end, once the stream's usage is set.
  const events = new MessageEvents(
    thinking,
    toolNames,
    () => promptUsage(frames, promptEstimate),
    model,
    billed && (() => billed(frames.usage)),
  );
  return encodeChunks(
    frames,
    {
      chunk: (chunk) => events.push(chunk),
      end: () => events.end(model),
      // Anthropic sends pings while an answer is on its way; another vendor may think in silence for minutes.
      keepAlive: PING,
    },
    provider,
  );
}

/**
 * The prompt's usage as known when message_start is written. Anthropic's carries the prompt's
 * count, and some clients read it only there (LangChain's ChatAnthropic). The upstream's own
 * count when it has given one by its first chunk (Gemini's usageMetadata, a cache replay's
 * stored usage), else the estimate TPM admission reserved; message_delta has the exact figures.
 */
function promptUsage(frames: ChatStream, estimate: number | undefined): CompletionUsage {
  const counted = reportedSoFar(frames);
  if (counted) return { ...counted, completion_tokens: 0, total_tokens: counted.prompt_tokens, completion_tokens_details: undefined };
  return { prompt_tokens: estimate ?? 0, completion_tokens: 0, total_tokens: estimate ?? 0 };
}
