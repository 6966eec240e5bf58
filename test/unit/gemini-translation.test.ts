import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ApiError, type GenerateContentResponse } from '@google/genai';
import fc from 'fast-check';
import { costOf } from '../../libs/metrics/src/cost';
import { GatewayError } from '../../libs/providers/src/gateway-error';
import { DeploymentConfig } from '../../libs/config/src/gateway-config';
import type { ChatCompletionCreateParams, ChatCompletionMessageParam } from '../../libs/providers/src/wire';
import { fromGeminiError } from '../../libs/providers/src/gemini/errors';
import { SKIP_SIGNATURE, toContents, toGenerateRequest } from '../../libs/providers/src/gemini/request';
import {
  answerParts,
  checkPromptFeedback,
  choiceFrom,
  FAILED_FINISHES,
  FINISH_REASONS,
  usageFrom,
} from '../../libs/providers/src/gemini/response';
import { toGeminiSchema } from '../../libs/providers/src/gemini/schema';
import { translateChunks } from '../../libs/providers/src/gemini/stream';
import { misshapenSchemas } from '../support/json-schemas';
import { translated } from '../support/translate';

const live = new AbortController().signal;
const call = (id: string, name: string, args = '{}', signature?: string) => ({
  id,
  type: 'function' as const,
  function: { name, arguments: args },
  ...(signature ? { extra_content: { google: { thought_signature: signature } } } : {}),
});

describe('Gemini request: each message kind', () => {
  const table: [string, ChatCompletionMessageParam[], { system?: unknown[]; contents: unknown[] }][] = [
    [
      'system and developer -> systemInstruction',
      [
        { role: 'system', content: 'a' },
        { role: 'developer', content: 'b' },
        { role: 'user', content: 'u' },
      ],
      {
        system: [{ text: 'a' }, { text: 'b' }],
        contents: [{ role: 'user', parts: [{ text: 'u' }] }],
      },
    ],
    [
      'assistant -> model; consecutive turns merge',
      [
        { role: 'user', content: 'a' },
        { role: 'user', content: 'b' },
        { role: 'assistant', content: 'c' },
      ],
      {
        contents: [
          { role: 'user', parts: [{ text: 'a' }, { text: 'b' }] },
          { role: 'model', parts: [{ text: 'c' }] },
        ],
      },
    ],
    [
      'signed calls keep their signatures; results are named, grouped and keyed by id',
      [
        { role: 'user', content: 'a' },
        { role: 'assistant', content: null, tool_calls: [call('c1', 'f', '{"x":1}', 'sig-1'), call('c2', 'g')] },
        { role: 'tool', tool_call_id: 'c1', content: '{"ok":true}' },
        { role: 'tool', tool_call_id: 'c2', content: 'plain text' },
      ],
      {
        contents: [
          { role: 'user', parts: [{ text: 'a' }] },
          {
            role: 'model',
            parts: [
              { functionCall: { id: 'c1', name: 'f', args: { x: 1 } }, thoughtSignature: 'sig-1' },
              { functionCall: { id: 'c2', name: 'g', args: {} } },
            ],
          },
          {
            role: 'user',
            parts: [
              { functionResponse: { id: 'c1', name: 'f', response: { ok: true } } },
              { functionResponse: { id: 'c2', name: 'g', response: { output: 'plain text' } } },
            ],
          },
        ],
      },
    ],
    [
      'unsigned calls (from another model) get the placeholder on the first call',
      [
        { role: 'assistant', content: null, tool_calls: [call('a', 'f'), call('b', 'f')] },
        { role: 'tool', tool_call_id: 'a', content: '[1,2]' },
        { role: 'tool', tool_call_id: 'b', content: '7' },
      ],
      {
        contents: [
          {
            role: 'model',
            parts: [
              { functionCall: { id: 'a', name: 'f', args: {} }, thoughtSignature: SKIP_SIGNATURE },
              { functionCall: { id: 'b', name: 'f', args: {} } },
            ],
          },
          {
            role: 'user',
            parts: [
              { functionResponse: { id: 'a', name: 'f', response: { output: [1, 2] } } },
              { functionResponse: { id: 'b', name: 'f', response: { output: 7 } } },
            ],
          },
        ],
      },
    ],
    // Found by an independent check: results sent in another order than the calls went to Gemini so, and Gemini
    // pairs them by position: the two calls of one function had each other's results.
    [
      'results of parallel calls go in the order of the calls, whatever order the client sent them in',
      [
        { role: 'assistant', content: null, tool_calls: [call('p', 'w', '{"city":"Paris"}', 'sig'), call('t', 'w', '{"city":"Tokyo"}')] },
        { role: 'tool', tool_call_id: 't', content: 'rain' },
        { role: 'tool', tool_call_id: 'p', content: 'sun' },
        { role: 'user', content: 'and?' },
      ],
      {
        contents: [
          {
            role: 'model',
            parts: [
              { functionCall: { id: 'p', name: 'w', args: { city: 'Paris' } }, thoughtSignature: 'sig' },
              { functionCall: { id: 't', name: 'w', args: { city: 'Tokyo' } } },
            ],
          },
          {
            role: 'user',
            parts: [
              { functionResponse: { id: 'p', name: 'w', response: { output: 'sun' } } },
              { functionResponse: { id: 't', name: 'w', response: { output: 'rain' } } },
              { text: 'and?' },
            ],
          },
        ],
      },
    ],
    [
      'media: inline data and https URLs',
      [
        {
          role: 'user',
          content: [
            { type: 'image_url', image_url: { url: 'data:image/jpeg;base64,/9j/' } },
            { type: 'image_url', image_url: { url: 'https://x.test/a.png' } },
          ],
        },
      ],
      {
        contents: [
          {
            role: 'user',
            parts: [
              { inlineData: { mimeType: 'image/jpeg', data: '/9j/' } },
              { fileData: { fileUri: 'https://x.test/a.png', mimeType: 'image/png' } },
            ],
          },
        ],
      },
    ],
    // Found by an independent check: the parts ran together ("Answer in FrenchNever use emoji").
    [
      'system parts stay separate parts; tool result parts are joined by a blank line',
      [
        {
          role: 'system',
          content: [
            { type: 'text', text: 'Answer in French' },
            { type: 'text', text: 'Never use emoji' },
          ],
        },
        { role: 'assistant', content: null, tool_calls: [call('c1', 'f')] },
        {
          role: 'tool',
          tool_call_id: 'c1',
          content: [
            { type: 'text', text: 'line one' },
            { type: 'text', text: 'line two' },
          ],
        },
      ],
      {
        system: [{ text: 'Answer in French' }, { text: 'Never use emoji' }],
        contents: [
          { role: 'model', parts: [{ functionCall: { id: 'c1', name: 'f', args: {} }, thoughtSignature: SKIP_SIGNATURE }] },
          { role: 'user', parts: [{ functionResponse: { id: 'c1', name: 'f', response: { output: 'line one\n\nline two' } } }] },
        ],
      },
    ],
    // Found by an independent check: empty contents, refused by the SDK before sending, counted as the deployment failing.
    [
      'system messages alone become the user turn (OpenAI answers them; Gemini needs contents)',
      [{ role: 'system', content: 'You are terse.' }],
      { contents: [{ role: 'user', parts: [{ text: 'You are terse.' }] }] },
    ],
    [
      'a refusal echoed in history (content null) stays the model turn',
      [
        { role: 'user', content: 'Q1' },
        { role: 'assistant', content: null, refusal: 'I cannot help with that.' },
        { role: 'user', content: 'Q2' },
      ],
      {
        contents: [
          { role: 'user', parts: [{ text: 'Q1' }] },
          { role: 'model', parts: [{ text: 'I cannot help with that.' }] },
          { role: 'user', parts: [{ text: 'Q2' }] },
        ],
      },
    ],
    [
      'image/jpg (an alias OpenAI accepts) as image/jpeg',
      [{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'data:image/jpg;base64,/9j/' } }] }],
      { contents: [{ role: 'user', parts: [{ inlineData: { mimeType: 'image/jpeg', data: '/9j/' } }] }] },
    ],
  ];
  for (const [name, input, expected] of table) {
    it(name, () => {
      const out = toContents(input);
      assert.deepEqual(out.contents, expected.contents);
      assert.deepEqual(out.system, expected.system ?? []);
    });
  }

  it('refuses a conversation with nothing to send, naming messages', () => {
    for (const input of [[{ role: 'user', content: '' }], [{ role: 'system', content: ' ' }]] as ChatCompletionMessageParam[][]) {
      assert.throws(
        () => toContents(input),
        (e: GatewayError) => e.status === 400 && e.param === 'messages',
      );
    }
  });

  it('refuses a tool message that answers no earlier call', () => {
    assert.throws(
      () => toContents([{ role: 'tool', tool_call_id: 'x', content: 'y' }]),
      (e: GatewayError) => e.status === 400 && e.param === 'messages[0].tool_call_id',
    );
  });

  // Found by a hostile-input check: a tool result of 5,000 levels parsed here and overflowed the stack in the
  // SDK's JSON.stringify (a 500); security.maxJsonDepth bounded only the body.
  it('a tool result or call arguments nested deeper than the body may be: a 400 naming them; prose with braces goes as text', () => {
    const deep = '{"a":'.repeat(65) + '1' + '}'.repeat(65);
    const call = (args: string) => ({
      role: 'assistant' as const,
      content: null,
      tool_calls: [{ id: 'c', type: 'function' as const, function: { name: 'f', arguments: args } }],
    });
    const history = (args: string, result: string): ChatCompletionMessageParam[] => [
      { role: 'user', content: 'q' },
      call(args),
      { role: 'tool', tool_call_id: 'c', content: result },
    ];
    for (const [input, param] of [
      [history('{}', deep), 'messages[2].content'],
      [history(deep, 'r'), 'messages[1].tool_calls[0].function.arguments'],
    ] as const) {
      assert.throws(
        () => toContents(input),
        (e: GatewayError) => e.status === 400 && e.code === 'json_too_deep' && e.param === param,
      );
    }
    const prose = 'if (a) {'.repeat(100);
    const result = toContents(history('{}', prose)).contents[2].parts![0].functionResponse!.response;
    assert.deepEqual(result, { output: prose });
  });
});

describe('Gemini request: tool results, audio answers, thinking budgets', () => {
  // Found by an independent check: the parts went functionResponse, text, functionResponse.
  it('the function responses of a round open its user content, in order, whatever user messages sit between them', () => {
    const { contents } = toContents([
      { role: 'user', content: 'q' },
      { role: 'assistant', content: null, tool_calls: [call('c1', 'f'), call('c2', 'g')] },
      { role: 'tool', tool_call_id: 'c1', content: 'r1' },
      { role: 'user', content: 'note' },
      { role: 'tool', tool_call_id: 'c2', content: 'r2' },
    ]);
    assert.deepEqual(
      contents[2].parts!.map((p) => p.functionResponse?.id ?? p.text),
      ['c1', 'c2', 'note'],
    );
  });

  it('an assistant answer given as audio only is a 400 naming its audio', () => {
    const audio = { role: 'assistant', content: null, audio: { id: 'audio_1' } } as ChatCompletionMessageParam;
    assert.throws(
      () => toContents([{ role: 'user', content: 'say hi' }, audio, { role: 'user', content: 'again' }]),
      (e: GatewayError) => e.status === 400 && e.param === 'messages[1].audio',
    );
  });

  it('empty stop strings are left out; whitespace ones go as they are', () => {
    const sent = (stop: ChatCompletionCreateParams['stop']) =>
      toGenerateRequest({ model: 'm', messages: [{ role: 'user', content: 'x' }], stop }, 'up', new DeploymentConfig()).config
        ?.stopSequences;
    assert.deepEqual(sent(['', '\n']), ['\n']);
    assert.equal(sent(''), undefined);
  });

  // Found by an independent check: max_tokens 1000 and low effort sent thinkingBudget 2048; Gemini 2.5 counts
  // thinking against maxOutputTokens, so the answer could end empty (finish_reason length).
  it('a budget deployment caps thinkingBudget at half the output limit; under 512, no thinkingConfig (the model default)', () => {
    const budget = Object.assign(new DeploymentConfig(), { thinking: 'budget' });
    const sent = (reasoning_effort: ChatCompletionCreateParams['reasoning_effort'], max_tokens?: number) =>
      toGenerateRequest({ model: 'm', messages: [{ role: 'user', content: 'x' }], reasoning_effort, max_tokens }, 'up', budget).config
        ?.thinkingConfig;
    assert.deepEqual(sent('high', 2000), { includeThoughts: true, thinkingBudget: 1000 });
    assert.deepEqual(sent('low', 1500), { includeThoughts: true, thinkingBudget: 750 });
    assert.equal(sent('low', 1000), undefined);
    assert.deepEqual(sent('high'), { includeThoughts: true, thinkingBudget: 16384 }, 'no output limit, no cap');
    assert.deepEqual(sent('max', 100_000), { includeThoughts: true, thinkingBudget: 24_576 });
    const capped = Object.assign(new DeploymentConfig(), { thinking: 'budget', maxOutputTokens: 3000 });
    assert.deepEqual(
      toGenerateRequest({ model: 'm', messages: [{ role: 'user', content: 'x' }], reasoning_effort: 'high' }, 'up', capped).config
        ?.thinkingConfig,
      { includeThoughts: true, thinkingBudget: 1500 },
    );
  });
});

describe('JSON Schema -> Gemini Schema', () => {
  const table: [string, Record<string, unknown>, unknown][] = [
    [
      'types are upper-cased; order is kept',
      { type: 'object', properties: { b: { type: 'string' }, a: { type: 'number' } }, required: ['a'] },
      {
        type: 'OBJECT',
        properties: { b: { type: 'STRING' }, a: { type: 'NUMBER' } },
        propertyOrdering: ['b', 'a'],
        required: ['a'],
      },
    ],
    ['a type array with null -> nullable', { type: ['integer', 'null'] }, { type: 'INTEGER', nullable: true }],
    ['a type array of two types -> anyOf', { type: ['string', 'number'] }, { anyOf: [{ type: 'STRING' }, { type: 'NUMBER' }] }],
    [
      'anyOf with a null variant -> nullable variant',
      { anyOf: [{ type: 'string' }, { type: 'null' }], description: 'd' },
      { type: 'STRING', description: 'd', nullable: true },
    ],
    ['oneOf -> anyOf', { oneOf: [{ type: 'string' }, { type: 'integer' }] }, { anyOf: [{ type: 'STRING' }, { type: 'INTEGER' }] }],
    ['const -> one-value enum', { type: 'string', const: 'x' }, { type: 'STRING', enum: ['x'] }],
    ['a numeric enum -> a note', { type: 'integer', enum: [1, 2] }, { type: 'INTEGER', description: '(one of: 1, 2)' }],
    // OpenAI structured outputs write an optional choice this way (found by an independent check: the enum became a note).
    [
      'a nullable string enum keeps its enum',
      { type: ['string', 'null'], enum: ['c', 'f', null] },
      { type: 'STRING', nullable: true, enum: ['c', 'f'] },
    ],
    ['null in an untyped enum -> nullable', { enum: ['c', null] }, { nullable: true, enum: ['c'], type: 'STRING' }],
    ['an untyped const string -> a STRING enum', { const: 'x' }, { enum: ['x'], type: 'STRING' }],
    [
      'a type list with an enum: each type with its own values, a type with none left out',
      { type: ['string', 'integer'], enum: ['a', 1] },
      {
        anyOf: [
          { type: 'STRING', enum: ['a'] },
          { type: 'INTEGER', description: '(one of: 1)' },
        ],
      },
    ],
    [
      'a type list with a string enum -> a STRING enum',
      { type: ['string', 'number'], enum: ['a', 'b'] },
      { type: 'STRING', enum: ['a', 'b'] },
    ],
    ['null outside the type is left out of the enum', { type: 'string', enum: ['c', null] }, { type: 'STRING', enum: ['c'] }],
    ['a const null -> a note', { type: 'null', const: null }, { nullable: true, description: '(one of: null)' }],
    [
      'supported and unsupported formats',
      {
        type: 'object',
        properties: { t: { type: 'string', format: 'date-time' }, e: { type: 'string', format: 'email', description: 'mail' } },
      },
      {
        type: 'OBJECT',
        properties: { t: { type: 'STRING', format: 'date-time' }, e: { type: 'STRING', description: 'mail (format: email)' } },
        propertyOrdering: ['t', 'e'],
      },
    ],
    [
      "$ref into $defs is inlined, with the referrer's description",
      {
        type: 'object',
        properties: { p: { $ref: '#/$defs/pt', description: 'a point' } },
        $defs: { pt: { type: 'object', properties: { x: { type: 'number' } } } },
      },
      {
        type: 'OBJECT',
        properties: { p: { type: 'OBJECT', description: 'a point', properties: { x: { type: 'NUMBER' } } } },
      },
    ],
    [
      'allOf is merged',
      {
        allOf: [
          { type: 'object', properties: { a: { type: 'string' } }, required: ['a'] },
          { properties: { b: { type: 'string' } }, required: ['b'] },
        ],
      },
      {
        type: 'OBJECT',
        properties: { a: { type: 'STRING' }, b: { type: 'STRING' } },
        propertyOrdering: ['a', 'b'],
        required: ['a', 'b'],
      },
    ],
    [
      'keywords Gemini lacks are dropped; examples -> example',
      {
        type: 'object',
        additionalProperties: false,
        $schema: 'x',
        properties: { n: { type: 'number', minimum: 0, exclusiveMaximum: 9, examples: [3] } },
      },
      {
        type: 'OBJECT',
        properties: { n: { type: 'NUMBER', minimum: 0, example: 3 } },
      },
    ],
    ['arrays and tuples', { type: 'array', items: { type: 'string' } }, { type: 'ARRAY', items: { type: 'STRING' } }],
    [
      'required names that are not properties are dropped',
      { type: 'object', properties: { a: { type: 'string' } }, required: ['a', 'ghost'] },
      { type: 'OBJECT', properties: { a: { type: 'STRING' } }, required: ['a'] },
    ],
  ];
  for (const [name, schema, expected] of table) it(name, () => assert.deepEqual(toGeminiSchema(schema, 'p'), { subset: expected }));

  it('keeps a property named __proto__ as a property, not as the prototype of the properties', () => {
    const schema = JSON.parse('{"type":"object","properties":{"__proto__":{"type":"string"},"b":{"type":"integer"}}}');
    const { properties } = toGeminiSchema(schema, 'p').subset!;
    assert.deepEqual(Object.keys(properties!), ['__proto__', 'b']);
    assert.equal(Object.getPrototypeOf(properties), Object.prototype);
    assert.deepEqual(JSON.parse(JSON.stringify(properties)).__proto__, { type: 'STRING' });
  });

  it('refuses non-local, unresolvable and self-made references with a 400', () => {
    assert.throws(() => toGeminiSchema({ $ref: 'https://x.test/s.json' }, 'p'), /cannot be resolved/);
    assert.throws(() => toGeminiSchema({ type: 'object', properties: { a: { $ref: '#/$defs/none' } } }, 'p'), /cannot be resolved/);
    // A definition merged into itself, or a top that is its own reference, has no schema in either form.
    const selfAllOf = { $ref: '#/$defs/a', $defs: { a: { allOf: [{ $ref: '#/$defs/a' }] } } };
    assert.throws(
      () => toGeminiSchema(selfAllOf, 'tools[0]'),
      (e: GatewayError) => e.status === 400 && /recursive/.test(e.message) && e.param === 'tools[0]',
    );
    assert.throws(() => toGeminiSchema({ $ref: '#' }, 'p'), /recursive/);
    assert.throws(() => toGeminiSchema({ $ref: '#/$defs/a', $defs: { a: { $ref: '#/$defs/a' } } }, 'p'), /recursive/);
  });

  // Found by a fuzzing check: these threw a TypeError, which the client saw as a bare 500.
  const misshapen: [string, Record<string, unknown>, RegExp][] = [
    [
      'a type that is a number',
      { type: 'object', properties: { a: { type: 5 } } },
      /'type' at properties\.a must be a string or a non-empty array of strings/,
    ],
    ['a type list with a number in it', { type: ['string', 5] }, /'type' must be a string or a non-empty array of strings/],
    // Found by an independent re-check: the meta-schema asks for one type at least.
    ['an empty type list', { type: 'object', properties: { a: { type: [] } } }, /'type' at properties\.a must be a string or a non-empty/],
    ['a type that is an object', { type: { x: 1 } }, /'type' must be/],
    [
      'a type that names no JSON Schema type',
      { type: 'object', properties: { a: { type: 'strnig' } } },
      /'type' at properties\.a must be a JSON Schema type \(string, number, integer, boolean, object, array, null\) or an array of them, not 'strnig'/,
    ],
    ['a type list with an unknown name in it', { type: ['string', 'nul'] }, /'type' must be a JSON Schema type .* not 'nul'/],
    ["Gemini's spelling of a type", { type: 'STRING' }, /not 'STRING'/],
    [
      'a required that is a string',
      { type: 'object', properties: { a: { type: 'string' } }, required: 'a' },
      /'required' must be an array of strings/,
    ],
    ['an enum that is a string', { type: 'string', enum: 'abc' }, /'enum' must be an array/],
    ['an anyOf that is a string', { anyOf: 'abc' }, /'anyOf' must be an array of schemas/],
    ['an anyOf with a null member', { items: { anyOf: [null, { type: 'string' }] } }, /'anyOf' at items must be an array of schemas/],
    ['an allOf with a number member', { allOf: [5] }, /'allOf' must be an array of schemas/],
    ['an allOf member with a misshapen required', { allOf: [{ required: 5 }] }, /'required' at allOf\[0\] must be/],
    [
      'an allOf member whose $ref leads to a misshapen required',
      { allOf: [{ $ref: '#/$defs/a' }], $defs: { a: { required: 'x' } } },
      /'required' at allOf\[0\]\(#\/\$defs\/a\) must be/,
    ],
    [
      'a misshapen type deep inside properties, items and anyOf',
      { type: 'object', properties: { a: { type: 'array', items: { anyOf: [{ type: 'string' }, { type: 7 }] } } } },
      /'type' at properties\.a\.items\.anyOf\[1\] must be/,
    ],
    ['a oneOf variant with a misshapen type', { oneOf: [{ type: 'string' }, { type: 7 }] }, /'type' at oneOf\[1\] must be/],
  ];
  for (const [name, schema, message] of misshapen) {
    it(`refuses ${name} with a 400 naming the parameter and the place`, () => {
      assert.throws(
        () => toGeminiSchema(schema, 'tools[0].function.parameters'),
        (e: unknown) =>
          e instanceof GatewayError && e.status === 400 && e.param === 'tools[0].function.parameters' && message.test(e.message),
      );
    });
  }

  it('refuses a $ref with a malformed escape or naming an inherited property as unresolvable', () => {
    assert.throws(() => toGeminiSchema({ $ref: '#/$defs/%E0%A4%A' }, 'p'), /cannot be resolved/);
    assert.throws(() => toGeminiSchema({ $ref: '#/$defs/constructor' }, 'p'), /cannot be resolved/);
    // Found by the property below in a CI run (a random seed then): a type named like an Object method threw a TypeError.
    // It names no JSON Schema type: the 400 for that.
    assert.throws(
      () => toGeminiSchema({ type: 'toString', format: 'object' }, 'p'),
      (e: GatewayError) => e.status === 400 && /not 'toString'/.test(e.message),
    );
  });

  it('any JSON value in any schema keyword gives a Gemini schema or a 400, never another error (fast-check)', () => {
    fc.assert(
      fc.property(misshapenSchemas(), (s) => {
        try {
          toGeminiSchema(s as Record<string, unknown>, 'p');
        } catch (e) {
          assert.ok(e instanceof GatewayError && e.status === 400 && e.param === 'p', `threw ${String(e)} for ${JSON.stringify(s)}`);
        }
      }),
      // A fixed seed (CI must not fail by the draw), and enough runs to reach a draw like the one above.
      { seed: 20261206, numRuns: 20_000 },
    );
  });
});

describe('Gemini response', () => {
  const finishes: [string, string][] = [
    ['STOP', 'stop'],
    ['MAX_TOKENS', 'length'],
    ['SAFETY', 'content_filter'],
    ['RECITATION', 'content_filter'],
    ['BLOCKLIST', 'content_filter'],
    ['PROHIBITED_CONTENT', 'content_filter'],
    ['SPII', 'content_filter'],
    ['LANGUAGE', 'content_filter'],
    ['OTHER', 'stop'],
    ['CONTINUATION', 'length'],
  ];
  for (const [reason, finish] of finishes) it(`finishReason ${reason} -> ${finish}`, () => assert.equal(FINISH_REASONS[reason], finish));

  it('audio read from the context cache is not counted as fresh audio: it is billed as a cache read', () => {
    const AUDIO = 'AUDIO' as never;
    const TEXT = 'TEXT' as never;
    const usage = usageFrom(
      {
        promptTokenCount: 10_000,
        cachedContentTokenCount: 8_000,
        candidatesTokenCount: 100,
        promptTokensDetails: [
          { modality: AUDIO, tokenCount: 8_000 },
          { modality: TEXT, tokenCount: 2_000 },
        ],
        cacheTokensDetails: [{ modality: AUDIO, tokenCount: 8_000 }],
      },
      true,
    )!;
    assert.equal(usage.prompt_tokens_details?.audio_tokens, 0);
    // gemini-2.5-flash-lite: text 0.10, audio 0.30, cache reads 0.025 (a million tokens), output 0.40.
    const price = { input: 0.1, output: 0.4, cachedInput: 0.025, audioInput: 0.3 };
    const expected = (2_000 * 0.1 + 8_000 * 0.025 + 100 * 0.4) / 1e6;
    assert.ok(Math.abs(costOf(usage, price).usd - expected) < 1e-12, `${costOf(usage, price).usd} for ${expected}`);
  });
  for (const [reason, [status]] of Object.entries(FAILED_FINISHES)) {
    it(`finishReason ${reason} -> error ${status}`, () => {
      assert.throws(
        () =>
          choiceFrom(
            { finishReason: reason as never, content: { parts: [] } },
            { provider: 'g', exposeReasoning: false, maxToolCalls: Infinity, toolNames: new Map() },
          ),
        (e: GatewayError) => e.status === status,
      );
    });
  }

  const usages: [string, Parameters<typeof usageFrom>[0], object | undefined][] = [
    // None reported is none: the gateway estimates it (accounting.ts) rather than bill zero.
    ['missing', undefined, undefined],
    [
      'cached content is part of the prompt',
      { promptTokenCount: 100, cachedContentTokenCount: 60, candidatesTokenCount: 10 },
      {
        prompt_tokens: 100,
        completion_tokens: 10,
        total_tokens: 110,
        prompt_tokens_details: { cached_tokens: 60 },
        completion_tokens_details: { reasoning_tokens: 0 },
      },
    ],
    [
      'thoughts are output and reasoning; tool-use prompt is prompt',
      { promptTokenCount: 10, toolUsePromptTokenCount: 5, candidatesTokenCount: 10, thoughtsTokenCount: 30 },
      {
        prompt_tokens: 15,
        completion_tokens: 40,
        total_tokens: 55,
        prompt_tokens_details: { cached_tokens: 0 },
        completion_tokens_details: { reasoning_tokens: 30 },
      },
    ],
  ];
  for (const [name, usage, expected] of usages) it(`usage: ${name}`, () => assert.deepEqual(usageFrom(usage, true), expected));

  // Gemini leaves out candidatesTokenCount for an empty or blocked answer (and a proxy may drop it): an answer with
  // content was billed 0 output tokens. Its output is now uncounted (the bill estimates it); without content it is 0.
  it('usage without candidatesTokenCount: 0 output for an answer with none, no output count for one with some', () => {
    const metadata = { promptTokenCount: 40, totalTokenCount: 40 };
    assert.deepEqual([usageFrom(metadata, false)?.completion_tokens, usageFrom(metadata, false)?.total_tokens], [0, 40]);
    const uncounted = usageFrom({ ...metadata, thoughtsTokenCount: 7 }, true);
    assert.deepEqual(uncounted, {
      prompt_tokens: 40,
      prompt_tokens_details: { cached_tokens: 0 },
      completion_tokens_details: { reasoning_tokens: 7 },
    });
    assert.deepEqual(
      [answerParts([{ text: 'hi' }]), answerParts([{ functionCall: { name: 'f' } }]), answerParts([{ text: 'x', thought: true }])],
      [true, true, false],
    );
    assert.deepEqual([answerParts(undefined), answerParts([{ text: '' }])], [false, false]);
  });

  it('a candidate becomes a choice: thoughts apart, calls with generated ids, STOP with calls -> tool_calls', () => {
    const candidate = {
      finishReason: 'STOP',
      content: {
        parts: [
          { text: 'plan', thought: true },
          { text: 'ok' },
          { functionCall: { name: 'f', args: { a: 1 } }, thoughtSignature: 's' },
          { functionCall: { id: 'given', name: 'g' } },
        ],
      },
    } as never;
    const choice = choiceFrom(candidate, { provider: 'g', exposeReasoning: true, maxToolCalls: Infinity, toolNames: new Map() });
    assert.equal(choice.text, 'ok');
    assert.equal(choice.reasoning, 'plan');
    assert.equal(choice.finishReason, 'tool_calls');
    assert.match(choice.toolCalls[0].id, /^call_/);
    assert.deepEqual(choice.toolCalls[0].extra, { extra_content: { google: { thought_signature: 's' } } });
    assert.deepEqual(choice.toolCalls[1], { id: 'given', name: 'g', arguments: '{}' });
    assert.equal(
      choiceFrom(candidate, { provider: 'g', exposeReasoning: false, maxToolCalls: 1, toolNames: new Map() }).toolCalls.length,
      1,
    );
  });

  it('a blocked prompt is a 400 content_filter; no candidates at all is a retryable 502', () => {
    assert.throws(
      () => checkPromptFeedback('g', { promptFeedback: { blockReason: 'PROHIBITED_CONTENT' } } as GenerateContentResponse),
      (e: GatewayError) => e.status === 400 && e.code === 'content_filter',
    );
    assert.throws(
      () => checkPromptFeedback('g', {} as GenerateContentResponse),
      (e: GatewayError) => e.status === 502 && e.retryable,
    );
  });
});

describe('Gemini errors', () => {
  const apiError = (code: number, status: string, details: object[] = []) =>
    new ApiError({ status: code, message: JSON.stringify({ error: { code, message: `says ${status}`, status, details } }) });
  // [what the SDK threw, status, type, code, retryable]
  const table: [string, unknown, number, string, string | null, boolean][] = [
    ['INVALID_ARGUMENT', apiError(400, 'INVALID_ARGUMENT'), 400, 'invalid_request_error', null, false],
    ['OUT_OF_RANGE', apiError(400, 'OUT_OF_RANGE'), 400, 'invalid_request_error', null, false],
    ['FAILED_PRECONDITION', apiError(400, 'FAILED_PRECONDITION'), 502, 'upstream_error', 'upstream_permission_denied', false],
    ['UNAUTHENTICATED', apiError(401, 'UNAUTHENTICATED'), 502, 'upstream_error', 'upstream_auth_failed', false],
    ['PERMISSION_DENIED', apiError(403, 'PERMISSION_DENIED'), 502, 'upstream_error', 'upstream_permission_denied', false],
    ['NOT_FOUND', apiError(404, 'NOT_FOUND'), 502, 'upstream_error', 'upstream_not_found', false],
    ['RESOURCE_EXHAUSTED', apiError(429, 'RESOURCE_EXHAUSTED'), 429, 'rate_limit_error', 'rate_limit_exceeded', true],
    ['INTERNAL', apiError(500, 'INTERNAL'), 502, 'upstream_error', 'upstream_error', true],
    ['UNAVAILABLE', apiError(503, 'UNAVAILABLE'), 503, 'upstream_error', 'upstream_overloaded', true],
    // Found by an independent check: a 503 whose body says rate limit (a proxy's) was a 429; an OpenAI-format one's is overloaded.
    ['503 RESOURCE_EXHAUSTED', apiError(503, 'RESOURCE_EXHAUSTED'), 503, 'upstream_error', 'upstream_overloaded', true],
    ['529 INVALID_ARGUMENT', apiError(529, 'INVALID_ARGUMENT'), 503, 'upstream_error', 'upstream_overloaded', true],
    ['DEADLINE_EXCEEDED', apiError(504, 'DEADLINE_EXCEEDED'), 504, 'timeout_error', 'upstream_timeout', true],
    [
      'an error inside a stream',
      new ApiError({ status: 503, message: 'got status: UNAVAILABLE. {"error":{"code":503,"message":"busy","status":"UNAVAILABLE"}}' }),
      503,
      'upstream_error',
      'upstream_overloaded',
      true,
    ],
    [
      'a non-JSON 502 from a proxy',
      new ApiError({ status: 502, message: '<html>bad gateway</html>' }),
      502,
      'upstream_error',
      'upstream_error',
      true,
    ],
    ['an undocumented 4xx', new ApiError({ status: 418, message: '{}' }), 502, 'upstream_error', 'upstream_error', false],
    [
      'a refused connection',
      Object.assign(new TypeError('fetch failed'), { cause: Object.assign(new Error('x'), { code: 'ECONNREFUSED' }) }),
      502,
      'upstream_error',
      'upstream_unreachable',
      true,
    ],
    [
      'a body that ended inside an event',
      new Error('Incomplete JSON segment at the end'),
      502,
      'upstream_error',
      'upstream_stream_truncated',
      true,
    ],
    // Found by an independent check: both read "Could not reach provider" and counted against the deployment as unreachable.
    ['a body that is not JSON', new SyntaxError('Unexpected token < in JSON'), 502, 'upstream_error', 'upstream_invalid_response', true],
    ['the SDK refusing the request before sending it', new Error('contents are required'), 500, 'server_error', 'internal_error', false],
  ];
  for (const [name, thrownErr, status, type, code, retryable] of table) {
    it(`${name} -> ${status} ${code ?? type}`, () => {
      const err = fromGeminiError('gem', thrownErr, live);
      assert.deepEqual([err.status, err.type, err.code, err.retryable], [status, type, code, retryable]);
    });
  }

  it('what the SDK refuses before sending is no outcome of the deployment (no breaker count, no failover)', () => {
    assert.equal(fromGeminiError('gem', new Error('contents are required'), live).upstreamStatus, undefined);
  });

  it('keeps the vendor message for client errors, and takes Retry-After from RetryInfo', () => {
    assert.equal(fromGeminiError('gem', table[0][1], live).message, 'says INVALID_ARGUMENT');
    const limited = fromGeminiError(
      'gem',
      apiError(429, 'RESOURCE_EXHAUSTED', [{ '@type': 'type.googleapis.com/google.rpc.RetryInfo', retryDelay: '2.5s' }]),
      live,
    );
    assert.equal(limited.headers['retry-after'], '3');
    assert.equal(fromGeminiError('gem', apiError(429, 'RESOURCE_EXHAUSTED'), live).headers['retry-after'], '1');
    // A Duration is digits and `s`: `1e3s` is unreadable (parseFloat read 1000 s), as a Retry-After `1e3` (fault29).
    const odd = (retryDelay: string) =>
      fromGeminiError(
        'gem',
        apiError(429, 'RESOURCE_EXHAUSTED', [{ '@type': 'type.googleapis.com/google.rpc.RetryInfo', retryDelay }]),
        live,
      ).headers['retry-after'];
    assert.deepEqual(['1e3s', '0x20s', '30'].map(odd), ['1', '1', '1']);
  });
});

describe('Gemini stream translation', () => {
  async function run(chunks: object[], maxToolCalls = Infinity) {
    const translate = translateChunks({
      provider: 'gem',
      model: 'fallback',
      includeUsage: true,
      exposeReasoning: true,
      maxToolCalls,
      toolNames: new Map(),
    });
    const { frames: all, usage } = await translated(translate, chunks as GenerateContentResponse[]);
    const frames = all
      .filter((frame) => frame !== 'data: [DONE]\n\n')
      .map(
        (frame) =>
          JSON.parse(frame.slice(6)) as { choices: { index: number; delta: Record<string, unknown>; finish_reason: string | null }[] },
      );
    return { frames, usage };
  }
  const cand = (index: number, parts: object[], finishReason?: string) => ({
    index,
    content: { role: 'model', parts },
    ...(finishReason ? { finishReason } : {}),
  });

  it('keeps choices apart by candidate index, each with its role delta and finish chunk', async () => {
    const { frames, usage } = await run([
      { responseId: 'r', candidates: [cand(0, [{ text: 'a' }]), cand(1, [{ text: 'x' }])] },
      {
        responseId: 'r',
        candidates: [cand(1, [{ text: 'y' }], 'MAX_TOKENS'), cand(0, [{ text: 'b' }], 'STOP')],
        usageMetadata: { promptTokenCount: 3, candidatesTokenCount: 4 },
      },
    ]);
    const byChoice = (i: number) => frames.flatMap((f) => f.choices.filter((c) => c.index === i));
    assert.deepEqual(
      byChoice(0).map((c) => c.delta.content ?? c.finish_reason),
      ['', 'a', 'b', 'stop'],
    );
    assert.deepEqual(
      byChoice(1).map((c) => c.delta.content ?? c.finish_reason),
      ['', 'x', 'y', 'length'],
    );
    assert.equal(usage?.total_tokens, 7);
  });

  it('opens each function call with id and name, then its whole arguments; parallel_tool_calls false keeps one', async () => {
    const chunks = [
      {
        candidates: [
          cand(0, [{ functionCall: { id: 'c1', name: 'f', args: { a: 1 } } }, { functionCall: { id: 'c2', name: 'g', args: {} } }], 'STOP'),
        ],
      },
    ];
    const calls = (await run(chunks)).frames.flatMap((f) => (f.choices[0]?.delta.tool_calls as object[]) ?? []);
    assert.deepEqual(calls, [
      { index: 0, id: 'c1', type: 'function', function: { name: 'f', arguments: '' } },
      { index: 0, function: { arguments: '{"a":1}' } },
      { index: 1, id: 'c2', type: 'function', function: { name: 'g', arguments: '' } },
      { index: 1, function: { arguments: '{}' } },
    ]);
    const { frames } = await run(chunks, 1);
    assert.equal(frames.flatMap((f) => (f.choices[0]?.delta.tool_calls as object[]) ?? []).length, 2);
    assert.equal(frames.at(-1)!.choices[0].finish_reason, 'tool_calls', 'no usage chunk: Gemini reported none');
  });

  it('a content filter stop says why in refusal; a stream no candidate finished is truncated', async () => {
    const { frames } = await run([{ candidates: [cand(0, [{ text: 'so' }], 'SAFETY')] }]);
    assert.ok(frames.some((f) => /SAFETY/.test(String(f.choices[0]?.delta.refusal))));
    assert.equal(frames.at(-1)!.choices[0].finish_reason, 'content_filter');
    await assert.rejects(run([{ candidates: [cand(0, [{ text: 'so' }])] }]), (e: GatewayError) => e.code === 'upstream_stream_truncated');
  });

  // Found by an independent check: on /v1/chat/completions a part whose text is an object went out in the chunk (or
  // made the cache's collector throw: internal_error); the Messages and Responses codecs refused it, naming the field.
  it('a part of the wrong type is the upstream`s invalid answer, naming the chunk`s field', async () => {
    for (const [parts, field] of [
      [[{ text: { x: 1 } }], 'choices[0].delta.content'],
      [[{ text: 'ok' }, { functionCall: { name: ['x'], args: {} } }], 'choices[0].delta.tool_calls[0].function.name'],
    ] as const)
      await assert.rejects(run([{ responseId: 'r', candidates: [cand(0, [...parts], 'STOP')] }]), (err: GatewayError) => {
        assert.equal(err.code, 'upstream_invalid_response');
        assert.equal(err.message, `Provider gem sent a chunk that is not a chat completion chunk (\`${field}\` is of the wrong type).`);
        return true;
      });
  });
});
