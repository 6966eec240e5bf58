import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import Anthropic from '@anthropic-ai/sdk';
import type OpenAI from 'openai';
import { apiError } from '../support/chat';
import { FakeVendors } from '../support/fake-vendors';

/**
 * Found by a fuzzing check: input that passes the edge schema but that a vendor translation
 * read as another shape threw a TypeError there, and the caller got a bare 500 `internal_error`
 * (Anthropic's `api_error`) with the cause in no log. Each is a 400 naming the parameter, in the
 * caller's protocol, on every ingress, through the official SDKs.
 */
const vendors = new FakeVendors();
const served = vendors.serve([
  ['gem', 'gemini-echo', 'gem-x'],
  ['ant', 'claude-echo', 'claude-x'],
  ['oa', 'gpt-echo', 'gpt-x'],
]);
const ask: OpenAI.ChatCompletionMessageParam[] = [{ role: 'user', content: 'hi' }];
/** Parameters that are not JSON Schema: a `type` that is a number, a `required` that is a string. */
const typeIsNumber = { type: 'object', properties: { a: { type: 5 } } };
const requiredIsString = { type: 'object', properties: { a: { type: 'string' } }, required: 'a' };
/** A `type` naming no JSON Schema type. */
const typeMisspelt = { type: 'object', properties: { a: { type: 'strnig' } } };

async function assertBadRequest(call: Promise<unknown>, param: string, message: RegExp): Promise<void> {
  const err = await apiError(call);
  assert.equal(err.status, 400, `${err.status} ${err.message}`);
  assert.equal((err.error as { param?: string }).param, param);
  assert.match(err.message, message);
}

/** What `call`, an Anthropic SDK request, failed with: a BadRequestError of Anthropic's invalid_request_error saying `message`. */
async function assertAnthropicBadRequest(call: Promise<unknown>, message: RegExp): Promise<void> {
  const err = await call.then(
    () => assert.fail('expected an error'),
    (e: unknown) => e,
  );
  assert.ok(err instanceof Anthropic.BadRequestError, String(err));
  assert.equal((err.error as { error: { type: string } }).error.type, 'invalid_request_error');
  assert.match(err.message, message);
}

describe('a tool or output schema that is not JSON Schema, to a Gemini model: a 400 naming it, on every ingress', () => {
  it('chat: tools[].function.parameters and response_format.json_schema.schema', async () => {
    const chat = served.client.chat.completions;
    const tool = (parameters: Record<string, unknown>) => [{ type: 'function' as const, function: { name: 'f', parameters } }];
    await assertBadRequest(
      chat.create({ model: 'gem-x', messages: ask, tools: tool(typeIsNumber) }),
      'tools[0].function.parameters',
      /'type' at properties\.a must be a string or a non-empty array of strings/,
    );
    // Found by an independent check: an unknown type name was sent on upper-cased, for Gemini to refuse.
    await assertBadRequest(
      chat.create({ model: 'gem-x', messages: ask, tools: tool(typeMisspelt) }),
      'tools[0].function.parameters',
      /'type' at properties\.a must be a JSON Schema type \(string, number, integer, boolean, object, array, null\) or an array of them, not 'strnig'/,
    );
    await assertBadRequest(
      chat.create({ model: 'gem-x', messages: ask, tools: tool(requiredIsString) }),
      'tools[0].function.parameters',
      /'required' must be an array of strings/,
    );
    await assertBadRequest(
      chat.create({
        model: 'gem-x',
        messages: ask,
        stream: true,
        response_format: { type: 'json_schema', json_schema: { name: 'x', schema: { type: 5 } } },
      }),
      'response_format.json_schema.schema',
      /'type' must be/,
    );
  });

  it('Responses: tools[].parameters and text.format.schema, named as the Responses request names them', async () => {
    const responses = served.client.responses;
    await assertBadRequest(
      responses.create({
        model: 'gem-x',
        store: false,
        input: 'hi',
        tools: [{ type: 'function', name: 'f', strict: false, parameters: typeIsNumber }],
      }),
      'tools',
      /'type' at properties\.a must be/,
    );
    const format = { type: 'json_schema' as const, name: 'x', schema: { type: 'object', properties: { a: { type: ['string', 5] } } } };
    await assertBadRequest(
      responses.create({ model: 'gem-x', store: false, input: 'hi', text: { format } }),
      'text.format',
      /'type' at properties\.a/,
    );
  });

  it('Messages: tools[].input_schema, as an Anthropic invalid_request_error', async () => {
    const client = new Anthropic({ baseURL: served.gateway.url, apiKey: 'test-client-key', maxRetries: 0 });
    await assertAnthropicBadRequest(
      client.messages.create({
        model: 'gem-x',
        max_tokens: 10,
        messages: [{ role: 'user', content: 'hi' }],
        tools: [{ name: 'f', input_schema: { type: 'object', properties: { a: { type: 0 } } } as Anthropic.Tool.InputSchema }],
      }),
      /'type' at properties\.a must be a string or a non-empty array of strings/,
    );
    await assertAnthropicBadRequest(
      client.messages.create({
        model: 'gem-x',
        max_tokens: 10,
        messages: [{ role: 'user', content: 'hi' }],
        tools: [{ name: 'f', input_schema: typeMisspelt as Anthropic.Tool.InputSchema }],
      }),
      /'type' at properties\.a must be a JSON Schema type .* not 'strnig'/,
    );
  });
});

describe('a chat file part whose fields are not strings: a 400 at the edge for every vendor', () => {
  for (const model of ['gem-x', 'claude-x', 'gpt-x']) {
    it(`${model}: file_data 0, {} or []; file_id and filename a number`, async () => {
      const bad: Record<string, unknown>[] = [
        { file_data: 0 },
        { file_data: {} },
        { file_data: [] },
        { file_id: 5 },
        { filename: 5, file_data: 'JVBERi0=' },
      ];
      for (const file of bad) {
        const content = [
          { type: 'text', text: 'read this' },
          { type: 'file', file: { filename: 'a.pdf', ...file } },
        ];
        const [field] = Object.keys(file).filter((key) => typeof file[key] !== 'string');
        await assertBadRequest(
          served.client.chat.completions.create({ model, messages: [{ role: 'user', content } as OpenAI.ChatCompletionMessageParam] }),
          `messages[0].content[1].file.${field}`,
          /string/,
        );
      }
    });
  }
});

// Found by a hostile-input check (27): an assistant message's `refusal` (OpenAI: a string or null) reached
// Claude's translation unchecked, and a number or an object there failed with a 500 (part.text.trim).
describe('a chat refusal that is not a string: a 400 at the edge for every vendor', () => {
  for (const model of ['gem-x', 'claude-x', 'gpt-x']) {
    it(`${model}: an assistant refusal of 1, {}, [] or true; a refusal part's refusal or a text part's text a number`, async () => {
      const turn = (assistant: Record<string, unknown>) =>
        [
          { role: 'user', content: 'hi' },
          { role: 'assistant', ...assistant },
          { role: 'user', content: 'again' },
        ] as OpenAI.ChatCompletionMessageParam[];
      for (const refusal of [1, { x: 1 }, ['a'], true]) {
        await assertBadRequest(
          served.client.chat.completions.create({ model, messages: turn({ content: null, refusal }) }),
          'messages[1].refusal',
          /string/,
        );
      }
      await assertBadRequest(
        served.client.chat.completions.create({ model, messages: turn({ content: [{ type: 'refusal', refusal: 5 }] }) }),
        'messages[1].content[0].refusal',
        /string/,
      );
      await assertBadRequest(
        served.client.chat.completions.create({ model, messages: turn({ content: [{ type: 'text', text: 5 }] }) }),
        'messages[1].content[0].text',
        /string/,
      );
      // A refusal that is one, as the SDK returns it, is what the assistant said: the turn goes on.
      const answer = await served.client.chat.completions.create({ model, messages: turn({ content: null, refusal: 'I cannot.' }) });
      assert.equal(answer.choices.length, 1);
    });
  }
});

// Found by a hostile-input check (27): security.maxJsonDepth bounded the body but not the JSON the gateway
// parses out of its strings for Claude and Gemini; 5,000 levels (30 KB) parsed, then overflowed the stack in
// the vendor SDK's JSON.stringify: a 500 "Maximum call stack size exceeded", nothing sent upstream.
describe('JSON inside a request string nested past security.maxJsonDepth: a 400 naming it, in the protocol of the caller', () => {
  const deep = '{"a":'.repeat(5_000) + '1' + '}'.repeat(5_000);
  const call = (args: string): OpenAI.ChatCompletionMessageParam => ({
    role: 'assistant',
    content: null,
    tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'f', arguments: args } }],
  });
  const history = (args: string, result: string): OpenAI.ChatCompletionMessageParam[] => [
    { role: 'user', content: 'q' },
    call(args),
    { role: 'tool', tool_call_id: 'call_1', content: result },
  ];
  const tooDeep = /JSON nesting is deeper than 64 levels/;

  it('chat: tool call arguments to Claude and Gemini, a tool result to Gemini', async () => {
    const chat = served.client.chat.completions;
    for (const model of ['claude-x', 'gem-x']) {
      await assertBadRequest(chat.create({ model, messages: history(deep, 'r') }), 'messages[1].tool_calls[0].function.arguments', tooDeep);
    }
    await assertBadRequest(chat.create({ model: 'gem-x', stream: true, messages: history('{}', deep) }), 'messages[2].content', tooDeep);
    // Within the bound, and prose with braces, go on as before.
    const within = '{"a":'.repeat(60) + '1' + '}'.repeat(60);
    const answer = await chat.create({ model: 'gem-x', messages: history(within, 'if (a) {'.repeat(100)) });
    assert.equal(answer.choices.length, 1);
  });

  it('Responses: function_call arguments to Claude and Gemini, a function_call_output to Gemini, named `input`', async () => {
    const input = (args: string, output: string): OpenAI.Responses.ResponseInput => [
      { role: 'user', content: 'q' },
      { type: 'function_call', call_id: 'c1', name: 'f', arguments: args },
      { type: 'function_call_output', call_id: 'c1', output },
    ];
    // Found by an independent check: the message quoted the gateway's chat path (`messages[1].tool_calls[0]…`),
    // a field the caller never sent; it quotes `input`, as `param` names it.
    const inInput = /^400 Invalid 'input': JSON nesting is deeper than 64 levels/;
    for (const model of ['claude-x', 'gem-x'])
      await assertBadRequest(served.client.responses.create({ model, store: false, input: input(deep, 'r') }), 'input', inInput);
    await assertBadRequest(served.client.responses.create({ model: 'gem-x', store: false, input: input('{}', deep) }), 'input', inInput);
  });

  it('Messages: a tool_result to Gemini, as an Anthropic invalid_request_error quoting `messages`', async () => {
    const client = new Anthropic({ baseURL: served.gateway.url, apiKey: 'test-client-key', maxRetries: 0 });
    // The system prompt is the chat translation's messages[0]: a chat path would point at the wrong message.
    await assertAnthropicBadRequest(
      client.messages.create({
        model: 'gem-x',
        max_tokens: 10,
        system: 'be brief',
        messages: [
          { role: 'user', content: 'q' },
          { role: 'assistant', content: [{ type: 'tool_use', id: 'toolu_1', name: 'f', input: {} }] },
          { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_1', content: deep }] },
        ],
      }),
      /^400 .*Invalid 'messages': JSON nesting is deeper than 64 levels/,
    );
  });
});

// Found by the same check: a declared charset was ignored and the body read as UTF-8, so an
// ISO-8859-1 "é" reached the model as U+FFFD with a 200, the prompt changed without an error.
describe('a body declared in a charset other than UTF-8', () => {
  const post = (path: string, contentType: string, body: Buffer) =>
    fetch(`${served.gateway.url}${path}`, {
      method: 'POST',
      headers: { 'content-type': contentType, ...(path.startsWith('/v1/messages') && { 'anthropic-version': '2023-06-01' }) },
      body,
    });
  const latin1 = (json: string) => Buffer.from(json, 'latin1');

  it('is a 415 unsupported_charset on OpenAI routes, and Anthropic`s invalid_request_error on /v1/messages', async () => {
    const chat = latin1(JSON.stringify({ model: 'gpt-x', messages: [{ role: 'user', content: 'héllo' }] }));
    for (const charset of ['iso-8859-1', 'utf-16', '"windows-1252"', 'klingon']) {
      const res = await post('/v1/chat/completions', `application/json; charset=${charset}`, chat);
      assert.equal(res.status, 415, charset);
      const { error } = (await res.json()) as { error: { code: string; message: string } };
      assert.equal(error.code, 'unsupported_charset');
      assert.match(error.message, /UTF-8/);
    }
    const messages = latin1(JSON.stringify({ model: 'claude-x', max_tokens: 10, messages: [{ role: 'user', content: 'héllo' }] }));
    const res = await post('/v1/messages', 'application/json; charset=ISO-8859-1', messages);
    assert.equal(res.status, 400, 'Anthropic answers 400 where OpenAI answers 415');
    const body = (await res.json()) as { type: string; error: { type: string; message: string } };
    assert.equal(body.type, 'error');
    assert.equal(body.error.type, 'invalid_request_error');
    assert.match(body.error.message, /UTF-8/);
  });

  it('bytes that are not UTF-8 under no charset (or utf-8) are a 400 invalid_utf8, not U+FFFD in the prompt', async () => {
    const chat = latin1(JSON.stringify({ model: 'gpt-x', messages: [{ role: 'user', content: 'héllo' }] }));
    for (const contentType of ['application/json', 'application/json; charset=utf-8']) {
      const res = await post('/v1/chat/completions', contentType, chat);
      assert.equal(res.status, 400, contentType);
      const { error } = (await res.json()) as { error: { code: string; message: string } };
      assert.equal(error.code, 'invalid_utf8');
    }
  });

  it('utf-8 (any case, quoted or not) and us-ascii are read as before', async () => {
    const chat = Buffer.from(JSON.stringify({ model: 'gpt-x', messages: [{ role: 'user', content: 'héllo' }] }), 'utf8');
    for (const charset of ['utf-8', 'UTF-8', '"utf-8"', 'utf8', 'us-ascii']) {
      const res = await post('/v1/chat/completions', `application/json; charset=${charset}`, chat);
      assert.equal(res.status, 200, `${charset}: ${await res.clone().text()}`);
      const sent = vendors.openai.last().body as { messages: { content: string }[] };
      assert.equal(sent.messages[0].content, 'héllo', `${charset}: the prompt arrives as sent`);
    }
  });
});
