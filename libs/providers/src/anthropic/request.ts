import { createHash } from 'node:crypto';
import type Anthropic from '@anthropic-ai/sdk';
import type { DeploymentConfig } from '@gateway/config';
import { GatewayError } from '../gateway-error';
import { type MediaPart, type MediaRules, partsOf, textsOf } from '../translation/content';
import {
  checkParams,
  COMMON_PARAMS,
  type Effort,
  maxTokensOf,
  moreThanOne,
  outputFormat,
  type ParamTable,
  refuse,
  stopSequences,
  thinkingBudget,
} from '../translation/params';
import { type AssistantMessage, functionCalls, parseArguments, planTools, type ToolMode, type ToolPlan } from '../translation/tools';
import { toTurns } from '../translation/turns';
import type { ChatCompletionCreateParams, ChatCompletionMessageParam } from '../wire';
import { contextFor, mergedAllOf } from '../translation/schema-reading';
import { isGatewaySignature } from '../gemini/signatures';
import { SchemaBudget } from '../schema-budget';

type Body = Anthropic.MessageCreateParamsNonStreaming;
type Block = Anthropic.ContentBlockParam;

const VENDOR = 'Anthropic';

/** `max_tokens` is required by Anthropic; used when neither the client nor the deployment sets it. */
export const DEFAULT_MAX_TOKENS = 8192;

/**
 * Every OpenAI parameter and what becomes of it. API version 2026-10-21 (sent by
 * @anthropic-ai/sdk 1.x) answers 400 to temperature, top_p and top_k even at their
 * defaults, so the sampling hints are dropped rather than breaking every client that sets them.
 */
export const ANTHROPIC_PARAMS = {
  ...COMMON_PARAMS,
  temperature: 'dropped',
  top_p: 'dropped',
  frequency_penalty: 'dropped',
  presence_penalty: 'dropped',
  seed: 'dropped',
  n: refuse(moreThanOne, 'returns one choice per request; n > 1 is not supported.'),
  // Mapped (stop_sequences). Anthropic refuses a stop sequence of whitespace only ("\n" is a common one);
  // left out, the answer would run on past where the client meant it to stop, so it is refused by name.
  stop: refuse(
    (v) => (Array.isArray(v) ? v : [v]).some((s) => typeof s === 'string' && s !== '' && !s.trim()),
    'does not take a stop sequence of whitespace only (stop).',
  ),
  user: 'mapped',
  safety_identifier: 'mapped',
} satisfies ParamTable;

const MEDIA: MediaRules = { vendor: VENDOR, accepted: new Set(['image/jpeg', 'image/png', 'image/gif', 'image/webp', 'application/pdf']) };

export const TOOL_CHOICE: Record<ToolMode, Anthropic.ToolChoice['type']> = { auto: 'auto', none: 'none', required: 'any' };

export const EFFORT: Record<Effort, NonNullable<Anthropic.OutputConfig['effort']>> = {
  minimal: 'low',
  low: 'low',
  medium: 'medium',
  high: 'high',
  xhigh: 'xhigh',
  max: 'max',
};

/** Claude has no JSON mode without a schema; json_object is asked for in the system prompt. */
export const JSON_OBJECT_INSTRUCTION = 'Respond with a single valid JSON object and nothing else: no prose, no code fences.';

/**
 * Translates an OpenAI chat request into a Messages API request (without `stream`). `kept`: signed
 * thinking the gateway kept for tool turns the client sent back without it (kept-thinking.ts).
 */
export function toMessagesRequest(
  request: ChatCompletionCreateParams,
  model: string,
  deployment: DeploymentConfig,
  kept?: KeptThinking,
): Body {
  checkParams(request, ANTHROPIC_PARAMS, VENDOR);
  const { system, messages } = toMessages(request.messages, kept);
  const maxTokens = maxTokensOf(request) ?? deployment.maxOutputTokens ?? DEFAULT_MAX_TOKENS;
  const body: Body = { model, max_tokens: maxTokens, messages };

  const format = outputFormat(request);
  if (format.kind === 'json_object') system.push({ type: 'text', text: JSON_OBJECT_INSTRUCTION });
  if (system.length) body.system = system;
  const stop = stopSequences(request);
  if (stop) body.stop_sequences = stop;
  const user = request.safety_identifier ?? request.user;
  if (user) body.metadata = { user_id: user };

  const tools = planTools(request);
  if (tools.tools.length) body.tools = tools.tools.map(toTool);
  else declareHistoryTools(body);
  const toolChoice = toToolChoice(tools);
  if (toolChoice) body.tool_choice = toolChoice;

  const outputConfig: Anthropic.OutputConfig = {};
  if (format.kind === 'json_schema') outputConfig.format = { type: 'json_schema', schema: format.schema };
  const effort = request.reasoning_effort;
  if (effort && effort !== 'none') {
    if (deployment.thinking === 'budget') {
      // Below Anthropic's minimum once the answer has its share: no thinking, rather than a useless one or a 400.
      const budget = thinkingBudget(effort, maxTokens, ANTHROPIC_MIN_BUDGET);
      if (budget) body.thinking = { type: 'enabled', budget_tokens: budget, display: 'summarized' };
    } else {
      body.thinking = { type: 'adaptive', display: 'summarized' };
      outputConfig.effort = EFFORT[effort];
    }
  }
  if (outputConfig.format || outputConfig.effort) body.output_config = outputConfig;
  return body;
}

/**
 * A Messages API body from an Anthropic client, for this deployment: the upstream
 * model id, and without the sampling parameters ANTHROPIC_PARAMS drops for the same
 * reason (API version 2026-10-21 refuses them). `stream` is the adapter's to set.
 */
export function nativeMessagesRequest(native: Record<string, unknown>, model: string): Body {
  const { temperature: _t, top_p: _p, top_k: _k, stream: _s, ...body } = native;
  return { ...body, messages: withoutUnsignedThinking(body.messages as Turn[]), model } as unknown as Body;
}

/** A block and a turn as the client sent them (the ingress's JSON schema has checked their shape). */
type ClientBlock = { type: string } & Record<string, unknown>;
type Turn = { role: string; content: string | ClientBlock[] };

/**
 * Whether Anthropic can check a thinking block sent back to it: a thinking block's signature,
 * a redacted one's encrypted data. The Messages API answers another vendor's reasoning as
 * thinking with an empty signature (apps/gateway/src/messages/response.ts), and a Gemini tool
 * call's thought signature as thinking signed by the gateway (gemini/signatures.ts); Claude Code
 * sends them back next turn, and Anthropic refuses the whole request for either (400 "Invalid
 * `signature` in `thinking` block", which does not fail over), so they are left out.
 */
export function isSignedThinking(block: { type: string; data?: unknown; signature?: unknown }): boolean {
  const proof = block.type === 'redacted_thinking' ? block.data : block.signature;
  return typeof proof === 'string' && proof !== '' && !isGatewaySignature(proof);
}

const isUnsignedThinking = (block: ClientBlock) =>
  (block.type === 'thinking' || block.type === 'redacted_thinking') && !isSignedThinking(block);

const hasUnsignedThinking = (turn: Turn) => typeof turn.content !== 'string' && turn.content.some(isUnsignedThinking);

/** The client's turns without thinking Anthropic cannot check (see isSignedThinking); the same array when there is none. */
function withoutUnsignedThinking(messages: Turn[]): Turn[] {
  if (!messages.some(hasUnsignedThinking)) return messages;
  return messages.map((turn) =>
    hasUnsignedThinking(turn) ? { ...turn, content: (turn.content as ClientBlock[]).filter((b) => !isUnsignedThinking(b)) } : turn,
  );
}

/**
 * The fields of a Messages API body that count_tokens takes: every body field of the API's count_tokens,
 * its beta ones included (the SDKs' BetaMessageCountTokensParams): a count of a body using the MCP
 * connector without its `mcp_servers` is refused (a tool names a server not sent), one with
 * `context_management` counts as Anthropic would not. The rest of a Messages body (`max_tokens`,
 * `stream`, `metadata`, `stop_sequences`…) is not sent: count_tokens refuses any field it does not
 * define ("Extra inputs are not permitted"), and the gateway's own (`thread`) is no field of Anthropic's.
 */
const COUNT_TOKENS_FIELDS = [
  'messages',
  'system',
  'tools',
  'tool_choice',
  'thinking',
  'output_config',
  'cache_control',
  'speed',
  'mcp_servers',
  'context_management',
  'compaction',
  'output_format',
  'billing_policy',
];

/** A count_tokens body from a Messages API body (the client's own, or the translation). */
export function countTokensRequest(body: object, model: string): Anthropic.MessageCountTokensParams {
  const fields = Object.entries(body).filter(([key]) => COUNT_TOKENS_FIELDS.includes(key));
  return { ...Object.fromEntries(fields), model } as Anthropic.MessageCountTokensParams;
}

/**
 * A request that sends no tools while its history holds tool calls (a "summarise the chat" or follow-up
 * step with tools unbound, which OpenAI answers) declares the tools the history calls, each taking any
 * object, with `tool_choice: none`: Anthropic refuses tool_use / tool_result blocks without `tools` (a 400,
 * so no failover either). Declaring them, rather than writing the calls and results out as text, keeps the
 * history as the model wrote it (its thinking signatures stay valid, it does not learn to answer in a
 * made-up call syntax), and `none` keeps the model from calling them, as OpenAI does with no tools.
 */
function declareHistoryTools(body: Body): void {
  const names = new Set<string>();
  for (const turn of body.messages) {
    if (turn.role !== 'assistant' || typeof turn.content === 'string') continue;
    for (const block of turn.content) if (block.type === 'tool_use') names.add(block.name);
  }
  if (!names.size) return;
  body.tools = [...names].map((name) => ({ name, input_schema: { type: 'object' } }));
  body.tool_choice = { type: 'none' };
}

/** Anthropic's smallest `budget_tokens`. */
const ANTHROPIC_MIN_BUDGET = 1024;

/** System and developer messages become the top-level `system`; turns keep their sides (see toTurns). */
export function toMessages(
  input: ChatCompletionMessageParam[],
  kept?: KeptThinking,
): {
  system: Anthropic.TextBlockParam[];
  messages: Anthropic.MessageParam[];
} {
  const ids = conversationIds();
  const { system, turns } = toTurns<Block>(input, VENDOR, {
    user: (message, param) => partsOf(message, param, MEDIA).flatMap(toBlock),
    assistant: (message, param) => assistantBlocks(message, param, ids),
    tool: (message, param) => [
      { type: 'tool_result', tool_use_id: ids.result(message.tool_call_id), content: toolResultContent(textsOf(message, param)) },
    ],
  });
  return {
    system: system.map((text) => ({ type: 'text', text })),
    messages: turns.map(({ side, blocks }) => ({ role: side, content: side === 'assistant' ? withKeptThinking(blocks, kept) : blocks })),
  };
}

/**
 * An assistant turn with the signed thinking the gateway kept for it, when the client sent none
 * back: put once at its start, where Anthropic wants it. Kept under the first call of the answer
 * it came with (kept-thinking.ts), it is found by any call of the turn, which is every assistant
 * message in a row: a client may send parallel calls back in another order, or one a message.
 * Anthropic's tool_use ids are valid as they are, so each block's id is the call id it was kept under.
 */
function withKeptThinking(blocks: Block[], kept: KeptThinking | undefined): Block[] {
  if (!kept?.size || blocks.some(isSignedThinking)) return blocks;
  for (const block of blocks) {
    const recalled = block.type === 'tool_use' ? kept.get(block.id) : undefined;
    if (Array.isArray(recalled)) return [...(recalled as Block[]), ...blocks];
  }
  return blocks;
}

/** A tool's text as a string, or its parts as text blocks (kept apart, not run together; blank ones left out, see toBlock). */
function toolResultContent(texts: string[]): Anthropic.ToolResultBlockParam['content'] {
  if (texts.length <= 1) return texts[0] ?? '';
  return texts.filter((text) => text.trim()).map((text) => ({ type: 'text', text }));
}

/** Signed thinking blocks kept by the gateway, by the first call id of the answer they came with (kept-thinking.ts). */
export type KeptThinking = ReadonlyMap<string, unknown>;

/** The thinking blocks an assistant message carries back: the gateway's own `thinking_blocks`, no OpenAI field. */
export function echoedThinking(message: AssistantMessage): Block[] {
  return ((message as { thinking_blocks?: unknown }).thinking_blocks ?? []) as Block[];
}

/**
 * Thinking blocks come first, as Anthropic requires, then text, then tool calls. The thinking is
 * the client's; the turn's kept thinking is added once the turn is whole (withKeptThinking).
 */
function assistantBlocks(message: AssistantMessage, param: string, ids: ConversationIds): Block[] {
  const blocks: Block[] = [...echoedThinking(message), ...partsOf(message, param).flatMap(toBlock)];
  functionCalls(message, param).forEach((call, j) => {
    blocks.push({
      type: 'tool_use',
      id: ids.call(call.id),
      name: call.function.name,
      input: parseArguments(call.function.arguments, `${param}.tool_calls[${j}].function.arguments`),
    });
  });
  return blocks;
}

/** Text of whitespace only is left out: Anthropic refuses such a block (OpenAI clients echo them, e.g. beside tool calls). */
function toBlock(part: MediaPart): Block[] {
  if (part.kind === 'text') return part.text.trim() ? [{ type: 'text', text: part.text }] : [];
  const isPdf = part.mediaType === 'application/pdf';
  if (part.kind === 'url')
    return [
      isPdf ? { type: 'document', source: { type: 'url', url: part.url } } : { type: 'image', source: { type: 'url', url: part.url } },
    ];
  if (isPdf) return [{ type: 'document', source: { type: 'base64', media_type: 'application/pdf', data: part.data } }];
  const mediaType = part.mediaType as Anthropic.Base64ImageSource['media_type'];
  return [{ type: 'image', source: { type: 'base64', media_type: mediaType, data: part.data } }];
}

type ConversationIds = ReturnType<typeof conversationIds>;

/**
 * A conversation's tool ids for Anthropic (toolUseId), an empty one (an upstream that gave its calls none) by its
 * place: the k-th call with an empty id and the k-th result for one get the same id, unique in the conversation.
 * One id for them all was refused ("tool_use ids must be unique") and lost which result answered which call.
 */
function conversationIds() {
  let calls = 0;
  let results = 0;
  return {
    call: (id: string) => toolUseId(id === '' ? `\0${calls++}` : id),
    result: (id: string) => toolUseId(id === '' ? `\0${results++}` : id),
  };
}

/**
 * Anthropic ids allow only [A-Za-z0-9_-], at least one; ids from other vendors are mapped the same way on both
 * sides (the call and its result). A mapped id carries a hash of the original, so two ids that
 * differ only in the replaced characters ("call.1", "call:1") stay two calls; a valid id is kept. An empty id
 * (an OpenAI-format upstream's) is mapped too: Anthropic refuses it.
 */
export function toolUseId(id: string): string {
  const valid = id.replace(/[^A-Za-z0-9_-]/g, '_');
  return valid === id && id !== '' ? id : `${valid}_${createHash('sha256').update(id).digest('base64url').slice(0, 12)}`;
}

function toTool(tool: ToolPlan['tools'][number], i: number): Anthropic.Tool {
  const schema = withTopLevelAllOfMerged(tool.parameters ?? {}, `tools[${i}].function.parameters`);
  if (schema.type !== undefined && schema.type !== 'object') {
    throw GatewayError.badRequest(`Function '${tool.name}' parameters must be a JSON schema of type object.`, 'tools', 'invalid_value');
  }
  return {
    name: tool.name,
    ...(tool.description ? { description: tool.description } : {}),
    input_schema: { type: 'object', ...schema } as Anthropic.Tool.InputSchema,
    ...(tool.strict ? { strict: true } : {}),
  };
}

/**
 * Parameters with a top-level `allOf` (an intersection, as zod's `.and()` and TypeBox's `Intersect` write it) as one
 * object, merged as for Gemini (translation/schema-reading.ts): Anthropic refuses `oneOf`, `allOf` or `anyOf` at the top of an
 * `input_schema`. Below the top, and a top-level `anyOf` / `oneOf` (a choice, not one object), go as sent.
 */
function withTopLevelAllOfMerged(schema: Record<string, unknown>, param: string): Record<string, unknown> {
  if (!Array.isArray(schema.allOf)) return schema;
  return mergedAllOf(schema, contextFor(schema, param, new SchemaBudget()), undefined).merged;
}

/** `parallel_tool_calls: false` is Anthropic's `disable_parallel_tool_use`, carried on the choice. */
export function toToolChoice(plan: ToolPlan): Anthropic.ToolChoice | undefined {
  if (!plan.tools.length) return undefined;
  const single = plan.parallel ? {} : { disable_parallel_tool_use: true };
  if (plan.forced) return { type: 'tool', name: plan.forced, ...single };
  const type = plan.mode ? TOOL_CHOICE[plan.mode] : plan.parallel ? undefined : 'auto';
  if (!type) return undefined;
  return type === 'none' ? { type } : ({ type, ...single } as Anthropic.ToolChoice);
}
