/**
 * JSON schemas of POST /v1/messages and /v1/messages/count_tokens, compiled at build
 * time like the chat schema: what the codec relies on and the documented
 * ranges. A failure is a 400 in Anthropic's shape (http/error-shapes.ts).
 */
import { MAX_COMPLETION_TOKENS, MAX_TOOLS } from '../chat/chat.schema';
import { when } from '../http/schema-rules';

const string = { type: 'string' } as const;

const source = {
  type: 'object',
  required: ['type'],
  properties: { type: string, media_type: string, data: string, url: string },
} as const;

/**
 * The fields the codec reads, per block type. Other block types are refused by the codec with
 * a 400, but for what only Anthropic reads: the blocks its server tools leave, search results (request.ts).
 */
const leafRules = [
  when('text', { required: ['text'], properties: { text: string } }),
  when('image', { required: ['source'], properties: { source } }),
  when('document', { required: ['source'], properties: { source } }),
  when('tool_use', { required: ['id', 'name'], properties: { id: string, name: string, input: { type: 'object' } } }),
  when('thinking', { required: ['thinking'], properties: { thinking: string, signature: string } }),
  when('redacted_thinking', { required: ['data'], properties: { data: string } }),
  when('tool_reference', { required: ['tool_name'], properties: { tool_name: string } }),
];

const leaf = { type: 'object', required: ['type'], properties: { type: string }, allOf: leafRules } as const;

const block = {
  ...leaf,
  allOf: [
    ...leafRules,
    when('tool_result', {
      required: ['tool_use_id'],
      properties: {
        tool_use_id: string,
        content: { anyOf: [string, { type: 'array', maxItems: 1000, items: leaf }] },
        is_error: { type: 'boolean' },
      },
    }),
  ],
} as const;

const message = {
  type: 'object',
  required: ['role', 'content'],
  properties: {
    role: { enum: ['user', 'assistant', 'system'] },
    content: { anyOf: [{ type: 'string' }, { type: 'array', maxItems: 10_000, items: block }] },
  },
} as const;

const tool = {
  type: 'object',
  properties: {
    type: { type: 'string' },
    name: { type: 'string', pattern: '^[a-zA-Z0-9_-]{1,128}$' },
    description: { type: 'string' },
    // Anthropic takes only object schemas here: a tool's input is always a JSON object.
    input_schema: { type: 'object', required: ['type'], properties: { type: { const: 'object' } } },
  },
  // A client tool (no type, or `custom`) must say what it is called and what input it takes. Anthropic's
  // own tools (a dated type, as web_search_20250305) have fixed names and inputs, and its toolsets no name.
  if: { properties: { type: { const: 'custom' } } },
  then: { required: ['name', 'input_schema'] },
} as const;

const prompt = {
  model: { type: 'string', minLength: 1 },
  messages: { type: 'array', minItems: 1, maxItems: 100_000, items: message },
  system: {
    anyOf: [
      { type: 'string' },
      {
        type: 'array',
        items: { type: 'object', required: ['type', 'text'], properties: { type: { const: 'text' }, text: { type: 'string' } } },
      },
    ],
  },
  tools: { type: 'array', maxItems: MAX_TOOLS, items: tool },
  tool_choice: {
    type: 'object',
    required: ['type'],
    properties: {
      type: { enum: ['auto', 'any', 'tool', 'none'] },
      name: { type: 'string' },
      disable_parallel_tool_use: { type: 'boolean' },
    },
    if: { properties: { type: { const: 'tool' } } },
    then: { required: ['type', 'name'] },
  },
  thinking: {
    type: 'object',
    required: ['type'],
    properties: { type: { enum: ['enabled', 'adaptive', 'disabled'] }, budget_tokens: { type: 'integer', minimum: 1024 } },
    if: { properties: { type: { const: 'enabled' } } },
    then: { required: ['type', 'budget_tokens'] },
  },
} as const;

/** Message threads (threads/threads.ts): create, or continue from a response's id. */
const thread = {
  type: ['object', 'null'],
  required: ['type'],
  properties: { type: { enum: ['create', 'continue'] }, previous_message_id: { type: 'string', minLength: 1, maxLength: 256 } },
  if: { properties: { type: { const: 'continue' } } },
  then: { required: ['type', 'previous_message_id'] },
} as const;

/** With `messages: { minItems: 0 }`: a thread's continue may send no message, as it resumes a paused turn (stop_reason pause_turn) as it is. */
const threadMessages = {
  if: { required: ['thread'], properties: { thread: { type: 'object', required: ['type'], properties: { type: { const: 'continue' } } } } },
  else: { properties: { messages: { type: 'array', minItems: 1 } } },
} as const;

/** A count of a thread's continue counts the request it stands for (MessageThreads.counted). */
export const countTokensSchema = {
  type: 'object',
  required: ['model', 'messages'],
  ...threadMessages,
  properties: { ...prompt, messages: { ...prompt.messages, minItems: 0 }, thread },
} as const;

export const messagesSchema = {
  type: 'object',
  required: ['model', 'messages', 'max_tokens'],
  ...threadMessages,
  properties: {
    ...prompt,
    messages: { ...prompt.messages, minItems: 0 },
    max_tokens: { type: 'integer', minimum: 1, maximum: MAX_COMPLETION_TOKENS },
    stream: { type: 'boolean' },
    // Capped like this schema's other lists, far above real use (Anthropic's reference states no cap;
    // OpenAI-format upstreams take 4 and Gemini 5, and refuse more themselves).
    stop_sequences: { type: 'array', maxItems: 1000, items: { type: 'string' } },
    temperature: { type: 'number', minimum: 0, maximum: 1 },
    top_p: { type: 'number', minimum: 0, maximum: 1 },
    top_k: { type: 'integer', minimum: 0 },
    metadata: { type: 'object', properties: { user_id: { type: ['string', 'null'] } } },
    thread,
  },
} as const;
