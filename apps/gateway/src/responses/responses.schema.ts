/**
 * JSON schema of POST /v1/responses, compiled once by Fastify (ajv). It checks the
 * shapes the codec relies on and OpenAI's documented ranges; which values the gateway
 * can honour is request.ts's parameter table (a 400 naming the parameter).
 */
const when = (type: string, then: object) => ({ if: { properties: { type: { const: type } }, required: ['type'] }, then });
const text = { type: 'string' } as const;
const content = { anyOf: [text, { type: 'array', maxItems: 1000, items: { type: 'object', required: ['type'] } }] } as const;

/** Input items: the fields each type the codec translates must have (the default type is a message). */
const item = {
  type: 'object',
  properties: { type: text },
  allOf: [
    { if: { not: { required: ['type'] } }, then: { required: ['role', 'content'], properties: { role: text, content } } },
    when('message', { required: ['role', 'content'], properties: { role: text, content } }),
    when('function_call', { required: ['call_id', 'name', 'arguments'], properties: { call_id: text, name: text, arguments: text } }),
    when('function_call_output', { required: ['call_id', 'output'], properties: { call_id: text, output: content } }),
    when('item_reference', { required: ['id'], properties: { id: text } }),
  ],
} as const;

export const createResponseSchema = {
  type: 'object',
  required: ['model'],
  properties: {
    model: { type: 'string', minLength: 1 },
    // One type list rather than anyOf, so a bad item is reported as itself.
    input: { type: ['string', 'array'], maxItems: 10_000, items: item },
    instructions: { type: ['string', 'null'] },
    previous_response_id: { type: ['string', 'null'] },
    store: { type: ['boolean', 'null'] },
    stream: { type: ['boolean', 'null'] },
    temperature: { type: ['number', 'null'], minimum: 0, maximum: 2 },
    top_p: { type: ['number', 'null'], minimum: 0, maximum: 1 },
    max_output_tokens: { type: ['integer', 'null'], minimum: 1 },
    parallel_tool_calls: { type: ['boolean', 'null'] },
    metadata: { type: ['object', 'null'], maxProperties: 16, additionalProperties: { type: 'string', maxLength: 512 } },
    tools: {
      type: 'array',
      maxItems: 512,
      items: {
        type: 'object',
        required: ['type'],
        properties: { type: { type: 'string' } },
        if: { properties: { type: { const: 'function' } } },
        then: { required: ['type', 'name'], properties: { name: { type: 'string', pattern: '^[a-zA-Z0-9_-]{1,64}$' } } },
      },
    },
    tool_choice: {
      anyOf: [{ enum: ['none', 'auto', 'required'] }, { type: 'object', required: ['type'], properties: { type: { type: 'string' } } }],
    },
    text: {
      type: 'object',
      properties: {
        format: {
          type: 'object',
          required: ['type'],
          properties: { type: { enum: ['text', 'json_object', 'json_schema'] } },
          if: { properties: { type: { const: 'json_schema' } } },
          then: { required: ['type', 'name', 'schema'], properties: { name: { type: 'string' }, schema: { type: 'object' } } },
        },
        verbosity: { enum: ['low', 'medium', 'high', null] },
      },
    },
    reasoning: {
      type: ['object', 'null'],
      properties: { effort: { enum: ['none', 'minimal', 'low', 'medium', 'high', 'xhigh', 'max', null] } },
    },
  },
} as const;
