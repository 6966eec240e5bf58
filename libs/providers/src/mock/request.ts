import type { ChatCompletionCreateParams, ChatCompletionMessageParam, ChatCompletionTool } from '../wire';

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
  if (tool) return { kind: 'tool_call', name: tool.function.name, arguments: JSON.stringify(argumentsFor(tool, textOf(last))) };

  const prompt = clip(textOf(last), 200);
  const format = request.response_format?.type;
  if (format === 'json_object' || format === 'json_schema') {
    return { kind: 'text', text: JSON.stringify({ mock: true, echo: prompt }) };
  }
  return { kind: 'text', text: `${MOCK_PREFIX} This is the gateway's offline mock model. You said: ${prompt}` };
}

function chosenTool(request: ChatCompletionCreateParams): Extract<ChatCompletionTool, { type: 'function' }> | undefined {
  const tools = (request.tools ?? []).filter((t): t is Extract<ChatCompletionTool, { type: 'function' }> => t.type === 'function');
  const choice = request.tool_choice;
  if (!tools.length || choice === 'none') return undefined;
  if (choice && typeof choice === 'object' && 'function' in choice) {
    return tools.find((t) => t.function.name === choice.function.name);
  }
  return tools[0];
}

/** Fills the tool's required parameters with values of the declared types. */
function argumentsFor(tool: Extract<ChatCompletionTool, { type: 'function' }>, prompt: string): Record<string, unknown> {
  const schema = (tool.function.parameters ?? {}) as { properties?: Record<string, { type?: string }>; required?: string[] };
  const args: Record<string, unknown> = {};
  for (const key of schema.required ?? Object.keys(schema.properties ?? {})) {
    const type = schema.properties?.[key]?.type;
    args[key] = type === 'number' || type === 'integer' ? 1 : type === 'boolean' ? true : clip(prompt, 60);
  }
  return args;
}

function clip(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max)}…` : text;
}

/** Rough token count (about four characters a token), enough for usage figures. */
export function estimateTokens(text: string): number {
  return Math.max(1, Math.ceil(text.length / 4));
}

export function promptTokens(request: ChatCompletionCreateParams): number {
  return request.messages.reduce((sum, m) => sum + estimateTokens(textOf(m)) + 3, 0);
}
