import { GatewayError } from '../gateway-error';
import type { ChatCompletionMessageParam } from '../wire';
import { textOf } from './content';
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
 * Walks OpenAI messages into what both vendors want: system and developer
 * messages gathered (in order) as the system prompt, and turns alternating
 * user/assistant, consecutive messages of one side merged, which groups the
 * results of one round of tool calls into a single user turn.
 */
export function toTurns<Block>(
  input: ChatCompletionMessageParam[],
  vendor: string,
  build: TurnBuilder<Block>,
): { system: string[]; turns: Turn<Block>[] } {
  const system: string[] = [];
  const turns: Turn<Block>[] = [];
  const add = (side: Turn<Block>['side'], blocks: Block[]) => {
    if (!blocks.length) return;
    const last = turns[turns.length - 1];
    if (last?.side === side) last.blocks.push(...blocks);
    else turns.push({ side, blocks });
  };
  input.forEach((message, i) => {
    const param = `messages[${i}]`;
    switch (message.role) {
      case 'system':
      case 'developer': {
        const text = textOf(message, param);
        if (text.trim()) system.push(text);
        break;
      }
      case 'user':
        add('user', build.user(message, param));
        break;
      case 'assistant':
        add('assistant', build.assistant(message, param));
        break;
      case 'tool':
        add('user', build.tool(message, param));
        break;
      default:
        throw GatewayError.badRequest(
          `Messages with role '${message.role}' are not supported by ${vendor}; use tool messages.`,
          `${param}.role`,
          'invalid_value',
        );
    }
  });
  return { system, turns };
}
