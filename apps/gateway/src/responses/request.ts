import {
  assistantTextContent,
  checkParams,
  type ChatCompletionCreateParams,
  GatewayError,
  geminiSignatures,
  type ParamTable,
  refuse,
  fittedToolName,
  refuseAbsentChosenTools,
  refuseToolChoiceWithoutTools,
  refuseDuplicateToolNames,
  toolResult,
} from '@gateway/providers';
import type {
  ChatCompletionAssistantMessageParam,
  ChatCompletionContentPart,
  ChatCompletionFunctionTool,
  ChatCompletionMessageParam,
  ChatCompletionToolChoiceOption,
} from 'openai/resources/chat/completions';
import type { ResponseCreateParamsBase, Tool } from 'openai/resources/responses/responses';
import { customArguments, customToolFunction } from './custom-tools';
import { decodeThinking } from './ids';
import { searchArguments, searchedTools, searchResultText, TOOL_SEARCH, toolSearchFunction } from './tool-search';

/** A Responses API request body as the gateway accepts it (`model` is required here). */
export type ResponsesRequest = ResponseCreateParamsBase & { model: string };

const unsupported = (why: string) => refuse(() => true, why);

/**
 * Every Responses API parameter: `mapped` to a chat completion parameter below,
 * `dropped` (a hint whose absence cannot change the answer's shape), or refused
 * with a 400 naming it because the gateway cannot honour it.
 */
const RESPONSES_PARAMS: ParamTable<ResponseCreateParamsBase> = {
  model: 'mapped',
  input: 'mapped',
  instructions: 'mapped',
  tools: 'mapped',
  tool_choice: 'mapped',
  parallel_tool_calls: 'mapped',
  text: 'mapped',
  reasoning: 'mapped',
  max_output_tokens: 'mapped',
  temperature: 'mapped',
  top_p: 'mapped',
  // Echoed on the response (response.ts), not sent upstream: Chat Completions takes `metadata`
  // only with `store`, which would store the completion at the provider.
  metadata: 'mapped',
  user: 'mapped',
  safety_identifier: 'mapped',
  prompt_cache_key: 'mapped',
  service_tier: 'mapped',
  stream: 'mapped',
  // Handled by the controller (response store).
  store: 'mapped',
  previous_response_id: 'mapped',
  // The reasoning state is always returned when there is any (see ids.ts), so `include` asks for
  // nothing more, but for log probabilities, which the gateway does not return (as top_logprobs).
  include: refuse(
    (v) => Array.isArray(v) && v.includes('message.output_text.logprobs'),
    "does not return log probabilities on /v1/responses (include: 'message.output_text.logprobs').",
  ),
  stream_options: 'dropped',
  prompt_cache_retention: 'dropped',
  prompt_cache_options: 'dropped',
  // Limits OpenAI's built-in tools, which the gateway does not run.
  max_tool_calls: 'dropped',
  truncation: refuse((v) => v === 'auto', "does not truncate conversations (truncation: 'auto'); send 'disabled' or leave it out."),
  top_logprobs: refuse((v) => typeof v === 'number' && v > 0, 'does not return log probabilities on /v1/responses (top_logprobs).'),
  background: refuse((v) => v === true, 'does not run background responses (background).'),
  conversation: unsupported('does not implement the Conversations API (conversation); use previous_response_id.'),
  prompt: unsupported('does not store prompt templates (prompt).'),
  context_management: unsupported('does not compact conversations (context_management).'),
  moderation: unsupported('does not run moderation (moderation).'),
  access_programs: unsupported('does not support access_programs.'),
  image: unsupported('does not produce images (image).'),
};

const VENDOR = 'This gateway';

/**
 * Chat Completions parameters a client may send here by mistake. OpenAI refuses them (as every
 * parameter it does not define), and dropping one silently (`max_tokens`, `stop`) would change
 * the answer. Other unknown parameters are ignored: the API grows faster than this table.
 */
const CHAT_ONLY = [
  'messages',
  'max_tokens',
  'max_completion_tokens',
  'stop',
  'seed',
  'n',
  'response_format',
  'presence_penalty',
  'frequency_penalty',
  'logit_bias',
  'logprobs',
  'functions',
  'function_call',
  'modalities',
  'audio',
  'prediction',
  'web_search_options',
  'reasoning_effort',
];

/** Refuses the `include` values create would refuse for what the gateway cannot give (log probabilities), as create does. */
export function checkInclude(include: ResponseCreateParamsBase['include']): void {
  checkParams({ include }, RESPONSES_PARAMS, VENDOR);
}

/**
 * A Responses API request as the chat completion the pipeline runs. `history` is the
 * conversation of `previous_response_id` (without its instructions, as OpenAI does), and
 * `searched` the tools its tool searches loaded (tool-search.ts); `item_reference` items must
 * already be replaced by the items they name.
 */
export function toChatParams(
  body: ResponsesRequest,
  history: ChatCompletionMessageParam[] = [],
  searched: Tool[] = [],
): ChatCompletionCreateParams {
  for (const key of CHAT_ONLY) if (key in body) throw GatewayError.badRequest(`Unknown parameter: '${key}'.`, key, 'unknown_parameter');
  checkParams(body, RESPONSES_PARAMS, VENDOR);
  const messages: ChatCompletionMessageParam[] = [];
  if (body.instructions) messages.push({ role: 'system', content: body.instructions });
  messages.push(...history, ...inputMessages(body.input));
  if (messages.length === 0) throw GatewayError.badRequest("Missing required parameter: 'input'.", 'input', 'missing_required_parameter');

  const params: Record<string, unknown> = { model: body.model, messages };
  const set = (key: keyof ChatCompletionCreateParams, value: unknown) => {
    if (value != null) params[key] = value;
  };
  set('max_completion_tokens', body.max_output_tokens);
  set('temperature', body.temperature);
  set('top_p', body.top_p);
  set('user', body.user);
  set('safety_identifier', body.safety_identifier);
  set('prompt_cache_key', body.prompt_cache_key);
  set('service_tier', body.service_tier);
  set('reasoning_effort', body.reasoning?.effort);
  set('verbosity', body.text?.verbosity);
  set('response_format', responseFormat(body.text?.format));
  const tools = chatTools(body.tools ?? [], [...searched, ...searchedTools(body.input)]);
  if (tools.length) {
    params.tools = tools;
    set('parallel_tool_calls', body.parallel_tool_calls);
  }
  set('tool_choice', toolChoice(body.tool_choice, tools));
  if (body.stream) {
    params.stream = true;
    // response.completed carries usage, so the stream must report it.
    params.stream_options = { include_usage: true };
  }
  return params as unknown as ChatCompletionCreateParams;
}

/** The `input` items as chat messages, in order. */
export function inputMessages(input: ResponsesRequest['input']): ChatCompletionMessageParam[] {
  if (input == null) return [];
  if (typeof input === 'string') return [{ role: 'user', content: input }];
  const out = new ChatTurns();
  input.forEach((item, i) => out.add(item as Item, `input[${i}]`));
  return out.finish();
}

type Item = { type?: string | null };

/** An input item's type: a message when it has none; OpenAI's spec lets an item_reference alone say `type: null`. */
export function itemType(item: Item): string {
  return item.type === null ? 'item_reference' : (item.type ?? 'message');
}

/**
 * Builds chat messages item by item: consecutive assistant pieces (text, reasoning,
 * function calls) become one assistant message, as chat completions expect; the images
 * and files tools returned follow the round's tool messages as one user message.
 */
type OpenAssistant = ChatCompletionAssistantMessageParam & { reasoning_content?: string; thinking_blocks?: unknown[] };

class ChatTurns {
  private readonly messages: ChatCompletionMessageParam[] = [];
  private toolMedia: ChatCompletionContentPart[] = [];
  /** Gemini thought signatures from reasoning items (response.ts, signatureItem), by the call id they belong to. */
  readonly signatures = new Map<string, string>();
  private assistant: OpenAssistant | undefined;

  add(item: Item, path: string): void {
    const kind = itemType(item);
    const handler = ITEM_HANDLERS[kind];
    if (!handler) {
      throw GatewayError.badRequest(
        `Input items of type '${kind}' are not supported by this gateway; send messages, function, custom tool and tool search calls, their outputs, reasoning and item_reference items.`,
        `${path}.type`,
        'unsupported_value',
      );
    }
    handler(this, item as never, path);
  }

  /** The open assistant message, started when the previous message is not one. */
  openAssistant() {
    if (!this.assistant) {
      const open: OpenAssistant = { role: 'assistant', content: null };
      this.push(open);
      this.assistant = open;
    }
    return this.assistant;
  }

  /**
   * Assistant text joins the open assistant message (text and the calls after it are one chat
   * turn), each text as its own part: two assistant messages in a row (a commentary message and
   * the answer, an item_reference and the message after it) reach the vendor as two texts (two
   * Anthropic text blocks, two Gemini parts), not one string with their sentences run together.
   * A single text stays a string, as before.
   */
  addAssistantText(texts: string[]): void {
    const open = this.openAssistant();
    const said =
      typeof open.content === 'string'
        ? [open.content]
        : (open.content ?? []).map((part) => (part.type === 'text' ? part.text : part.refusal));
    open.content = assistantTextContent([...said, ...texts]);
  }

  push(message: ChatCompletionMessageParam): void {
    if (message.role !== 'tool') this.endToolRound();
    this.assistant = undefined;
    this.messages.push(message);
  }

  /** A tool's output: its text as the tool message, its images and files for the user message after the round. */
  pushToolOutput(callId: string, parts: ChatCompletionContentPart[]): void {
    const { message, media } = toolResult(callId, parts);
    this.push(message);
    this.toolMedia.push(...media);
  }

  finish(): ChatCompletionMessageParam[] {
    this.endToolRound();
    return this.messages;
  }

  private endToolRound(): void {
    if (this.toolMedia.length) this.messages.push({ role: 'user', content: this.toolMedia });
    this.toolMedia = [];
  }
}

type Handler<T> = (turns: ChatTurns, item: T, path: string) => void;
type MessageItem = { role: string; content: string | { type: string; [key: string]: unknown }[] };
type FunctionCallItem = { call_id: string; name: string; namespace?: string | null; arguments: string };
type CustomToolCallItem = { call_id: string; name: string; namespace?: string | null; input: string };
type ToolOutputItem = { call_id: string; output: string | { type: string; [key: string]: unknown }[] };
// Codex sends `content: null` on every reasoning item it sends back.
type ReasoningItem = { summary?: { text: string }[]; content?: { text: string }[] | null; encrypted_content?: string | null };
type ToolSearchCallItem = { call_id: string; arguments: unknown };
type ToolSearchOutputItem = { call_id: string; tools: Tool[] };

/** A call from history, function or custom, as a tool call of the open assistant message. */
function addCall(turns: ChatTurns, callId: string, name: string, args: string): void {
  const open = turns.openAssistant();
  const signature = turns.signatures.get(callId);
  (open.tool_calls ??= []).push({
    id: callId,
    type: 'function',
    function: { name, arguments: args },
    ...(signature ? geminiSignatures.signedCall(signature) : {}),
  });
}

/** A tool's output, function or custom, as the tool message of its call. */
const toolOutput = ((turns, item: ToolOutputItem, path) => {
  const parts =
    typeof item.output === 'string'
      ? [{ type: 'text' as const, text: item.output }]
      : item.output.map((p, j) => userPart(p, `${path}.output[${j}]`));
  turns.pushToolOutput(item.call_id, parts);
}) as Handler<never>;

/** How each input item type becomes part of the chat conversation. */
const ITEM_HANDLERS: Record<string, Handler<never>> = {
  message: ((turns, item: MessageItem, path) => {
    if (item.role === 'assistant') {
      turns.addAssistantText(
        typeof item.content === 'string' ? [item.content] : item.content.map((p, j) => assistantText(p, `${path}.content[${j}]`)),
      );
      return;
    }
    if (!['user', 'system', 'developer'].includes(item.role)) {
      throw GatewayError.badRequest(`Invalid value for '${path}.role': '${item.role}'.`, `${path}.role`, 'invalid_value');
    }
    const content = typeof item.content === 'string' ? item.content : item.content.map((p, j) => userPart(p, `${path}.content[${j}]`));
    turns.push({ role: item.role, content } as ChatCompletionMessageParam);
  }) as Handler<never>,
  function_call: ((turns, item: FunctionCallItem) => {
    addCall(turns, item.call_id, chatToolName(item.name, item.namespace), item.arguments);
  }) as Handler<never>,
  custom_tool_call: ((turns, item: CustomToolCallItem) => {
    addCall(turns, item.call_id, chatToolName(item.name, item.namespace), customArguments(item.input));
  }) as Handler<never>,
  tool_search_call: ((turns, item: ToolSearchCallItem) => {
    addCall(turns, item.call_id, TOOL_SEARCH, searchArguments(item.arguments));
  }) as Handler<never>,
  function_call_output: toolOutput,
  custom_tool_call_output: toolOutput,
  // The tools themselves are declared with the request's (toChatParams).
  tool_search_output: ((turns, item: ToolSearchOutputItem, path) => {
    const names = item.tools.flatMap((tool, j) => toChatTools(tool, `${path}.tools[${j}]`)).map((tool) => tool.function.name);
    turns.pushToolOutput(item.call_id, [{ type: 'text', text: searchResultText(names) }]);
  }) as Handler<never>,
  reasoning: ((turns, item: ReasoningItem, path) => {
    const open = turns.openAssistant();
    const text = [...(item.summary ?? []), ...(item.content ?? [])].map((p) => p.text).join('');
    if (text) open.reasoning_content = (open.reasoning_content ?? '') + text;
    for (const block of decodeThinking(item.encrypted_content, `${path}.encrypted_content`) ?? []) {
      const signed = geminiSignatures.callSignatureOf(block as object);
      if (signed) turns.signatures.set(signed.callId, signed.signature);
      else (open.thinking_blocks ??= []).push(block);
    }
  }) as Handler<never>,
};

/** Content part types of user, system and developer messages, as chat content parts. */
const USER_PARTS: Record<string, (p: Record<string, unknown>, path: string) => ChatCompletionContentPart> = {
  input_text: (p) => ({ type: 'text', text: String(p.text ?? '') }),
  input_image: (p, path) => {
    const url = inline(p.image_url, path, 'Images must be sent as image_url (a URL or data URL); file_id needs the Files API.');
    return { type: 'image_url', image_url: { url, ...(p.detail && p.detail !== 'original' ? { detail: p.detail as 'auto' } : {}) } };
  },
  input_file: (p, path) => {
    const data = inline(p.file_data, path, 'Files must be sent inline as file_data; file_id and file_url are not fetched.');
    return { type: 'file', file: { file_data: data, ...(typeof p.filename === 'string' ? { filename: p.filename } : {}) } };
  },
};

/** Content the gateway forwards must be in the request: it has no Files API to fetch ids from. */
function inline(value: unknown, path: string, why: string): string {
  if (typeof value !== 'string') throw GatewayError.badRequest(why, path, 'unsupported_value');
  return value;
}

function userPart(part: { type: string; [key: string]: unknown }, path: string): ChatCompletionContentPart {
  const map = USER_PARTS[part.type];
  if (!map)
    throw GatewayError.badRequest(`Content parts of type '${part.type}' are not supported here.`, `${path}.type`, 'unsupported_value');
  return map(part, path);
}

/** Assistant content replayed from an earlier output: its text (a refusal counts as what was said). */
function assistantText(part: { type: string; [key: string]: unknown }, path: string): string {
  if (part.type === 'output_text' || part.type === 'input_text') return String(part.text ?? '');
  if (part.type === 'refusal') return String(part.refusal ?? '');
  throw GatewayError.badRequest(`Assistant content of type '${part.type}' is not supported.`, `${path}.type`, 'unsupported_value');
}

/**
 * The request's tools, then those tool searches loaded, as chat tools. A searched tool already
 * declared (found by two searches, say) is declared once: vendors refuse a name twice. Two of the
 * request's own tools of one chat name (a function and a custom tool, say) are a 400.
 */
function chatTools(declared: Tool[], searched: Tool[]): ChatCompletionFunctionTool[] {
  const tools = declared.flatMap((tool, i) => toChatTools(tool, `tools[${i}]`));
  const paths = declared.flatMap((tool, i) => namePaths(tool, `tools[${i}]`));
  const names = new Set(tools.map((tool) => tool.function.name));
  refuseDuplicateToolNames(
    tools.map((tool) => tool.function.name),
    (k) => paths[k],
  );
  for (const tool of searched.flatMap((t, i) => toChatTools(t, `tool_search_output.tools[${i}]`))) {
    if (names.has(tool.function.name)) continue;
    names.add(tool.function.name);
    tools.push(tool);
  }
  return tools;
}

/** Where the request names each chat tool toChatTools makes of `tool` (a tool search has no name: its type). */
function namePaths(tool: Tool, path: string): string[] {
  if (tool.type === 'namespace') return tool.tools.map((_, j) => `${path}.tools[${j}].name`);
  return [tool.type === 'tool_search' ? `${path}.type` : `${path}.name`];
}

/** A function or custom tool, or each tool of a namespace tool (chat tools have no namespaces), as chat tools. */
function toChatTools(tool: Tool, path: string): ChatCompletionFunctionTool[] {
  if (tool.type === 'namespace') {
    return tool.tools.map((inner, j) => chatFunction(inner as unknown as Tool, `${path}.tools[${j}]`, tool.name));
  }
  return [chatFunction(tool, path)];
}

function chatFunction(tool: Tool, path: string, namespace?: string): ChatCompletionFunctionTool {
  if (tool.type === 'custom') return customToolFunction(tool, chatToolName(tool.name, namespace));
  if (tool.type === 'tool_search') return toolSearchFunction(tool, path);
  if (tool.type !== 'function') {
    throw GatewayError.badRequest(
      `Tools of type '${tool.type}' are not supported: this gateway forwards function, custom and client-executed tool_search tools only (OpenAI's hosted tools run on OpenAI's side).`,
      `${path}.type`,
      'unsupported_value',
    );
  }
  return {
    type: 'function',
    function: {
      name: chatToolName(tool.name, namespace),
      ...(tool.description != null ? { description: tool.description } : {}),
      ...(tool.parameters != null ? { parameters: tool.parameters } : {}),
      ...(tool.strict != null ? { strict: tool.strict } : {}),
    },
  };
}

/**
 * The chat name of a function inside a namespace tool: `<namespace>__<tool>`, fitted to the 64
 * characters vendors allow (callNames maps the model's calls back).
 */
function chatToolName(name: string, namespace?: string | null): string {
  return namespace ? fittedToolName(`${namespace}__${name}`) : name;
}

/**
 * How the response names a call of a namespaced, custom or tool search tool (custom ones are
 * `custom_tool_call` items, tool search ones `tool_search_call` items).
 */
export interface CallName {
  name: string;
  namespace?: string;
  kind?: 'custom' | 'tool_search';
}

/**
 * The chat names of the namespaced, custom and tool search tools among `tools` (the request's,
 * and those tool searches loaded) -> how the response names the calls the model makes.
 */
export function callNames(tools: Tool[] | undefined): Map<string, CallName> {
  const names = new Map<string, CallName>();
  const add = (tool: { type: string; name: string }, namespace?: string) => {
    if (!namespace && tool.type !== 'custom') return;
    names.set(chatToolName(tool.name, namespace), {
      name: tool.name,
      ...(namespace && { namespace }),
      ...(tool.type === 'custom' && { kind: 'custom' as const }),
    });
  };
  for (const tool of tools ?? []) {
    if (tool.type === 'namespace') for (const inner of tool.tools) add(inner, tool.name);
    else if (tool.type === 'function' || tool.type === 'custom') add(tool);
    else if (tool.type === 'tool_search') names.set(TOOL_SEARCH, { name: TOOL_SEARCH, kind: 'tool_search' });
  }
  return names;
}

type ResponsesToolChoice = ResponsesRequest['tool_choice'];

/**
 * The chat tool_choice; one naming a tool that is not in `tools`, or `required` with no tools, is refused here, as OpenAI refuses
 * it, on every vendor (forwarded, each upstream answered it its own way, or not at all).
 */
function toolChoice(choice: ResponsesToolChoice, tools: ChatCompletionFunctionTool[]): ChatCompletionToolChoiceOption | undefined {
  if (choice == null || typeof choice === 'string') {
    refuseToolChoiceWithoutTools(choice, tools);
    return choice ?? undefined;
  }
  // A custom tool is a function upstream (custom-tools.ts).
  if (choice.type === 'function' || choice.type === 'custom') {
    if (!tools.some((tool) => tool.function.name === choice.name)) {
      throw GatewayError.badRequest(
        `Tool choice names the ${choice.type} tool '${choice.name}', which is not in 'tools'.`,
        'tool_choice',
        'invalid_value',
      );
    }
    return { type: 'function', function: { name: choice.name } };
  }
  if (choice.type === 'allowed_tools') {
    const allowed = choice.tools.map((t, i) => {
      if ((t.type !== 'function' && t.type !== 'custom') || typeof t.name !== 'string') {
        throw GatewayError.badRequest(
          'allowed_tools may name function and custom tools only.',
          `tool_choice.tools[${i}]`,
          'unsupported_value',
        );
      }
      return { type: 'function' as const, function: { name: t.name } };
    });
    const chatChoice: ChatCompletionToolChoiceOption = { type: 'allowed_tools', allowed_tools: { mode: choice.mode, tools: allowed } };
    refuseAbsentChosenTools(chatChoice, tools);
    refuseToolChoiceWithoutTools(chatChoice, tools);
    return chatChoice;
  }
  throw GatewayError.badRequest(
    `tool_choice of type '${choice.type}' names a tool that is not a function or custom tool; this gateway forwards those only.`,
    'tool_choice.type',
    'unsupported_value',
  );
}

type TextFormat = NonNullable<ResponsesRequest['text']>['format'];

function responseFormat(format: TextFormat): ChatCompletionCreateParams['response_format'] {
  if (!format || format.type === 'text') return undefined;
  if (format.type === 'json_object') return { type: 'json_object' };
  return {
    type: 'json_schema',
    json_schema: {
      name: format.name,
      schema: format.schema,
      ...(format.description != null ? { description: format.description } : {}),
      ...(format.strict != null ? { strict: format.strict } : {}),
    },
  };
}
