/**
 * JSON schema of POST /v1/chat/completions, compiled by Ajv at build time
 * (http/request-validation.ts). It checks what the gateway relies on and OpenAI's
 * documented ranges; parameters it does not name pass through to OpenAI-format
 * upstreams untouched.
 * (class-validator is used for config and admin DTOs; on this hot path a compiled
 * schema costs a fraction of it; see BENCHMARKS.md.)
 *
 * Every number has a range and every list a length cap (README, "Request limits"),
 * so nothing a caller sends can size an allocation or a loop beyond a fixed bound.
 * Unions are written as one schema with a `type` list, not `anyOf`, so a refused
 * value gets the error of the shape it has (a 10,000-item `stop` is "too many
 * items", not "expected string").
 */
import { when } from '../http/schema-rules';

const nonEmptyString = { type: 'string', minLength: 1 } as const;

/** The largest completion budget any deployment can be asked for. */
export const MAX_COMPLETION_TOKENS = 1_048_576;

/**
 * The most tools a request may declare, on every API (chat, Responses, Messages), and the most entries of any list
 * of tools inside one (a Responses namespace's, an allowed_tools choice's, a client tool search's output): 1,000,
 * what /v1/messages always took. OpenAI caps a chat request at 128; Anthropic's tool search serves catalogs of
 * thousands of deferred tools (Claude Code with many MCP servers), which a lower cap would refuse. The body limit
 * (server.bodyLimitBytes) bounds the work all the same.
 */
export const MAX_TOOLS = 1_000;

const nullableString = { type: ['string', 'null'] } as const;

/**
 * The fields of content parts the translation for other vendors reads as strings (translation/content.ts):
 * strings in OpenAI's schema too, so an OpenAI upstream refuses them all the same.
 */
const contentPart = {
  type: 'object',
  required: ['type'],
  properties: {
    type: { type: 'string' },
    text: { type: 'string' },
    refusal: { type: 'string' },
    file: { type: 'object', properties: { file_data: nullableString, file_id: nullableString, filename: nullableString } },
    input_audio: { type: 'object', properties: { data: nullableString, format: nullableString } },
  },
} as const;

const message = {
  type: 'object',
  required: ['role'],
  properties: {
    role: { enum: ['system', 'developer', 'user', 'assistant', 'tool', 'function'] },
    content: { type: ['string', 'null', 'array'], maxItems: 1000, items: contentPart },
    // An assistant message's refusal: a string or null, as in OpenAI's schema. The other vendors' translations
    // send it as what the assistant said; a number or an object there failed with a 500 (part.text.trim).
    refusal: nullableString,
    name: { type: 'string' },
    tool_call_id: { type: 'string' },
    tool_calls: {
      type: 'array',
      maxItems: 128,
      items: {
        type: 'object',
        required: ['id', 'type', 'function'],
        properties: {
          id: { type: 'string' },
          type: { type: 'string' },
          function: {
            type: 'object',
            required: ['name', 'arguments'],
            properties: { name: { type: 'string' }, arguments: { type: 'string' } },
          },
        },
      },
    },
    // The gateway's own field: Claude's signed thinking blocks, sent back first on an Anthropic
    // deployment (providers/anthropic/request.ts) and dropped for other vendors.
    thinking_blocks: {
      type: ['array', 'null'],
      maxItems: 1000,
      items: { type: 'object', required: ['type'], properties: { type: { type: 'string' } } },
    },
  },
  // A tool result must say which call it answers.
  if: { properties: { role: { const: 'tool' } } },
  then: { required: ['role', 'tool_call_id'] },
} as const;

/** A reference to a function by name: a named tool_choice, an entry of allowed_tools. */
const functionReference = when('function', {
  required: ['function'],
  properties: { function: { type: 'object', required: ['name'], properties: { name: { type: 'string' } } } },
});

// Other tool types (custom, and whatever OpenAI adds) pass to OpenAI-format upstreams as sent.
const tool = {
  type: 'object',
  required: ['type'],
  properties: {
    type: { type: 'string' },
    function: {
      type: 'object',
      required: ['name'],
      properties: {
        name: { type: 'string', pattern: '^[a-zA-Z0-9_-]{1,64}$' },
        description: { type: 'string' },
        parameters: { type: 'object' },
        strict: { type: ['boolean', 'null'] },
      },
    },
  },
  allOf: [when('function', { required: ['function'] })],
} as const;

/** A tool_choice object: the function it forces, or the tools it allows (OpenAI's allowed_tools). */
const toolChoiceObject = {
  required: ['type'],
  properties: { type: { type: 'string' } },
  allOf: [
    functionReference,
    when('allowed_tools', {
      required: ['allowed_tools'],
      properties: {
        allowed_tools: {
          type: 'object',
          required: ['mode', 'tools'],
          properties: {
            mode: { enum: ['auto', 'required'] },
            tools: {
              type: 'array',
              maxItems: MAX_TOOLS,
              items: {
                type: 'object',
                required: ['type'],
                properties: { type: { type: 'string' } },
                allOf: [functionReference],
              },
            },
          },
        },
      },
    }),
  ],
} as const;

const completionBudget = { type: ['integer', 'null'], minimum: 1, maximum: MAX_COMPLETION_TOKENS } as const;

export const chatCompletionSchema = {
  type: 'object',
  required: ['model', 'messages'],
  properties: {
    model: nonEmptyString,
    messages: { type: 'array', minItems: 1, maxItems: 10_000, items: message },
    stream: { type: ['boolean', 'null'] },
    stream_options: {
      type: ['object', 'null'],
      properties: { include_usage: { type: 'boolean' } },
    },
    temperature: { type: ['number', 'null'], minimum: 0, maximum: 2 },
    top_p: { type: ['number', 'null'], minimum: 0, maximum: 1 },
    n: { type: ['integer', 'null'], minimum: 1, maximum: 128 },
    max_tokens: completionBudget,
    max_completion_tokens: completionBudget,
    // OpenAI accepts up to four stop sequences.
    stop: { type: ['string', 'null', 'array'], maxItems: 4, items: { type: 'string' } },
    presence_penalty: { type: ['number', 'null'], minimum: -2, maximum: 2 },
    frequency_penalty: { type: ['number', 'null'], minimum: -2, maximum: 2 },
    // OpenAI's seed is a 64-bit integer, but a JSON number above 2^53 reaches the gateway already
    // rounded (9223372036854775807 parses as 2^63, outside int64): it could only be sent changed.
    seed: { type: ['integer', 'null'], minimum: Number.MIN_SAFE_INTEGER, maximum: Number.MAX_SAFE_INTEGER },
    user: { type: 'string' },
    logprobs: { type: ['boolean', 'null'] },
    top_logprobs: { type: ['integer', 'null'], minimum: 0, maximum: 20 },
    // Token id -> bias in [-100, 100], as OpenAI documents it.
    logit_bias: {
      type: ['object', 'null'],
      maxProperties: 1024,
      propertyNames: { pattern: '^[0-9]{1,10}$' },
      additionalProperties: { type: 'number', minimum: -100, maximum: 100 },
    },
    tools: { type: 'array', maxItems: MAX_TOOLS, items: tool },
    tool_choice: {
      type: ['string', 'object'],
      if: { type: 'string' },
      then: { enum: ['none', 'auto', 'required'] },
      else: toolChoiceObject,
    },
    parallel_tool_calls: { type: 'boolean' },
    response_format: {
      type: 'object',
      required: ['type'],
      properties: { type: { enum: ['text', 'json_object', 'json_schema'] } },
    },
  },
} as const;
