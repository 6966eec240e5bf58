import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import type { ResponseCustomToolCall, ResponseInputItem } from 'openai/resources/responses/responses';
import { responseIdOfItem } from '../../apps/gateway/src/responses/ids';
import { apiError, streamedResponse } from '../support/chat';
import { FakeVendors } from '../support/fake-vendors';
import { PATCH } from '../support/fake-upstream';
import { asCodexSendsIt } from '../support/codex-items';

/**
 * Found by an independent check that drove the Codex CLI (0.171.0) through /v1/responses: Codex
 * sends its reasoning items back with `content: null` (a 400, so its loop died after the first
 * tool call on Gemini and on thinking models), declares `apply_patch` as a custom tool when it
 * knows the model's name (a 400 on the first request), and acts on `context_length_exceeded`,
 * which vendors' context-window errors did not carry.
 */
const vendors = new FakeVendors();

const EXEC = {
  type: 'function' as const,
  name: 'exec_command',
  description: 'Runs a command.',
  strict: false,
  parameters: { type: 'object', properties: { cmd: { type: 'string' } }, required: ['cmd'], additionalProperties: false },
};
const GRAMMAR = 'start: begin_patch hunk+ end_patch\nbegin_patch: "*** Begin Patch" LF\nend_patch: "*** End Patch" LF?';
const APPLY_PATCH = {
  type: 'custom' as const,
  name: 'apply_patch',
  description: 'Edits files. This is a FREEFORM tool, so do not wrap the patch in JSON.',
  format: { type: 'grammar' as const, syntax: 'lark' as const, definition: GRAMMAR },
};

type Body = Record<string, any>;

/** Per vendor: the gateway model, and how its wire format shows what the checks look for. */
const VENDORS = [
  {
    name: 'anthropic',
    model: 'codex-ant',
    upstream: () => vendors.anthropic,
    tool: (body: Body) => body.tools.find((t: Body) => t.name === 'apply_patch') as { description: string; schema: Body },
    toolOf: (t: Body) => ({ description: t.description, schema: t.input_schema }),
    forced: (body: Body) => body.tool_choice,
    call: (body: Body) => body.messages.flatMap((m: Body) => m.content).find((b: Body) => b.type === 'tool_use')?.input,
    result: (body: Body) => body.messages.flatMap((m: Body) => m.content).find((b: Body) => b.type === 'tool_result')?.content,
  },
  {
    name: 'gemini',
    model: 'codex-gem',
    upstream: () => vendors.gemini,
    tool: (body: Body) => body.tools[0].functionDeclarations.find((t: Body) => t.name === 'apply_patch'),
    toolOf: (t: Body) => ({ description: t.description, schema: t.parametersJsonSchema ?? t.parameters }),
    forced: (body: Body) => body.toolConfig,
    call: (body: Body) => body.contents.flatMap((c: Body) => c.parts).find((p: Body) => p.functionCall)?.functionCall.args,
    result: (body: Body) => body.contents.flatMap((c: Body) => c.parts).find((p: Body) => p.functionResponse)?.functionResponse.response,
  },
  {
    name: 'openai-compatible',
    model: 'codex-oa',
    upstream: () => vendors.openai,
    tool: (body: Body) => body.tools.find((t: Body) => t.function.name === 'apply_patch').function,
    toolOf: (t: Body) => ({ description: t.description, schema: t.parameters }),
    forced: (body: Body) => body.tool_choice,
    call: (body: Body) => {
      const call = body.messages.find((m: Body) => m.tool_calls)?.tool_calls[0];
      return call && JSON.parse(call.function.arguments);
    },
    result: (body: Body) => body.messages.find((m: Body) => m.role === 'tool')?.content,
  },
];

/** What each vendor is sent to force the call of `apply_patch`. */
const FORCED: Record<string, unknown> = {
  anthropic: { type: 'tool', name: 'apply_patch' },
  gemini: { functionCallingConfig: { mode: 'ANY', allowedFunctionNames: ['apply_patch'] } },
  'openai-compatible': { type: 'function', function: { name: 'apply_patch' } },
};

/** The models `served` serves (fake-vendors.ts, serve). */
const MODELS = [
  ['ant', 'claude-patch', 'codex-ant'],
  ['gem', 'gemini-patch', 'codex-gem'],
  ['oa', 'tool-patch', 'codex-oa'],
  ['ant', 'claude-too-long', 'too-long-ant'],
  ['gem', 'gemini-too-long', 'too-long-gem'],
];

const served = vendors.serve(MODELS);

for (const v of VENDORS) {
  describe(`Codex over /v1/responses, ${v.name} upstream (official openai client)`, () => {
    const ask = {
      model: v.model,
      instructions: 'You are Codex.',
      input: [{ type: 'message' as const, role: 'user' as const, content: [{ type: 'input_text' as const, text: 'Edit hello.txt' }] }],
      tools: [EXEC, APPLY_PATCH],
      tool_choice: { type: 'custom' as const, name: 'apply_patch' },
      store: false,
      include: ['reasoning.encrypted_content' as const],
    };

    /** Codex's request after `first`'s custom call: its reasoning items (content: null), the call, and `output` as its result. */
    const codexNext = (first: OpenAI.Responses.Response, output: string) => {
      const call = first.output.find((o): o is ResponseCustomToolCall => o.type === 'custom_tool_call')!;
      return {
        ...ask,
        tool_choice: 'auto' as const,
        input: [
          ...ask.input,
          // Codex's own shape of a reasoning item it keeps, even with nothing in it.
          { type: 'reasoning', id: 'rs_codex', summary: [], content: null, encrypted_content: null } as never,
          ...first.output.map(asCodexSendsIt),
          { type: 'custom_tool_call_output' as const, call_id: call.call_id, output },
        ],
      };
    };

    it('a custom tool reaches the upstream as a function of one string, `input`, with its grammar; tool_choice custom forces it', async () => {
      await served.client.responses.create(ask);
      const sent = v.upstream().last().body as Body;
      const { description, schema } = v.toolOf(v.tool(sent));
      assert.ok(description.startsWith(APPLY_PATCH.description));
      assert.ok(description.includes(`lark grammar:\n${GRAMMAR}`), description);
      assert.deepEqual(schema.required, ['input']);
      assert.equal(schema.properties.input.type.toLowerCase(), 'string');
      assert.deepEqual(v.forced(sent), FORCED[v.name]);
    });

    it('the call comes back as a custom_tool_call; streamed, as custom_tool_call_input deltas adding up to its input', async () => {
      const created = await served.client.responses.create(ask);
      const call = created.output.find((o): o is ResponseCustomToolCall => o.type === 'custom_tool_call');
      assert.ok(call, JSON.stringify(created.output));
      assert.deepEqual({ name: call.name, input: call.input, id: call.id?.slice(0, 4) }, { name: 'apply_patch', input: PATCH, id: 'ctc_' });

      const { events, final } = await streamedResponse(served.client, ask);
      const streamedCall = final.output.find((o) => o.type === 'custom_tool_call');
      // Gemini's calls have no id: the gateway makes one per answer.
      assert.deepEqual(streamedCall && { ...streamedCall, id: 0, call_id: 0 }, { ...call, id: 0, call_id: 0 });
      const deltas = events.filter((e) => e.type === 'response.custom_tool_call_input.delta');
      assert.ok(deltas.length > 0);
      assert.equal(deltas.map((e) => e.delta).join(''), PATCH);
      const done = events.find((e) => e.type === 'response.custom_tool_call_input.done');
      assert.deepEqual(done && { input: done.input, item_id: done.item_id }, { input: PATCH, item_id: streamedCall?.id });
      assert.ok(!events.some((e) => e.type.startsWith('response.function_call_arguments')));
    });

    it('Codex`s next request (reasoning with content: null, the custom call and its output) continues the loop', async () => {
      const first = await served.client.responses.create(ask);
      const next = await served.client.responses.create(codexNext(first, 'Success. Updated hello.txt'));
      const sent = v.upstream().last().body as Body;
      assert.deepEqual(v.call(sent), { input: PATCH });
      assert.match(JSON.stringify(v.result(sent)), /Success\. Updated hello\.txt/);
      assert.match(next.output_text, /^tool results: /);
      if (v.name === 'anthropic') assert.match(JSON.stringify(sent.messages), /"signature":"sig-patch"/);
      if (v.name === 'gemini') assert.deepEqual(vendors.gemini.replayedSignatures(), [['gsig-patch']]);
    });

    /** What the upstream must be sent of a stored custom call: the call as the function's, with its signature. */
    const sentBack = (sent: Body, output: string) => {
      assert.deepEqual(v.call(sent), { input: PATCH });
      assert.ok(JSON.stringify(v.result(sent)).includes(output), JSON.stringify(v.result(sent)));
      if (v.name === 'anthropic') assert.match(JSON.stringify(sent.messages), /"signature":"sig-patch"/);
      if (v.name === 'gemini') assert.deepEqual(vendors.gemini.replayedSignatures()[0], ['gsig-patch']);
      if (v.name === 'openai-compatible') {
        // Only what a client's replay gives: nothing the upstream answered with, no custom-tool fields.
        const assistant = sent.messages.find((m: Body) => m.tool_calls);
        assert.deepEqual(Object.keys(assistant).sort(), ['content', 'role', 'tool_calls']);
        assert.deepEqual(assistant.tool_calls, [
          {
            id: assistant.tool_calls[0].id,
            type: 'function',
            function: { name: 'apply_patch', arguments: JSON.stringify({ input: PATCH }) },
          },
        ]);
        assert.deepEqual(
          sent.messages.find((m: Body) => m.role === 'tool'),
          {
            role: 'tool',
            tool_call_id: assistant.tool_calls[0].id,
            content: output,
          },
        );
      }
    };

    // The stored turn is the output items read as a client sends them back (response.ts, answerMessages).
    for (const streamed of [false, true]) {
      it(`previous_response_id after a ${streamed ? 'streamed' : 'created'} custom_tool_call sends it as the function's call with {"input"}, custom_tool_call_output as its result`, async () => {
        const stored = { ...ask, store: true };
        const first = streamed
          ? await served.client.responses.stream(stored).finalResponse()
          : await served.client.responses.create(stored);
        const output: OpenAI.Responses.ResponseOutputItem[] = first.output;
        const call = output.find((o): o is ResponseCustomToolCall => o.type === 'custom_tool_call')!;
        assert.ok(call, JSON.stringify(output));
        const next = await served.client.responses.create({
          model: v.model,
          instructions: ask.instructions,
          tools: ask.tools,
          previous_response_id: first.id,
          input: [{ type: 'custom_tool_call_output', call_id: call.call_id, output: 'Success. Updated hello.txt' }],
        });
        sentBack(v.upstream().last().body as Body, 'Success. Updated hello.txt');
        assert.match(next.output_text, /^tool results: /);
      });
    }

    it('Codex`s request (reasoning with content: null), stored and continued by previous_response_id, sends the same conversation', async () => {
      const first = await served.client.responses.create(ask);
      const replayed = await served.client.responses.create({ ...codexNext(first, 'Applied.'), store: true });
      const listed = await served.client.responses.inputItems.list(replayed.id, { order: 'asc' });
      assert.ok(listed.data.some((item) => item.type === 'reasoning' && (item as { content?: unknown }).content === null));
      await served.client.responses.create({
        model: v.model,
        instructions: ask.instructions,
        tools: ask.tools,
        previous_response_id: replayed.id,
        input: 'Thanks. Now check it.',
      });
      const sent = v.upstream().last().body as Body;
      sentBack(sent, 'Applied.');
      assert.match(JSON.stringify(sent), /tool results: /, 'the stored answer');
    });
  });
}

describe('a vendor`s context-window error reaches OpenAI clients as context_length_exceeded', () => {
  for (const [model, message] of [
    // In OpenAI's words (test/e2e/context-overflow-words.e2e.test.ts), the vendor's after them.
    ['too-long-ant', /^This model's maximum context length is 200000 tokens\. .* prompt is too long: 208310 tokens > 200000 maximum$/],
    [
      'too-long-gem',
      /^This model's maximum context length is 1048576 tokens\. .* The input token count \(1200293\) exceeds the maximum number of tokens allowed \(1048576\)/,
    ],
  ] as const) {
    it(`${model}: chat completions and responses (created and streamed) say code context_length_exceeded`, async () => {
      const calls = [
        () => served.client.chat.completions.create({ model, messages: [{ role: 'user', content: 'hi' }] }),
        () => served.client.responses.create({ model, input: 'hi' }),
        async () => {
          for await (const _ of await served.client.responses.create({ model, input: 'hi', stream: true }));
        },
      ];
      for (const call of calls) {
        const err = await apiError(call());
        assert.deepEqual(
          { status: err.status, type: err.type, code: err.code },
          {
            status: 400,
            type: 'invalid_request_error',
            code: 'context_length_exceeded',
          },
        );
        assert.match((err.error as { message: string }).message, message);
      }
    });
  }

  it('the Anthropic ingress keeps Anthropic`s shape: invalid_request_error with the message', async () => {
    const anthropic = new Anthropic({ baseURL: served.gateway.url, apiKey: 'test-client-key', maxRetries: 0 });
    const err = await anthropic.messages
      .create({ model: 'too-long-ant', max_tokens: 10, messages: [{ role: 'user', content: 'hi' }] })
      .then(
        () => assert.fail('answered'),
        (e: InstanceType<typeof Anthropic.APIError>) => e,
      );
    assert.equal(err.status, 400);
    assert.deepEqual((err.error as { error: object }).error, {
      type: 'invalid_request_error',
      message: 'prompt is too long: 208310 tokens > 200000 maximum',
    });
  });
});

describe('an item_reference with type: null (OpenAI documents the type as nullable)', () => {
  it('is resolved from the store like one typed item_reference', async () => {
    const first = await served.client.responses.create({ model: 'mock-1', input: 'Hello there' });
    const next = await served.client.responses.create({
      model: 'mock-1',
      input: [{ type: null, id: first.output[0].id } as never, { role: 'user', content: 'And again?' }],
    });
    const items = await served.client.responses.inputItems.list(next.id, { order: 'asc' });
    assert.deepEqual(
      items.data.map((item) => item.type),
      ['message', 'message'],
    );
    // Listed under an id naming the listed response (input-items.ts), as the item it named.
    assert.deepEqual({ ...items.data[0], id: undefined }, { ...first.output[0], id: undefined });
    assert.equal(responseIdOfItem(items.data[0].id!), next.id);
  });
});
