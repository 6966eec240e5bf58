import { GatewayError } from '@gateway/providers';
import type { ChatCompletionFunctionTool } from 'openai/resources/chat/completions';
import type { ResponseToolSearchCall, Tool, ToolSearchTool } from 'openai/resources/responses/responses';

/**
 * Client-executed tool search (`{type: "tool_search", execution: "client"}`, which Codex declares
 * for model names it knows): the model asks the client to search the tools it holds back, and the
 * client sends the tools it found in a `tool_search_output`, callable from then on. No other vendor
 * has the tool, so every provider gets it as a function, `tool_search`, with the client's parameters;
 * its call comes back as a `tool_search_call` item, and the tools an output loads are declared upstream
 * on that request and on every request continuing it (request.ts). OpenAI's hosted search
 * (`execution: "server"`, the default) searches on OpenAI's side, so it is refused like the hosted tools.
 */
export const TOOL_SEARCH = 'tool_search';

export function toolSearchFunction(tool: ToolSearchTool, path: string): ChatCompletionFunctionTool {
  if (tool.execution !== 'client') {
    throw GatewayError.badRequest(
      "Hosted tool search runs on OpenAI's side; this gateway forwards client-executed tool search only (execution: 'client').",
      `${path}.execution`,
      'unsupported_value',
    );
  }
  if (tool.parameters == null) {
    // OpenAI's built-in schema for it is not published; the model must be told what to call it with.
    throw GatewayError.badRequest(
      "A client-executed tool_search needs its 'parameters' schema.",
      `${path}.parameters`,
      'missing_required_parameter',
    );
  }
  return {
    type: 'function',
    function: {
      name: TOOL_SEARCH,
      description: tool.description ?? 'Searches for tools that were not provided upfront; the tools it finds can be called after it.',
      parameters: tool.parameters as Record<string, unknown>,
    },
  };
}

/** The tools the `tool_search_output` items among `items` loaded, in order. */
export function searchedTools(items: unknown): Tool[] {
  if (!Array.isArray(items)) return [];
  return (items as { type?: string; tools?: Tool[] }[]).flatMap((item) => (item.type === 'tool_search_output' ? (item.tools ?? []) : []));
}

/** A tool search call from history as the arguments of the function call it was (a string is sent as written). */
export function searchArguments(args: unknown): string {
  return typeof args === 'string' ? args : JSON.stringify(args ?? {});
}

/** What the model reads as the search's result: the tools it can call now (their definitions are among the tools). */
export function searchResultText(chatNames: string[]): string {
  return chatNames.length ? `Tools loaded, callable from now on: ${chatNames.join(', ')}.` : 'No tools found.';
}

/** A call of the `tool_search` function as its output item; arguments that are not JSON are passed on as written. */
export function toolSearchCallItem(
  id: string,
  callId: string,
  args: string,
  status: ResponseToolSearchCall['status'],
): ResponseToolSearchCall {
  let value: unknown;
  try {
    value = JSON.parse(args || '{}');
  } catch {
    value = args;
  }
  return { id, type: 'tool_search_call', call_id: callId, execution: 'client', status, arguments: value };
}
