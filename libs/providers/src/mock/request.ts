import type { ChatCompletionCreateParams, ChatCompletionMessageParam, ChatCompletionTool } from '../wire';
import { textStart } from '../text-start';
import { estimateTokens } from '../token-estimate';
import { valueFor } from './schema-value';

/** What the mock model will answer, derived only from the request: same request, same answer. */
export type MockPlan = { kind: 'text'; text: string } | { kind: 'tool_call'; name: string; arguments: string };

export const MOCK_PREFIX = '[mock]';

/** Plain text of a message's content, whichever form it took. */
export function textOf(message: ChatCompletionMessageParam | undefined): string {
  const content = message?.content;
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  return content.map((part) => ('text' in part ? part.text : '')).join(' ');
}

export function planReply(request: ChatCompletionCreateParams): MockPlan {
  const messages = request.messages;
  const last = messages[messages.length - 1];
  if (last?.role === 'tool') {
    return { kind: 'text', text: `${MOCK_PREFIX} The tool returned: ${clip(textOf(last), 200)}` };
  }
  const tool = chosenTool(request);
  if (tool) {
    return {
      kind: 'tool_call',
      name: tool.function.name,
      arguments: JSON.stringify(
        valueFor(argumentsSchema(tool), clip(textOf(last), 60), `tools[${request.tools!.indexOf(tool)}].function.parameters`),
      ),
    };
  }

  const prompt = clip(textOf(last), 200);
  const format = request.response_format;
  if (format?.type === 'json_schema') {
    return {
      kind: 'text',
      text: JSON.stringify(valueFor(format.json_schema?.schema, clip(prompt, 60), 'response_format.json_schema.schema')),
    };
  }
  if (format?.type === 'json_object') return { kind: 'text', text: JSON.stringify({ mock: true, echo: prompt }) };
  return { kind: 'text', text: `${MOCK_PREFIX} This is the gateway's offline mock model. You said: ${prompt}` };
}

type FunctionTool = Extract<ChatCompletionTool, { type: 'function' }>;

/**
 * The tool the mock calls: none when `tool_choice` is 'none'; the named one; the
 * first of `allowed_tools` that is declared; else the first declared tool.
 */
function chosenTool(request: ChatCompletionCreateParams): FunctionTool | undefined {
  const tools = (request.tools ?? []).filter((t): t is FunctionTool => t.type === 'function');
  const choice = request.tool_choice;
  if (!tools.length || choice === 'none') return undefined;
  if (choice && typeof choice === 'object' && choice.type === 'function') {
    return tools.find((t) => t.function.name === choice.function.name);
  }
  if (choice && typeof choice === 'object' && choice.type === 'allowed_tools') {
    const allowed = new Set(
      (choice.allowed_tools?.tools ?? []).map((t) => (t as { function?: { name?: unknown } }).function?.name).filter(Boolean),
    );
    return tools.find((t) => allowed.has(t.function.name));
  }
  return tools[0];
}

/** A tool's parameters schema; no parameters means an empty object. */
function argumentsSchema(tool: FunctionTool): Record<string, unknown> {
  return { type: 'object', ...(tool.function.parameters ?? {}) };
}

/** At most `max` UTF-16 units, never half of a surrogate pair, then an ellipsis. */
function clip(text: string, max: number): string {
  return text.length <= max ? text : `${textStart(text, max)}…`;
}

/** Rough token count (the gateway's estimate), enough for usage figures. */
export function mockTokens(text: string): number {
  return Math.max(1, estimateTokens(text));
}

export function promptTokens(request: ChatCompletionCreateParams): number {
  return request.messages.reduce((sum, m) => sum + mockTokens(textOf(m)) + 3, 0);
}
