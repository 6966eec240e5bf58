import { GatewayError } from '../gateway-error';
import type { ChatCompletionMessageParam } from '../wire';
import { textsOf } from './content';
import type { AssistantMessage } from './tools';

type Message<R extends string> = Extract<ChatCompletionMessageParam, { role: R }>;

/** How a vendor turns each kind of OpenAI message into its own blocks (parts). */
export interface TurnBuilder<Block> {
  user(message: Message<'user'>, param: string): Block[];
  assistant(message: AssistantMessage, param: string): Block[];
  tool(message: Message<'tool'>, param: string): Block[];
}

export interface Turn<Block> {
  /** OpenAI's side of the conversation: tool results belong to the user's turn. */
  side: 'user' | 'assistant';
  blocks: Block[];
}

/**
 * Walks OpenAI messages into what both vendors want: the text parts of system and
 * developer messages gathered (in order, one string a part) as the system prompt, and
 * turns alternating user/assistant, consecutive messages of one side merged, which
 * groups the results of one round of tool calls into a single user turn.
 *
 * Both vendors need at least one turn, where OpenAI answers system messages alone:
 * those then become the user's turn, as the only instructions the model is given. A
 * conversation with nothing to send is the caller's 400, never a request the vendor
 * (or the Gemini SDK, before sending) refuses as if the deployment had failed.
 */
export function toTurns<Block>(
  input: ChatCompletionMessageParam[],
  vendor: string,
  build: TurnBuilder<Block>,
): { system: string[]; turns: Turn<Block>[] } {
  const system: string[] = [];
  const turns: Turn<Block>[] = [];
  // How many tool results open the last turn: a round's results come first in its turn, in order, before
  // any text or image (Anthropic refuses a tool_result after text), even with a user message between them.
  let results = 0;
  const add = (side: Turn<Block>['side'], blocks: Block[], areResults = false) => {
    if (!blocks.length) return;
    const last = turns[turns.length - 1];
    if (last?.side !== side) {
      turns.push({ side, blocks });
      results = areResults ? blocks.length : 0;
    } else if (areResults) {
      last.blocks.splice(results, 0, ...blocks);
      results += blocks.length;
    } else last.blocks.push(...blocks);
  };
  input.forEach((message, i) => {
    const param = `messages[${i}]`;
    switch (message.role) {
      case 'system':
      case 'developer': {
        system.push(...textsOf(message, param).filter((text) => text.trim()));
        break;
      }
      case 'user':
        add('user', build.user(message, param));
        break;
      case 'assistant': {
        const blocks = build.assistant(message, param);
        if (!blocks.length && message.audio) throw heardOnly(vendor, param);
        add('assistant', blocks);
        break;
      }
      case 'tool':
        add('user', build.tool(message, param), true);
        break;
      default:
        throw GatewayError.badRequest(
          `Messages with role '${message.role}' are not supported by ${vendor}; use tool messages.`,
          `${param}.role`,
          'invalid_value',
        );
    }
  });
  if (turns.length) return { system, turns };
  if (!system.length)
    throw GatewayError.badRequest(
      `The conversation has no content to send to ${vendor}: every message is empty.`,
      'messages',
      'invalid_value',
    );
  add('user', build.user({ role: 'user', content: system.map((text) => ({ type: 'text', text })) }, 'messages'));
  return { system: [], turns };
}

/**
 * An assistant answer given as audio only (`audio: {id}`, OpenAI's reference to audio it keeps): the vendor
 * cannot hear it, and leaving it out would drop the turn (the user messages around it merged), so the model
 * would not know it had answered. Refused as audio output is (COMMON_PARAMS), naming the message.
 */
function heardOnly(vendor: string, param: string): GatewayError {
  return GatewayError.badRequest(
    `${vendor} cannot read an assistant answer given as audio (${param}.audio); send its transcript as the message's content.`,
    `${param}.audio`,
    'unsupported_parameter',
  );
}
