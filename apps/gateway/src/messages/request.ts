import { isDeepStrictEqual } from 'node:util';
import {
  anthropicTables,
  assistantTextContent,
  type ChatCompletionCreateParams,
  type ChatCompletionMessageParam,
  checkParams,
  GatewayError,
  geminiSignatures,
  type NativeOnly,
  type NativeRequest,
  type ParamRule,
  fittedToolName,
  refuseAbsentChosenTools,
  refuseDuplicateToolNames,
  refuseToolChoiceWithoutTools,
  toolResult,
} from '@gateway/providers';
import type { ChatCompletionToolChoiceOption } from 'openai/resources/chat/completions';
import { withoutBillingHeader } from './billing-header';
import { type AnthropicBlock, type MessagesRequest, type OutputFormatParam, type ThinkingParam, TOOL_MODES } from './wire';

type ContentPart = Exclude<Extract<ChatCompletionMessageParam, { role: 'user' }>['content'], string>[number];
type ToolCall = { id: string; type: 'function'; function: { name: string; arguments: string } };
/** Notes that the request uses what only Anthropic's API runs, and where (NativeRequest.only); the first note stands. */
type MarkNative = (reason: string, param: string) => void;

/** A Messages request as the pipeline takes it: chat params for everything the gateway reads, and the body for an Anthropic deployment. */
export interface MessagesTranslation {
  chat: ChatCompletionCreateParams;
  native: NativeRequest;
  /**
   * Tool names over the 64 characters chat functions allow (Messages allows 128), as the chat
   * request names them (fittedToolName) -> as the client declared them: the answer's calls go back by it.
   */
  toolNames: ReadonlyMap<string, string>;
}

/**
 * Every Messages API parameter and what becomes of it on the one (OpenAI-shaped) chat
 * path. `dropped` are hints that cannot change the shape of the answer; they still reach
 * an Anthropic upstream, which gets the original body (see messages.controller.ts), except
 * `top_k`, which API version 2026-10-21 refuses (nativeMessagesRequest removes it). Those that may
 * change what Anthropic answers are part of the cache key (keyExtras).
 */
export const MESSAGES_PARAMS: Record<keyof MessagesRequest, ParamRule> = {
  model: 'mapped',
  messages: 'mapped',
  max_tokens: 'mapped',
  system: 'mapped',
  stream: 'mapped',
  stop_sequences: 'mapped',
  temperature: 'mapped',
  top_p: 'mapped',
  tools: 'mapped',
  tool_choice: 'mapped',
  thinking: 'mapped',
  metadata: 'mapped',
  output_config: 'mapped',
  top_k: 'dropped',
  cache_control: 'dropped',
  service_tier: 'dropped',
  inference_geo: 'dropped',
  speed: 'dropped',
  // Reuses an Anthropic code-execution container: no chat param carries it, so the request is Anthropic-only (toChatRequest).
  container: 'mapped',
  // Anthropic-side MCP servers (its connector, behind the client's anthropic-beta header, which goes along): Anthropic-only too.
  mcp_servers: 'mapped',
  // Clearing old thinking or tool results to save context: an Anthropic-side saving, not part of the answer.
  context_management: 'dropped',
  // Anthropic's deprecated name for output_config.format, mapped like it (structuredOutput).
  output_format: 'mapped',
  // Anthropic-side settings that do not shape the answer: its compaction of long contexts (like
  // context_management), its cache-miss diagnostics, its own model fallbacks and their credit, its
  // billing and workspace, the end user's profile (like metadata.user_id).
  compaction: 'dropped',
  diagnostics: 'dropped',
  fallbacks: 'dropped',
  fallback_credit_token: 'dropped',
  billing_policy: 'dropped',
  workspace_id: 'dropped',
  user_profile_id: 'dropped',
  // Message threads: taken off the request before it is translated (threads/threads.ts); a `null` one is no thread.
  thread: 'mapped',
};

/** A base64 source's media type, once it has one and its data. */
function mediaOf(source: Record<string, string>, param: string): string {
  for (const field of ['media_type', 'data'])
    if (typeof source[field] !== 'string' || !source[field])
      throw GatewayError.badRequest(`A base64 source needs its ${field}.`, `${param}.source.${field}`, 'missing_required_parameter');
  return source.media_type!;
}

/**
 * How each kind of Anthropic media source becomes an OpenAI content part; other kinds are a 400.
 * What only Anthropic reads (ANTHROPIC_ONLY_CONTENT) never gets here.
 */
const SOURCE_READERS: Record<string, (source: Record<string, string>, param: string) => ContentPart> = {
  base64: (source, param) =>
    mediaOf(source, param) === 'application/pdf'
      ? { type: 'file', file: { file_data: `data:application/pdf;base64,${source.data}`, filename: 'document.pdf' } }
      : { type: 'image_url', image_url: { url: `data:${source.media_type};base64,${source.data}` } },
  // A remote image (a document by URL is Anthropic-only).
  url: (source) => ({ type: 'image_url', image_url: { url: source.url } }),
  text: (source) => ({ type: 'text', text: source.data }),
};

/**
 * User content only Anthropic's API reads, by block type or by block and source type, and
 * what it is. No chat part carries it: a search result or a document of content blocks is
 * cited by Anthropic alone; a Files API id names a file in the Anthropic account; no other
 * vendor takes a PDF by URL (OpenAI reads an image_url part as an image, and 400s). A request
 * with any is Anthropic-only (see toChatRequest), like one with Anthropic's own tools.
 */
const ANTHROPIC_ONLY_CONTENT = new Map([
  ['search_result', 'a search result for Anthropic to cite'],
  ['document.content', 'a document of content blocks for Anthropic to cite'],
  ['document.url', 'a document by URL for Anthropic to fetch'],
  ['document.file', "a file in Anthropic's Files API"],
  ['image.file', "a file in Anthropic's Files API"],
  ['container_upload', "a file uploaded to Anthropic's code-execution container"],
]);

/**
 * The blocks Anthropic's server tools leave in an assistant turn (@anthropic-ai/sdk's
 * ContentBlockParam): the call Anthropic's API made, and what it got back. Only that API
 * reads them back, so a history with them is Anthropic-only (see assistantMessages).
 */
const SERVER_TOOL_BLOCKS = new Set([
  'server_tool_use',
  'web_search_tool_result',
  'web_fetch_tool_result',
  'code_execution_tool_result',
  'bash_code_execution_tool_result',
  'text_editor_code_execution_tool_result',
  'tool_search_tool_result',
  'mcp_tool_use',
  'mcp_tool_result',
]);

/**
 * Assistant blocks only Anthropic's API reads back, other than server tools' (SERVER_TOOL_BLOCKS), and
 * what they are: a compaction summary (server-side compaction, `context_management`), which the client
 * must send back on every later turn. A history with one is Anthropic-only (see assistantMessages).
 */
const ANTHROPIC_ONLY_ASSISTANT_BLOCKS = new Map([['compaction', "Anthropic's summary of the earlier conversation (compaction)"]]);

/** How each role's turn becomes chat messages. A system turn inside `messages` (newer API versions) stays in place. */
const TURNS: Record<
  MessagesRequest['messages'][number]['role'],
  (blocks: AnthropicBlock[], param: string, mark: MarkNative) => ChatCompletionMessageParam[]
> = {
  user: userMessages,
  assistant: assistantMessages,
  system: (blocks, param) => [{ role: 'system', content: blocks.map((b, j) => textOnly(b, `${param}[${j}]`)).join('\n\n') }],
};

function textOnly(block: AnthropicBlock, param: string): string {
  if (block.type !== 'text') throw GatewayError.badRequest('A system turn may only contain text blocks.', `${param}.type`, 'invalid_value');
  return String(block.text ?? '');
}

/**
 * Translates a Messages API request into the gateway's chat request: system blocks
 * join into one system message, each user turn's tool_result blocks become tool
 * messages (before the rest of the turn, as OpenAI orders them), assistant tool_use
 * blocks become tool calls and signed thinking blocks travel as `thinking_blocks`, which the
 * Anthropic adapter sends back upstream with their signatures (a Gemini thought signature the
 * gateway wrapped in a thinking block goes back on its tool call instead; unsigned thinking, another
 * vendor's reasoning, as `reasoning_content`). A request with what only
 * Anthropic's API runs (its own tools, their history blocks, a container, MCP servers) or
 * reads (ANTHROPIC_ONLY_CONTENT: search results, Files API ids, documents by URL…) is
 * marked Anthropic-only in `native.only`, with the first param that needs it, rather than
 * refused. `beta`, the client's anthropic-beta header, goes along to Anthropic deployments.
 */
/** `counting`: for count_tokens, which continues nothing: a final assistant turn is counted, not a prefill (markPrefill). */
export function toChatRequest(body: MessagesRequest, beta?: string, counting = false): MessagesTranslation {
  checkParams(body, MESSAGES_PARAMS, 'The gateway');
  let only: NativeOnly | undefined;
  const mark: MarkNative = (reason, param) => void (only ??= { reason, param });
  markUnknownParams(body, mark);
  // Tools first: a request's own tools, rather than its history, are what a refusal should name.
  const tools = body.tools?.map((tool, i) => toTool(tool, i, mark));
  const toolNames = new Map(
    (body.tools ?? []).flatMap(({ name }) => (name && fittedToolName(name) !== name ? [[fittedToolName(name), name]] : [])),
  );
  if (tools)
    refuseDuplicateToolNames(
      tools.map((tool) => tool.function.name),
      (i) => `tools[${i}].name`,
    );
  if (body.container != null)
    mark(`container is an Anthropic code-execution container, which only an Anthropic deployment can use`, 'container');
  if (body.mcp_servers != null)
    mark(`mcp_servers are connected by Anthropic's MCP connector, which only an Anthropic deployment runs`, 'mcp_servers');
  markUnknownEffort(body.output_config?.effort, mark);
  const messages: ChatCompletionMessageParam[] = [];
  const system = systemText(body.system);
  if (system) messages.push({ role: 'system', content: system });
  body.messages.forEach((message, i) => {
    const param = `messages[${i}].content`;
    // Anthropic's own rule (dropping such a turn would change the conversation the model sees).
    if (message.content.length === 0 && !(message.role === 'assistant' && i === body.messages.length - 1)) {
      const why = 'all messages must have non-empty content except for the optional final assistant message';
      throw GatewayError.badRequest(`messages.${i}: ${why}`, param, 'invalid_value');
    }
    const blocks: AnthropicBlock[] = typeof message.content === 'string' ? [{ type: 'text', text: message.content }] : message.content;
    messages.push(...TURNS[message.role](blocks, param, mark));
  });
  if (!counting) markPrefill(body.messages, mark);

  const chat: ChatCompletionCreateParams = { model: body.model, messages };
  if (body.max_tokens !== undefined) chat.max_completion_tokens = body.max_tokens;
  if (body.stream) Object.assign(chat, { stream: true, stream_options: { include_usage: true } });
  if (body.stop_sequences?.length) chat.stop = body.stop_sequences;
  if (body.temperature != null) chat.temperature = body.temperature;
  if (body.top_p != null) chat.top_p = body.top_p;
  if (body.metadata?.user_id) chat.user = body.metadata.user_id;
  if (tools?.length) chat.tools = tools;
  Object.assign(chat, toolChoice(body, tools));
  const effort = reasoningEffort(body.thinking, body.output_config?.effort);
  if (effort) chat.reasoning_effort = effort;
  const format = structuredOutput(body);
  if (format?.type === 'json_schema') {
    chat.response_format = { type: 'json_schema', json_schema: { name: 'output', schema: format.schema, strict: true } };
  }
  // An empty (or blank) header names no beta: Anthropic reads it as absent, and so does the gateway.
  const headers = beta?.trim() ? { 'anthropic-beta': betaNames(beta) } : undefined;
  const searches = webSearches(body.tools);
  return {
    chat,
    native: {
      protocol: 'anthropic',
      body: { ...body },
      ...(only && { only }),
      ...(headers && { headers }),
      ...(searches > 0 && { webSearches: searches }),
      ...keyExtras(body, headers?.['anthropic-beta']),
    },
    toolNames,
  };
}

/**
 * A final assistant turn with content is a prefill: Anthropic continues its text, and the client puts
 * the answer after it (a JSON object begun with `{`, a sentence to finish). OpenAI-format models answer
 * such a turn afresh, and Google documents no continuation for a trailing `model` turn, so the client
 * would join a whole new answer onto its prefix: only an Anthropic deployment serves it (a 400 naming
 * the turn where the model has none, never a silently different answer).
 */
function markPrefill(turns: MessagesRequest['messages'], mark: MarkNative): void {
  const last = turns.at(-1);
  if (last?.role !== 'assistant') return;
  const content = last.content;
  const said = typeof content === 'string' ? content !== '' : content.some((block) => block.type !== 'text' || block.text !== '');
  if (!said) return;
  const param = `messages[${turns.length - 1}]`;
  mark(`${param} is a final assistant turn for the model to continue (a prefill), which only an Anthropic deployment does`, param);
}

/**
 * A top-level field the table does not know: Anthropic refuses such a field ("Extra inputs are not
 * permitted") unless it is one of its own newer than this table, so an Anthropic deployment, which
 * gets the body as sent, answers for it; no other deployment can take it, and dropping it could
 * change the answer unseen. So the request is Anthropic-only, and a model without an Anthropic
 * deployment answers a 400 naming the field, as Anthropic would.
 */
function markUnknownParams(body: MessagesRequest, mark: MarkNative): void {
  for (const key of Object.keys(body))
    if (!Object.hasOwn(MESSAGES_PARAMS, key))
      mark(`${key}: Extra inputs are not permitted (the gateway does not translate this field for other vendors)`, key);
}

/** Anthropic's effort levels (`output_config.effort`), as its SDK types them. */
const EFFORTS = new Set(['low', 'medium', 'high', 'xhigh', 'max']);

/**
 * An effort level the gateway does not know: Anthropic refuses a bad one in its own words and may
 * add levels, so an Anthropic deployment answers for it; another vendor would get it as
 * `reasoning_effort` (OpenAI's 400 in its words) or lose it unseen (Gemini), so a model without an
 * Anthropic deployment answers a 400 naming the field.
 */
function markUnknownEffort(effort: string | null | undefined, mark: MarkNative): void {
  if (effort != null && !EFFORTS.has(effort))
    mark(`output_config.effort: '${effort}' is none of the effort levels ${[...EFFORTS].join(', ')}`, 'output_config.effort');
}

/**
 * The structured-output format asked for: `output_config.format`, or `output_format`, its deprecated
 * name (clients other than the current SDKs send it as it is). Both, and different, is a 400: which
 * one the client meant is not known.
 */
function structuredOutput(body: MessagesRequest): OutputFormatParam | null | undefined {
  const format = body.output_config?.format;
  const legacy = body.output_format;
  if (legacy == null) return format;
  if (legacy.type !== 'json_schema' || typeof legacy.schema !== 'object' || legacy.schema === null) {
    throw GatewayError.badRequest("output_format: expected {type: 'json_schema', schema: {...}}.", 'output_format', 'invalid_value');
  }
  if (format != null && !isDeepStrictEqual(format, legacy)) {
    const why = 'output_format and output_config.format were both given, and differ: send output_config.format only.';
    throw GatewayError.badRequest(why, 'output_format', 'invalid_value');
  }
  return legacy;
}

/**
 * The `dropped` fields that cannot change the answer, left out of the cache key: Anthropic's prompt
 * caching, its service tier and region, its cache-miss diagnostics, billing, workspace and credit, and
 * the end user's profile (as metadata.user_id, which becomes the chat params' `user`).
 */
const ANSWER_NEUTRAL = new Set([
  'cache_control',
  'service_tier',
  'inference_geo',
  'diagnostics',
  'fallback_credit_token',
  'billing_policy',
  'workspace_id',
  'user_profile_id',
]);
/** The fields of a client tool that toTool carries into the chat params (and its prompt-caching mark). */
const TOOL_FIELDS_CARRIED = new Set(['type', 'name', 'description', 'input_schema', 'strict', 'cache_control']);

/**
 * What an Anthropic deployment gets that the chat params lose (NativeRequest.keyExtras), when sent: a
 * cached answer must be the one the request would get, and an Anthropic deployment is sent the body and
 * the `anthropic-beta` header as they came. So every `dropped` field that may change the answer (`top_k`,
 * `speed`, `context_management`, `compaction`, `fallbacks`), `output_config.effort` but where adaptive
 * thinking carries it as reasoning_effort (without thinking Anthropic still applies it to every token),
 * a thinking budget (several map to one reasoning effort), a client tool's other fields
 * (`input_examples`, `defer_loading`…) and the betas named, in any order.
 */
function keyExtras(body: MessagesRequest, beta: string | undefined): { keyExtras?: Record<string, unknown> } {
  const extras: Record<string, unknown> = {};
  for (const [field, rule] of Object.entries(MESSAGES_PARAMS)) {
    const value = body[field as keyof MessagesRequest];
    if (rule === 'dropped' && !ANSWER_NEUTRAL.has(field) && value != null) extras[field] = value;
  }
  if (body.thinking?.type === 'enabled') extras.thinking_budget = body.thinking.budget_tokens;
  const effort = body.output_config?.effort;
  if (effort != null && body.thinking?.type !== 'adaptive') extras.effort = effort;
  const toolFields = (body.tools ?? []).map((tool) => Object.entries(tool).filter(([field]) => !TOOL_FIELDS_CARRIED.has(field)));
  if (toolFields.some((fields) => fields.length)) extras.tool_fields = toolFields.map((fields) => Object.fromEntries(fields));
  const betas = beta?.split(',').map((name) => name.trim());
  if (betas?.length) extras.betas = [...new Set(betas)].sort();
  return Object.keys(extras).length ? { keyExtras: extras } : {};
}

/** Anthropic's web search tool, any version (web_search_20250305, web_search_20260209). */
const WEB_SEARCH_TOOL = /^web_search_\d{8}$/;
/**
 * Searches held for a web search tool without `max_uses`, which Anthropic then does not bound: a
 * hold must assume some number, and a handful keeps a key near its budget usable. The budget
 * settles on the searches Anthropic reports.
 */
const UNBOUNDED_WEB_SEARCHES = 5;

/** The most web searches Anthropic may run for the request (NativeRequest.webSearches). */
function webSearches(tools: MessagesRequest['tools']): number {
  let searches = 0;
  for (const tool of tools ?? []) {
    if (!tool.type || !WEB_SEARCH_TOOL.test(tool.type)) continue;
    const max = tool.max_uses;
    searches += typeof max === 'number' && Number.isInteger(max) && max > 0 ? max : UNBOUNDED_WEB_SEARCHES;
  }
  return searches;
}

/** Beta names as Anthropic documents them (`interleaved-thinking-2025-05-14`), comma-separated. */
const BETA_NAMES = /^[A-Za-z0-9._-]+(?: *, *[A-Za-z0-9._-]+)*$/;

/** The client's `anthropic-beta` header, sent along to Anthropic deployments as it is once it reads as beta names. */
function betaNames(value: string): string {
  if (value.length > 1024 || !BETA_NAMES.test(value)) {
    throw GatewayError.badRequest('The anthropic-beta header must be a comma-separated list of beta names.', null, 'invalid_header');
  }
  return value;
}

/** The system prompt for other vendors: its blocks joined, Claude Code's billing header block left out (withoutBillingHeader). */
function systemText(system: MessagesRequest['system']): string {
  if (system == null) return '';
  if (typeof system === 'string') return system;
  return withoutBillingHeader(system)
    .map((block) => block.text)
    .join('\n\n');
}

function userMessages(blocks: AnthropicBlock[], param: string, mark: MarkNative): ChatCompletionMessageParam[] {
  const results: ChatCompletionMessageParam[] = [];
  const parts: ContentPart[] = [];
  blocks.forEach((block, j) => {
    const at = `${param}[${j}]`;
    if (block.type !== 'tool_result') return void parts.push(...contentParts(block, at, mark));
    const content: AnthropicBlock[] =
      typeof block.content === 'string' ? [{ type: 'text', text: block.content }] : ((block.content ?? []) as AnthropicBlock[]);
    const read = content.flatMap((b, k) => toolResultParts(b, `${at}.content[${k}]`, mark));
    const { message, media } = toolResult(anthropicTables.toolUseId(String(block.tool_use_id)), read, block.is_error === true);
    results.push(message);
    parts.push(...media);
  });
  // One text block is sent as a plain string, the form every OpenAI-compatible server reads.
  if (parts.length) results.push({ role: 'user', content: parts.length === 1 && parts[0].type === 'text' ? parts[0].text : parts });
  return results;
}

/**
 * A tool_reference block (Anthropic's tool search: a search tool's result naming a `defer_loading`
 * tool, which Anthropic's API then loads) as text naming the tool. Other vendors are sent every
 * declared tool, deferred or not (toTool), so the model can call it next; an Anthropic deployment
 * gets the block as sent.
 */
function toolResultParts(block: AnthropicBlock, param: string, mark: MarkNative): ContentPart[] {
  if (block.type === 'tool_reference') return [{ type: 'text', text: `Tool loaded: ${fittedToolName(String(block.tool_name))}` }];
  return contentParts(block, param, mark);
}

function contentParts(block: AnthropicBlock, param: string, mark: MarkNative): ContentPart[] {
  if (block.type === 'text') return [{ type: 'text', text: String(block.text ?? '') }];
  if (anthropicOnly(block, param, mark)) {
    // For routing's estimate and needs: an image stays an image (vision, its flat rate; the URL is never
    // sent, only an Anthropic deployment gets the request), a PDF a file (vision), anything else its JSON as text.
    if (block.type === 'image') return [{ type: 'image_url', image_url: { url: String((block.source as { file_id?: unknown }).file_id) } }];
    const pdf = block.type === 'document' ? pdfPart((block.source ?? {}) as Record<string, unknown>) : undefined;
    return [pdf ?? { type: 'text', text: JSON.stringify(block) }];
  }
  if (block.type === 'image' || block.type === 'document') {
    const source = (block.source ?? {}) as Record<string, string>;
    const reader = SOURCE_READERS[source.type];
    if (!reader)
      throw GatewayError.badRequest(`Unsupported ${block.type} source type '${source.type}'.`, `${param}.source.type`, 'invalid_value');
    const about = block.type === 'document' ? documentAbout(block) : undefined;
    return about ? [{ type: 'text', text: about }, reader(source, param)] : [reader(source, param)];
  }
  throw GatewayError.badRequest(`Content blocks of type '${block.type}' are not supported here.`, `${param}.type`, 'invalid_value');
}

/**
 * An Anthropic-only document's PDF (cited, by URL, or a Files API id: Anthropic's document sources other than
 * text and content blocks) as a file part, for routing alone; undefined for the others. Only base64 data is sized.
 */
function pdfPart(source: Record<string, unknown>): ContentPart | undefined {
  if (source.type === 'base64') return { type: 'file', file: { file_data: `data:application/pdf;base64,${String(source.data)}` } };
  if (source.type === 'url' || source.type === 'file') return { type: 'file', file: { file_id: String(source.url ?? source.file_id) } };
  return undefined;
}

/**
 * A document's `title` and `context` (what Anthropic's model reads about the document beside it), as
 * the text before the document for other vendors, which have no such fields; undefined without either.
 */
function documentAbout(block: AnthropicBlock): string | undefined {
  const lines = [
    typeof block.title === 'string' && block.title ? `Document title: ${block.title}` : '',
    typeof block.context === 'string' && block.context ? `Document context: ${block.context}` : '',
  ].filter(Boolean);
  return lines.length ? lines.join('\n') : undefined;
}

/**
 * Marks the request Anthropic-only when the block is content only Anthropic reads (ANTHROPIC_ONLY_CONTENT,
 * or a document Anthropic is asked to cite: no other vendor returns citations), and says whether it is.
 */
function anthropicOnly(block: AnthropicBlock, param: string, mark: MarkNative): boolean {
  if (block.type === 'document' && (block.citations as { enabled?: unknown } | undefined)?.enabled === true) {
    const at = `${param}.citations`;
    mark(`${at}: a document with citations enabled is for Anthropic to cite, which only an Anthropic deployment does`, at);
    return true;
  }
  const source = String((block.source as { type?: unknown } | undefined)?.type);
  const byBlock = ANTHROPIC_ONLY_CONTENT.get(block.type);
  const what = byBlock ?? ANTHROPIC_ONLY_CONTENT.get(`${block.type}.${source}`);
  if (what === undefined) return false;
  const at = byBlock ? `${param}.type` : `${param}.source.type`;
  mark(`${at} '${byBlock ? block.type : source}' is ${what}, which only an Anthropic deployment reads`, at);
  return true;
}

function assistantMessages(blocks: AnthropicBlock[], param: string, mark: MarkNative): ChatCompletionMessageParam[] {
  const texts: string[] = [];
  const toolCalls: ToolCall[] = [];
  const thinking: AnthropicBlock[] = [];
  /** Gemini thought signatures the turn's thinking blocks carry (see response.ts), by tool call id. */
  const signatures = new Map<string, string>();
  let reasoning = '';
  blocks.forEach((block, j) => {
    if (block.type === 'text') texts.push(String(block.text ?? ''));
    else if (SERVER_TOOL_BLOCKS.has(block.type)) {
      mark(
        `${param}[${j}].type '${block.type}' is a block Anthropic's server tools leave, which only an Anthropic deployment reads`,
        `${param}[${j}].type`,
      );
      // Its JSON as text, not a tool call: Anthropic ran it, so no tool message answers it, and a call
      // without one is no valid chat history. The text's size stands in for the tokens Anthropic counts.
      texts.push(JSON.stringify(block));
    } else if (ANTHROPIC_ONLY_ASSISTANT_BLOCKS.has(block.type)) {
      const at = `${param}[${j}].type`;
      mark(`${at} '${block.type}' is ${ANTHROPIC_ONLY_ASSISTANT_BLOCKS.get(block.type)}, which only an Anthropic deployment reads`, at);
      texts.push(JSON.stringify(block));
    } else if (block.type === 'tool_use') {
      const id = anthropicTables.toolUseId(String(block.id));
      const name = fittedToolName(String(block.name));
      toolCalls.push({ id, type: 'function', function: { name, arguments: JSON.stringify(block.input ?? {}) } });
    } else if (block.type === 'redacted_thinking' || block.type === 'thinking') {
      const signed = geminiSignatures.callSignatureOf(block);
      if (signed) signatures.set(anthropicTables.toolUseId(signed.callId), signed.signature);
      else if (anthropicTables.isSignedThinking(block)) thinking.push(block);
      // Unsigned thinking is another vendor's reasoning text (see response.ts): back as reasoning_content, the
      // field it came in, which DeepSeek and Kimi require on a turn with tool calls (only OpenAI-format upstreams read it).
      else if (block.type === 'thinking') reasoning += String(block.thinking ?? '');
    } else
      throw GatewayError.badRequest(
        `Assistant content blocks of type '${block.type}' are not supported here.`,
        `${param}[${j}].type`,
        'invalid_value',
      );
  });
  const content = assistantTextContent(texts);
  const message = { role: 'assistant' as const, content: content || (toolCalls.length ? null : '') };
  const calls = toolCalls.map((call) => {
    const signature = signatures.get(call.id);
    return signature ? { ...call, ...geminiSignatures.signedCall(signature) } : call;
  });
  return [
    {
      ...message,
      ...(calls.length ? { tool_calls: calls } : {}),
      ...(thinking.length ? { thinking_blocks: thinking } : {}),
      ...(reasoning ? { reasoning_content: reasoning } : {}),
    } as ChatCompletionMessageParam,
  ];
}

function toTool(
  tool: NonNullable<MessagesRequest['tools']>[number],
  i: number,
  mark: MarkNative,
): Extract<NonNullable<ChatCompletionCreateParams['tools']>[number], { type: 'function' }> {
  if (tool.type !== undefined && tool.type !== 'custom') {
    mark(`tools[${i}].type '${tool.type}' is a tool Anthropic defines, which only an Anthropic deployment can serve`, `tools[${i}].type`);
    // Anthropic's own tool (a server tool it runs, or a client tool whose input it defines): in the chat
    // params, a function of that name taking any object. Only routing (size, needs) and a tool_choice
    // naming it read this; the Anthropic deployment gets the tool as the client declared it.
    return { type: 'function', function: { name: tool.name ?? tool.type, parameters: { type: 'object' } } };
  }
  return {
    type: 'function',
    function: {
      name: fittedToolName(String(tool.name)),
      ...(tool.description ? { description: tool.description } : {}),
      parameters: tool.input_schema,
      ...(tool.strict ? { strict: true } : {}),
    },
  };
}

/**
 * The chat tool_choice. One that demands a call (`any`, a named tool) with no tools, or names a tool not in
 * `tools`, is refused here, before routing, whatever the deployment (Anthropic refuses both; dropped or
 * narrowed to nothing, Gemini and OpenAI-format deployments answered in text or called another tool); any
 * other choice without tools goes as none was made. `tools`: the request's tools in the chat params.
 */
function toolChoice(
  body: MessagesRequest,
  tools: ChatCompletionCreateParams['tools'],
): Pick<ChatCompletionCreateParams, 'tool_choice' | 'parallel_tool_calls'> {
  const choice = body.tool_choice;
  if (!choice) return {};
  const single = 'disable_parallel_tool_use' in choice && choice.disable_parallel_tool_use ? { parallel_tool_calls: false } : {};
  const chatChoice: ChatCompletionToolChoiceOption =
    choice.type === 'tool' ? { type: 'function', function: { name: fittedToolName(choice.name) } } : TOOL_MODES[choice.type];
  refuseToolChoiceWithoutTools(chatChoice, body.tools, ANTHROPIC_NO_TOOLS);
  refuseAbsentChosenTools(chatChoice, tools);
  return body.tools?.length ? { tool_choice: chatChoice, ...single } : {};
}

/** Anthropic's own words for a tool_choice sent without tools. */
const ANTHROPIC_NO_TOOLS = 'tool_choice may only be specified while providing tools.';

type Effort = NonNullable<ChatCompletionCreateParams['reasoning_effort']>;

/**
 * Thinking as a reasoning effort: adaptive thinking carries Anthropic's effort level
 * (the same names), a thinking budget the largest effort whose budget fits in it.
 */
function reasoningEffort(thinking: ThinkingParam | undefined, effort: string | null | undefined): Effort | undefined {
  if (!thinking || thinking.type === 'disabled') return undefined;
  if (thinking.type === 'adaptive') return (effort ?? 'high') as Effort;
  if (thinking.type === 'enabled') {
    const fits = Object.entries(anthropicTables.THINKING_BUDGET).filter(([, budget]) => budget <= thinking.budget_tokens);
    return (fits.at(-1)?.[0] ?? 'minimal') as Effort;
  }
  throw GatewayError.badRequest(
    `Thinking of type '${(thinking as { type: string }).type}' is not supported.`,
    'thinking.type',
    'invalid_value',
  );
}
