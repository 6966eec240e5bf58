import { randomBytes } from 'node:crypto';
import { bodyText, type ChatCompletion, type ChatStream, type JsonResult } from '@gateway/providers';
import { toMessage } from './response';
import { encodeChunks } from '../pipeline/chat-chunks';
import { MessageEvents } from './stream';

/** A complete chat answer as a Messages API `message` (an Anthropic upstream's as it is), with the pipeline's usage kept for accounting. */
export function toMessageResult(result: JsonResult, thinking: boolean, toolNames?: ReadonlyMap<string, string>): JsonResult {
  if (result.native === 'anthropic') return result;
  const message = toMessage(JSON.parse(bodyText(result.body)) as ChatCompletion, thinking, toolNames);
  return { body: JSON.stringify(message), usage: result.usage };
}

/**
 * A chat stream as Anthropic's event stream; an Anthropic upstream's own stream is sent as
 * it is (ChatStream.native). An error thrown by it propagates, and the SSE writer sends it
 * as Anthropic's `error` event.
 */
export function toMessageStream(frames: ChatStream, thinking: boolean, model: string, toolNames?: ReadonlyMap<string, string>): ChatStream {
  if (frames.native === 'anthropic') return frames;
  const events = new MessageEvents(thinking, toolNames);
  return encodeChunks(frames, {
    chunk: (chunk) => events.push(chunk),
    end: () => events.end(`msg_${randomBytes(12).toString('base64url')}`, model),
  });
}
