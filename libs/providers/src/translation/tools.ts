import { createHash } from 'node:crypto';
import { GatewayError } from '../gateway-error';
import { requestJson } from '../json-shape';
import type { ChatCompletionCreateParams, ChatCompletionMessageParam } from '../wire';

export interface FunctionTool {
  name: string;
  description?: string;
  parameters?: Record<string, unknown>;
  strict?: boolean | null;
}

/** OpenAI's tool_choice reduced to what every vendor can express. */
export type ToolMode = 'auto' | 'none' | 'required';

export interface ToolPlan {
  tools: FunctionTool[];
  /** Undefined when the client did not choose: the vendor's default (auto). */
  mode: ToolMode | undefined;
  /** The one function the model must call (a named tool_choice). */
  forced?: string;
  /** False when the client asked for at most one call per turn. */
  parallel: boolean;
}

type ToolChoiceObject = {
  type: string;
  function?: { name: string };
  allowed_tools?: { mode: 'auto' | 'required'; tools: { type: string; function?: { name: string } }[] };
};

/**
 * Reads `tools`, `tool_choice` and `parallel_tool_calls` into one plan. Only function
 * tools translate; `allowed_tools` narrows the tool list, which every vendor understands.
 */
export function planTools(request: ChatCompletionCreateParams): ToolPlan {
  const tools = (request.tools ?? []).map((tool, i): FunctionTool => {
    if (tool.type !== 'function') {
      throw GatewayError.badRequest(
        `Tools of type '${tool.type}' are not supported by this model; use function tools.`,
        `tools[${i}].type`,
        'invalid_value',
      );
    }
    return tool.function;
  });
  const plan: ToolPlan = { tools, mode: undefined, parallel: request.parallel_tool_calls !== false };
  const choice = request.tool_choice as ToolMode | ToolChoiceObject | undefined;
  if (choice == null || !tools.length) return plan;
  if (typeof choice === 'string') return { ...plan, mode: choice };
  if (choice.type === 'function' && choice.function) {
    if (!tools.some((t) => t.name === choice.function!.name)) {
      throw GatewayError.badRequest(
        `tool_choice names '${choice.function.name}', which is not in tools.`,
        'tool_choice.function.name',
        'invalid_value',
      );
    }
    return { ...plan, mode: 'required', forced: choice.function.name };
  }
  if (choice.type === 'allowed_tools' && choice.allowed_tools) {
    const allowed = new Set(choice.allowed_tools.tools.map((t) => t.function?.name));
    return { ...plan, tools: tools.filter((t) => allowed.has(t.name)), mode: choice.allowed_tools.mode };
  }
  throw GatewayError.badRequest(`tool_choice of type '${choice.type}' is not supported by this model.`, 'tool_choice', 'invalid_value');
}

/** Of `tools`, the ones an `allowed_tools` tool_choice lets the model call (functions and custom tools, by name). */
export function allowedTools<T extends NamedTool>(tools: readonly T[], choice: { allowed_tools: { tools: readonly NamedTool[] } }): T[] {
  const allowed = new Set(choice.allowed_tools.tools.map(toolName));
  return tools.filter((tool) => allowed.has(toolName(tool)));
}

/** OpenAI's cap on a function name, which the chat route's schema holds callers to as well. */
const MAX_TOOL_NAME = 64;

/**
 * A tool name another API allows (a flattened `<namespace>__<tool>`, a Messages API name of up
 * to 128 characters) as a chat function name: as it is up to 64 characters, else its first 51
 * and a hash of the whole. Deterministic, so a request's tools, its history's calls and its
 * tool_choice name the tool alike, turn after turn; the codec that fitted it maps the model's
 * calls back to the name the client declared.
 */
export function fittedToolName(name: string): string {
  if (name.length <= MAX_TOOL_NAME) return name;
  return `${name.slice(0, MAX_TOOL_NAME - 13)}_${createHash('sha256').update(name).digest('hex').slice(0, 12)}`;
}

/**
 * Refuses a tool name declared twice, naming where the later one is declared (`paramOf(i)` for
 * `names[i]`; undefined for a tool this check does not read): Anthropic and Gemini refuse such a
 * request, and a call of that name could not say which tool it meant (a function and a custom
 * tool of one name came back as the custom one).
 */
export function refuseDuplicateToolNames(names: readonly (string | undefined)[], paramOf: (i: number) => string): void {
  const seen = new Set<string>();
  names.forEach((name, i) => {
    if (name === undefined) return;
    if (seen.has(name)) {
      // The message names the parameter too: Anthropic-shaped errors carry no `param`.
      const param = paramOf(i);
      throw GatewayError.badRequest(`${param}: tool names must be unique ('${name}' is declared twice).`, param, 'invalid_value');
    }
    seen.add(name);
  });
}

/** A chat tool, or a reference to one in a tool_choice: a function's (`function.name`) or a custom tool's (`custom.name`). */
type NamedTool = { function?: { name?: unknown }; custom?: { name?: unknown } };

/**
 * Refuses a chat tool_choice that names a tool not in `tools` (a named function or custom tool, or an
 * `allowed_tools` entry), whatever the deployment: narrowed to the tools it names, a translated request
 * kept none (Gemini then answered in text, `required` or not), and OpenAI-format upstreams answered it
 * their own way (OpenAI refuses it; some compatible servers take it as `auto`, and the model called
 * another tool or none). A named choice with no tools at all is refuseToolChoiceWithoutTools's.
 */
export function refuseAbsentChosenTools(choice: ChatCompletionCreateParams['tool_choice'], tools: readonly NamedTool[] | undefined): void {
  if (typeof choice !== 'object' || choice === null) return;
  const allowedTools = choice.type === 'allowed_tools';
  if (!allowedTools && !tools?.length) return;
  const named = allowedTools ? (choice.allowed_tools.tools as NamedTool[]) : [choice as NamedTool];
  const declared = new Set((tools ?? []).map(toolName));
  const absent = named.map(toolName).find((name) => name !== undefined && !declared.has(name));
  if (absent === undefined) return;
  // The message names the parameter too: Anthropic-shaped errors carry no `param`.
  throw GatewayError.badRequest(
    `tool_choice: ${allowedTools ? 'allowed_tools names' : 'names'} the tool '${absent}', which is not in 'tools'.`,
    'tool_choice',
    'invalid_value',
  );
}

/** What OpenAI's chat route answers a call demanded with no tools. */
const NO_TOOLS_TO_CALL = "tool_choice: a tool call is required, but the request declares no 'tools'.";

/**
 * Refuses a chat tool_choice that demands a call (`required`, or a named tool) when the request declares no
 * tools, or an `allowed_tools` one that demands a call from an empty list, whatever the deployment, as OpenAI
 * refuses a call demanded of nothing: translated, it went as a plain request (there is no tool to choose) and
 * Claude or Gemini answered in text where the client counts on a call. `message`: the refusal in the words of
 * the caller's API (the Messages API's is Anthropic's).
 */
export function refuseToolChoiceWithoutTools(
  choice: ChatCompletionCreateParams['tool_choice'],
  tools: readonly unknown[] | undefined,
  message = NO_TOOLS_TO_CALL,
): void {
  if (typeof choice === 'object' && choice?.type === 'allowed_tools') {
    // The names it lists are refuseAbsentChosenTools's to check; none at all leaves `required` nothing to call.
    if (choice.allowed_tools.mode !== 'required' || choice.allowed_tools.tools.length) return;
    throw GatewayError.badRequest(
      "tool_choice: allowed_tools with mode 'required' demands a call of one of its tools, but lists none.",
      'tool_choice',
      'invalid_value',
    );
  }
  if (tools?.length || choice == null || choice === 'auto' || choice === 'none') return;
  // The message names the parameter too: Anthropic-shaped errors carry no `param`.
  throw GatewayError.badRequest(message, 'tool_choice', 'invalid_value');
}

function toolName(tool: NamedTool): string | undefined {
  const name = tool.function?.name ?? tool.custom?.name;
  return typeof name === 'string' ? name : undefined;
}

/** The key under which arguments that are no JSON object go to a vendor that wants an object (parseArguments). */
export const RAW_ARGUMENTS = 'raw_arguments';

/**
 * The arguments of an assistant tool call from history (at `param`), as the object Anthropic and Gemini want.
 * Arguments that are no JSON object (a call cut by the output limit, a model's bad JSON) are the
 * model's own words, not the client's mistake: refusing them would refuse every later turn of the
 * conversation (a stored response's, too). They go as their text under `raw_arguments`, so the model
 * sees what it wrote. JSON past the body's bounds is a 400 (requestJson).
 */
export function parseArguments(args: string, param: string): Record<string, unknown> {
  const value = requestJson(args || '{}', param);
  return value && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : { [RAW_ARGUMENTS]: args };
}

export type AssistantMessage = Extract<ChatCompletionMessageParam, { role: 'assistant' }>;
export type ToolCallParam = NonNullable<AssistantMessage['tool_calls']>[number] & { function?: { name: string; arguments: string } };

/** Function tool calls of an assistant message; custom tool calls are a 400. */
export function functionCalls(
  message: AssistantMessage,
  param: string,
): (ToolCallParam & { function: { name: string; arguments: string } })[] {
  return (message.tool_calls ?? []).map((call, j) => {
    if (call.type !== 'function') {
      throw GatewayError.badRequest(
        `Tool calls of type '${call.type}' are not supported by this model.`,
        `${param}.tool_calls[${j}].type`,
        'invalid_value',
      );
    }
    return call;
  });
}
