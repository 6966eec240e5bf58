/**
 * JSON schema of POST /v1/responses, compiled at build time like the chat schema. It
 * checks the shapes the codec relies on and OpenAI's documented ranges; which values
 * the gateway can honour is request.ts's parameter table (a 400 naming the parameter).
 */
import type { ResponseIncludable, ServiceTier } from 'openai/resources/responses/responses';
import { MAX_COMPLETION_TOKENS, MAX_TOOLS } from '../chat/chat.schema';
import { when } from '../http/schema-rules';

/**
 * The values OpenAI documents for `include` and `service_tier` (the SDK's ResponseIncludable and
 * ServiceTier): another is a 400 naming the field, as on OpenAI, not a value forwarded (service_tier)
 * or ignored (include). Which ones the gateway honours is request.ts's business.
 */
export const INCLUDABLE = [
  'file_search_call.results',
  'web_search_call.results',
  'web_search_call.action.sources',
  'message.input_image.image_url',
  'computer_call_output.output.image_url',
  'code_interpreter_call.outputs',
  'reasoning.encrypted_content',
  'message.output_text.logprobs',
] as const satisfies readonly ResponseIncludable[];
const SERVICE_TIERS = ['auto', 'default', 'flex', 'scale', 'priority', 'fast', 'ultrafast', null] as const satisfies readonly ServiceTier[];

const text = { type: 'string' } as const;
const nullableText = { type: ['string', 'null'] } as const;

const part = {
  type: 'object',
  required: ['type'],
  properties: { type: text, text, image_url: nullableText, file_data: nullableText, refusal: text },
};
// One type list rather than anyOf, so a bad part is reported as itself.
const content = { type: ['string', 'array'], maxItems: 1000, items: part } as const;
const texts = { type: 'array', maxItems: 1000, items: { type: 'object', properties: { text } } } as const;
const message = { required: ['role', 'content'], properties: { role: text, content } };
const itemReference = { required: ['id'], properties: { id: text } };

const toolName = { type: 'string', pattern: '^[a-zA-Z0-9_-]{1,64}$' } as const;
const functionTool = { required: ['type', 'name'], properties: { name: toolName } };
/** Free-text input, or text a grammar (Lark or a regex) defines. */
const customTool = {
  required: ['type', 'name'],
  properties: {
    name: toolName,
    description: text,
    format: {
      type: 'object',
      required: ['type'],
      properties: { type: { enum: ['text', 'grammar'] } },
      allOf: [
        when('grammar', {
          required: ['type', 'syntax', 'definition'],
          properties: { syntax: { enum: ['lark', 'regex'] }, definition: text },
        }),
      ],
    },
  },
};
const tool = {
  type: 'object',
  required: ['type'],
  properties: { type: text },
  allOf: [
    when('function', functionTool),
    when('custom', customTool),
    when('namespace', {
      required: ['type', 'name', 'tools'],
      properties: {
        name: text,
        tools: {
          type: 'array',
          maxItems: MAX_TOOLS,
          items: {
            type: 'object',
            required: ['type'],
            properties: { type: text, name: text },
            allOf: [when('function', functionTool), when('custom', customTool)],
          },
        },
      },
    }),
    when('tool_search', {
      properties: { execution: { enum: ['server', 'client'] }, description: nullableText, parameters: { type: ['object', 'null'] } },
    }),
  ],
} as const;

const toolOutput = { required: ['call_id', 'output'], properties: { call_id: text, output: content } };

/**
 * Input items: the fields each type the codec translates must have (the default type is a message).
 * A field OpenAI documents as nullable takes null (an item_reference's `type` among them).
 */
const item = {
  type: 'object',
  properties: { type: nullableText },
  allOf: [
    { if: { not: { required: ['type'] } }, then: message },
    when('message', message),
    when('function_call', {
      required: ['call_id', 'name', 'arguments'],
      properties: { call_id: text, name: text, arguments: text, namespace: nullableText },
    }),
    when('custom_tool_call', {
      required: ['call_id', 'name', 'input'],
      properties: { call_id: text, name: text, input: text, namespace: nullableText },
    }),
    // A client-executed search's call and output (tool-search.ts) carry its call id; OpenAI's hosted one's do not.
    when('tool_search_call', { required: ['call_id', 'arguments'], properties: { call_id: text } }),
    when('function_call_output', toolOutput),
    when('custom_tool_call_output', toolOutput),
    when('tool_search_output', {
      required: ['call_id', 'tools'],
      properties: { call_id: text, tools: { type: 'array', maxItems: MAX_TOOLS, items: tool } },
    }),
    // Codex sends `content: null` back on every reasoning item (OpenAI takes it; its spec says an array).
    when('reasoning', { properties: { summary: texts, content: { ...texts, type: ['array', 'null'] }, encrypted_content: nullableText } }),
    when('item_reference', itemReference),
    when(null, itemReference),
  ],
} as const;

/** A tool_choice that forces the tool it names. */
const namedChoice = { required: ['type', 'name'], properties: { name: text } };
const toolChoice = {
  type: ['string', 'object'],
  if: { type: 'string' },
  then: { enum: ['none', 'auto', 'required'] },
  else: {
    required: ['type'],
    properties: { type: text },
    allOf: [
      when('function', namedChoice),
      when('custom', namedChoice),
      when('allowed_tools', {
        required: ['type', 'mode', 'tools'],
        properties: {
          mode: { enum: ['auto', 'required'] },
          tools: {
            type: 'array',
            maxItems: MAX_TOOLS,
            items: { type: 'object', required: ['type'], properties: { type: text, name: text } },
          },
        },
      }),
    ],
  },
} as const;

export const createResponseSchema = {
  type: 'object',
  required: ['model'],
  properties: {
    model: { type: 'string', minLength: 1 },
    input: { type: ['string', 'array'], maxItems: 10_000, items: item },
    instructions: nullableText,
    // An empty id is no conversation to continue: refused, not read as none.
    previous_response_id: { type: ['string', 'null'], minLength: 1 },
    store: { type: ['boolean', 'null'] },
    stream: { type: ['boolean', 'null'] },
    temperature: { type: ['number', 'null'], minimum: 0, maximum: 2 },
    top_p: { type: ['number', 'null'], minimum: 0, maximum: 1 },
    max_output_tokens: { type: ['integer', 'null'], minimum: 1, maximum: MAX_COMPLETION_TOKENS },
    parallel_tool_calls: { type: ['boolean', 'null'] },
    // OpenAI's limits: 16 pairs, keys up to 64 characters, values up to 512.
    metadata: {
      type: ['object', 'null'],
      maxProperties: 16,
      propertyNames: { maxLength: 64 },
      additionalProperties: { type: 'string', maxLength: 512 },
    },
    user: text,
    include: { type: ['array', 'null'], maxItems: 64, items: { enum: INCLUDABLE } },
    truncation: { enum: ['auto', 'disabled', null] },
    service_tier: { enum: SERVICE_TIERS },
    tools: { type: 'array', maxItems: MAX_TOOLS, items: tool },
    tool_choice: toolChoice,
    text: {
      type: 'object',
      properties: {
        format: {
          type: 'object',
          required: ['type'],
          properties: { type: { enum: ['text', 'json_object', 'json_schema'] } },
          allOf: [
            when('json_schema', {
              required: ['type', 'name', 'schema'],
              properties: { name: text, schema: { type: 'object' }, strict: { type: ['boolean', 'null'] } },
            }),
          ],
        },
        verbosity: { enum: ['low', 'medium', 'high', null] },
      },
    },
    reasoning: {
      type: ['object', 'null'],
      properties: {
        effort: { enum: ['none', 'minimal', 'low', 'medium', 'high', 'xhigh', 'max', null] },
        summary: { enum: ['auto', 'concise', 'detailed', null] },
      },
    },
  },
} as const;
