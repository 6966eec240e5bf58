import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import OpenAI from 'openai';
import type { ResponseInputItem, ResponseOutputItem, ResponseToolSearchCall, Tool } from 'openai/resources/responses/responses';
import { apiError, streamedResponse } from '../support/chat';
import { WEATHER_ARGS } from '../support/fake-anthropic';
import { FakeVendors } from '../support/fake-vendors';
import { asCodexSendsIt } from '../support/codex-items';

/**
 * Found by an independent check that drove the Codex CLI (0.171.0) through /v1/responses: for a model
 * name Codex knows, it declares a client-executed `tool_search` tool, a 400 on its first request, so
 * Codex could not run at all. The model's search is now a `tool_search_call`, and the tools Codex's
 * `tool_search_output` loads are declared upstream from then on, on every provider.
 */
const vendors = new FakeVendors();

/** The tool as Codex 0.171 declares it. */
const TOOL_SEARCH = {
  type: 'tool_search',
  execution: 'client',
  description: '# Tool discovery\n\nSearches over deferred tool metadata with BM25 and exposes matching tools for the next model call.',
  parameters: {
    type: 'object',
    properties: {
      limit: { type: 'number', description: 'Maximum number of tools to return. Defaults to 8.' },
      query: { type: 'string', description: 'Search query for deferred tools.' },
    },
    required: ['query'],
    additionalProperties: false,
  },
} as Tool;

const CUSTOMER_PARAMETERS = { type: 'object', properties: { id: { type: 'string' } }, required: ['id'], additionalProperties: false };
/** What Codex's search loads: an MCP server's tools as a namespace, each deferred. */
const CRM = {
  type: 'namespace',
  name: 'crm',
  description: 'Tools of the CRM server.',
  tools: [
    {
      type: 'function',
      name: 'get_customer',
      description: 'Looks up a customer.',
      strict: false,
      defer_loading: true,
      parameters: CUSTOMER_PARAMETERS,
    },
  ],
} as Tool;

type Body = Record<string, any>;
interface Declared {
  name: string;
  description: string;
  schema: Body;
}

/**
 * Per vendor: the gateway's models that call the first tool they are given (`search`, on the fake's
 * model `fake`: tool_search; `loaded`: the loaded crm__get_customer) and the arguments they call it
 * with, and how its wire format shows tools, calls and results.
 */
const VENDORS = [
  {
    name: 'anthropic',
    provider: 'ant',
    fake: 'claude-tool',
    search: 'search-ant',
    loaded: 'search-ant',
    args: WEATHER_ARGS as Body,
    upstream: () => vendors.anthropic,
    declared: (body: Body): Declared[] =>
      body.tools.map((t: Body) => ({ name: t.name, description: t.description, schema: t.input_schema })),
    call: (body: Body) => {
      const use = body.messages.flatMap((m: Body) => m.content).find((b: Body) => b.type === 'tool_use');
      return use && { name: use.name, args: use.input };
    },
    result: (body: Body) => body.messages.flatMap((m: Body) => m.content).find((b: Body) => b.type === 'tool_result')?.content,
  },
  {
    name: 'gemini',
    provider: 'gem',
    fake: 'gemini-tool',
    search: 'search-gem',
    loaded: 'search-gem',
    args: { city: 'Paris', unit: 'celsius' } as Body,
    upstream: () => vendors.gemini,
    declared: (body: Body): Declared[] =>
      body.tools[0].functionDeclarations.map((t: Body) => ({
        name: t.name,
        description: t.description,
        schema: t.parametersJsonSchema ?? t.parameters,
      })),
    call: (body: Body) => {
      const call = body.contents.flatMap((c: Body) => c.parts).find((p: Body) => p.functionCall)?.functionCall;
      return call && { name: call.name, args: call.args };
    },
    result: (body: Body) => body.contents.flatMap((c: Body) => c.parts).find((p: Body) => p.functionResponse)?.functionResponse.response,
  },
  {
    name: 'openai-compatible',
    provider: 'oa',
    fake: 'call-tool_search',
    search: 'search-oa',
    loaded: 'loaded-oa',
    args: { query: 'Find a customer tool' } as Body,
    upstream: () => vendors.openai,
    declared: (body: Body): Declared[] =>
      body.tools.map((t: Body) => ({ name: t.function.name, description: t.function.description, schema: t.function.parameters })),
    call: (body: Body) => {
      const call = body.messages.find((m: Body) => m.tool_calls)?.tool_calls[0].function;
      return call && { name: call.name, args: JSON.parse(call.arguments) };
    },
    result: (body: Body) => body.messages.find((m: Body) => m.role === 'tool')?.content,
  },
];

// The search models on each vendor's fake; an OpenAI-compatible one calling the loaded tool; one answering in text.
const served = vendors.serve([
  ...VENDORS.map((v) => [v.provider, v.fake, v.search]),
  ['oa', 'call-crm__get_customer', 'loaded-oa'],
  ['oa', 'tool-first', 'first-oa'],
  ['oa', 'echo', 'echo-oa'],
]);

const ASK = [{ type: 'message' as const, role: 'user' as const, content: [{ type: 'input_text' as const, text: 'Find a customer tool' }] }];

/** Codex's items after `first`'s search: the search as it came, and what Codex found, `tools`. */
function searched(first: OpenAI.Responses.Response, tools: Tool[]): ResponseInputItem[] {
  const call = first.output.find((o): o is ResponseToolSearchCall => o.type === 'tool_search_call')!;
  assert.ok(call, JSON.stringify(first.output));
  const output = {
    type: 'tool_search_output',
    call_id: call.call_id,
    execution: 'client',
    status: 'completed',
    tools,
  } as ResponseInputItem;
  return [...first.output.map(asCodexSendsIt), output];
}

for (const v of VENDORS) {
  describe(`client-executed tool search over /v1/responses, ${v.name} upstream (official openai client)`, () => {
    const ask = { model: v.search, input: ASK, tools: [TOOL_SEARCH], store: false, include: ['reasoning.encrypted_content' as const] };

    it('tool_search reaches the upstream as a function with the client`s description and parameters', async () => {
      await served.client.responses.create(ask);
      const declared = v.declared(v.upstream().last().body as Body);
      const search = declared.find((t) => t.name === 'tool_search');
      assert.ok(search, JSON.stringify(declared));
      assert.equal(search.description, (TOOL_SEARCH as { description: string }).description);
      assert.deepEqual(search.schema.required, ['query']);
      assert.deepEqual(Object.keys(search.schema.properties).sort(), ['limit', 'query']);
    });

    it('the model`s search comes back as a tool_search_call (created and streamed), its arguments a JSON value', async () => {
      const created = await served.client.responses.create(ask);
      const call = created.output.find((o): o is ResponseToolSearchCall => o.type === 'tool_search_call');
      assert.ok(call, JSON.stringify(created.output));
      assert.deepEqual(
        { execution: call.execution, status: call.status, arguments: call.arguments, id: call.id.slice(0, 4) },
        { execution: 'client', status: 'completed', arguments: v.args, id: 'tsc_' },
      );
      assert.ok(call.call_id);

      const { events, final } = await streamedResponse(served.client, ask);
      const streamed = final.output.find((o) => o.type === 'tool_search_call');
      assert.deepEqual(streamed && { ...streamed, id: 0, call_id: 0 }, { ...call, id: 0, call_id: 0 });
      const added = events.find((e) => e.type === 'response.output_item.added' && e.item.type === 'tool_search_call');
      const done = events.find((e) => e.type === 'response.output_item.done' && e.item.type === 'tool_search_call');
      assert.equal(added?.type === 'response.output_item.added' && (added.item as ResponseToolSearchCall).status, 'in_progress');
      assert.deepEqual(done?.type === 'response.output_item.done' && done.item, streamed);
      // OpenAI has no events for a tool search's arguments: they come whole with the item.
      assert.ok(!events.some((e) => e.type.startsWith('response.function_call_arguments')));
    });

    it('Codex`s next request (the call, its tool_search_output) declares the loaded tools upstream and gives the search`s result', async () => {
      const first = await served.client.responses.create(ask);
      const next = await served.client.responses.create({ ...ask, input: [...ASK, ...searched(first, [CRM])] });
      const sent = v.upstream().last().body as Body;
      const loaded = v.declared(sent).find((t) => t.name === 'crm__get_customer');
      assert.equal(loaded?.description, 'Looks up a customer.');
      // Gemini's schema dialect differs (its provider translates it): the parameter is what counts.
      assert.deepEqual(
        { required: loaded.schema.required, properties: Object.keys(loaded.schema.properties) },
        { required: ['id'], properties: ['id'] },
      );
      assert.deepEqual(v.call(sent), { name: 'tool_search', args: v.args });
      assert.match(JSON.stringify(v.result(sent)), /Tools loaded, callable from now on: crm__get_customer\./);
      assert.match(next.output_text, /^tool results: /);
    });

    it('a call of a loaded tool comes back as a function_call of its namespace', async () => {
      const first = await served.client.responses.create(ask);
      const next = await served.client.responses.create({
        model: v.loaded,
        store: false,
        // An answer between, so the last message is the user's alone (Anthropic and Gemini send tool results as the user's).
        input: [
          ...ASK,
          ...searched(first, [CRM]),
          { role: 'assistant', content: 'Found it.' },
          { role: 'user', content: 'Look up customer 7.' },
        ],
      });
      const call = next.output.find((o) => o.type === 'function_call');
      assert.deepEqual(
        call && { name: call.name, namespace: call.namespace },
        { name: 'get_customer', namespace: 'crm' },
        JSON.stringify(next.output),
      );
    });

    for (const streamed of [false, true]) {
      it(`previous_response_id after a ${streamed ? 'streamed' : 'created'} tool search keeps its tools declared on the turns after`, async () => {
        const first = await served.client.responses.create(ask);
        const loaded = { ...ask, store: true, input: [...ASK, ...searched(first, [CRM])] };
        const answer = streamed
          ? await served.client.responses.stream(loaded).finalResponse()
          : await served.client.responses.create(loaded);
        // A turn answered in text between, so the chain runs on past the search.
        const then = await served.client.responses.create({
          ...ask,
          model: 'echo-oa',
          previous_response_id: answer.id,
          input: 'Thanks.',
          store: true,
        });
        await served.client.responses.create({ ...ask, previous_response_id: then.id, input: 'And again.' });
        const sent = v.upstream().last().body as Body;
        assert.deepEqual(
          v.declared(sent).map((t) => t.name),
          ['tool_search', 'crm__get_customer'],
        );
        assert.deepEqual(v.call(sent), { name: 'tool_search', args: v.args });
        assert.match(JSON.stringify(v.result(sent)), /crm__get_customer/);
      });
    }
  });
}

describe('tool search: what the gateway cannot honour is a 400 naming it', () => {
  const call = { type: 'tool_search_call', call_id: 'call_1', execution: 'client', arguments: { query: 'crm' } } as const;
  const output = (tools: unknown[], callId = 'call_1') =>
    ({ type: 'tool_search_output', call_id: callId, execution: 'client', tools }) as ResponseInputItem;
  const cases: [string, Record<string, unknown>, string, RegExp][] = [
    ['hosted tool search', { tools: [{ type: 'tool_search' }] }, 'tools[0].execution', /execution: 'client'/],
    [
      'a client-executed one without parameters',
      { tools: [{ type: 'tool_search', execution: 'client' }] },
      'tools[0].parameters',
      /'parameters'/,
    ],
    ['an output without call_id', { input: [call, { type: 'tool_search_output', tools: [] }] }, 'input[1].call_id', /call_id/],
    ['a hosted tool loaded by the search', { input: [call, output([{ type: 'web_search' }])] }, 'input[1].tools[0].type', /web_search/],
  ];
  for (const [what, body, param, message] of cases) {
    it(what, async () => {
      const err = await apiError(served.client.responses.create({ model: 'echo-oa', input: 'hi', ...body } as never));
      assert.equal(err.status, 400);
      assert.equal(err.param, param);
      assert.match((err.error as { message: string }).message, message);
    });
  }

  it('a tool loaded twice (two searches found it) is declared upstream once', async () => {
    await served.client.responses.create({
      model: 'echo-oa',
      input: [call, output([CRM]), { ...call, call_id: 'call_2' }, output([CRM], 'call_2'), { role: 'user', content: 'go' }],
      tools: [TOOL_SEARCH],
    });
    const sent = vendors.openai.last().body as Body;
    assert.deepEqual(
      sent.tools.map((t: Body) => t.function.name),
      ['tool_search', 'crm__get_customer'],
    );
  });
});

/**
 * Found by an independent re-check: a namespace of 34 characters and a tool of 46 went upstream as one
 * function name of 82; OpenAI refuses a name over 64, which broke the Codex turn.
 */
const LONG_NAMESPACE = `mcp__${'customer_records_'.repeat(2)}`;
const LONG_TOOL = `look_up_${'customer_record_by_'.repeat(2)}id`;
const LONG = { ...CRM, name: LONG_NAMESPACE, tools: [{ ...(CRM as { tools: object[] }).tools[0], name: LONG_TOOL }] } as Tool;
/** Per vendor, the gateway's model that calls the first tool it is given. */
const CALLS_FIRST: Record<string, string> = { anthropic: 'search-ant', gemini: 'search-gem', 'openai-compatible': 'first-oa' };

for (const v of VENDORS) {
  describe(`a namespaced tool whose flattened name passes 64 characters, ${v.name} upstream`, () => {
    const ask = { model: CALLS_FIRST[v.name], input: ASK, tools: [LONG], store: false };

    it('goes upstream fitted to 64 characters, and its call comes back by its own name and namespace, created and streamed', async () => {
      assert.ok(LONG_NAMESPACE.length + 2 + LONG_TOOL.length > 64);
      const created = await served.client.responses.create(ask);
      const [fitted] = v.declared(v.upstream().last().body as Body).map((t) => t.name);
      assert.match(fitted, /^[a-zA-Z0-9_-]{1,64}$/);
      const { final } = await streamedResponse(served.client, ask);
      assert.equal(v.declared(v.upstream().last().body as Body)[0].name, fitted, 'the same name every time');
      for (const response of [created, final]) {
        const call = response.output.find((o) => o.type === 'function_call');
        assert.deepEqual(
          call && { name: call.name, namespace: call.namespace },
          { name: LONG_TOOL, namespace: LONG_NAMESPACE },
          JSON.stringify(response.output),
        );
      }

      // Sent back, the call goes upstream by the name the tool is declared under.
      const call = created.output.find((o) => o.type === 'function_call')!;
      const { name, namespace, call_id, arguments: args } = call;
      const sentBack = { type: 'function_call', name, namespace, call_id, arguments: args } as ResponseInputItem;
      await served.client.responses.create({ ...ask, input: [...ASK, sentBack, { type: 'function_call_output', call_id, output: 'Ada' }] });
      assert.equal(v.call(v.upstream().last().body as Body)?.name, fitted);
    });
  });
}
