import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import Anthropic from '@anthropic-ai/sdk';
import type { FakeAnthropic } from '../support/fake-anthropic';
import type { FakeGemini } from '../support/fake-gemini';
import { type FakeOpenAI, REFUSAL } from '../support/fake-openai';
import { FakeVendors } from '../support/fake-vendors';

type Body = Record<string, unknown>;
type AnthropicError = { type: string; error: { type: string; message: string } };

/**
 * What the Messages API ingress carries to other vendors, and what it refuses: fields and blocks
 * Anthropic defines that no other vendor reads are refused (or the request kept to Anthropic
 * deployments), never dropped unseen; what a tool's failure or a model's refusal means reaches
 * the other side. Found by an independent check of the Anthropic ingress.
 */
describe('Messages API translation fidelity', () => {
  const vendors = new FakeVendors();
  const { openai, anthropic, gemini } = vendors;
  const served = vendors.serve([
    ['oa', 'ok', 'm-oai'],
    ['ant', 'claude-echo', 'm-ant'],
    ['gem', 'gemini-echo', 'm-gem'],
    ['oa', 'refusal', 'oa-refusal'],
    ['oa', 'midstream-rate_limit_exceeded', 'oa-mid-rate'],
    ['oa', 'midstream-overloaded', 'oa-mid-overloaded'],
    ['oa', 'midstream-400', 'oa-mid-400'],
  ]);
  const claude = () => new Anthropic({ baseURL: served.gateway.url, apiKey: 'x', maxRetries: 0 });

  const ask = async (model: string, extra: Body = {}) => {
    const res = await fetch(`${served.gateway.url}/v1/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'anthropic-version': '2023-06-01' },
      body: JSON.stringify({ model, max_tokens: 100, messages: [{ role: 'user', content: 'hi' }], ...extra }),
    });
    return { status: res.status, body: (await res.json()) as Body };
  };
  const sentTo = (upstream: FakeOpenAI | FakeGemini | FakeAnthropic) => upstream.last().body as Body;

  describe('output_format, the deprecated name of output_config.format', () => {
    const schema = { type: 'object', properties: { answer: { type: 'string' } }, required: ['answer'], additionalProperties: false };
    const output_format = { type: 'json_schema', schema };

    it('reaches an OpenAI-format upstream as response_format and Gemini as its response schema', async () => {
      assert.equal((await ask('m-oai', { output_format })).status, 200);
      assert.deepEqual(sentTo(openai).response_format, { type: 'json_schema', json_schema: { name: 'output', schema, strict: true } });
      assert.equal((await ask('m-gem', { output_format })).status, 200);
      const config = sentTo(gemini).generationConfig as Body;
      assert.equal(config.responseMimeType, 'application/json');
      assert.ok(config.responseSchema, JSON.stringify(config));
    });

    it('with output_config.format: the same is taken, a different one is a 400 naming output_format', async () => {
      assert.equal((await ask('m-oai', { output_format, output_config: { format: output_format } })).status, 200);
      const other = { type: 'json_schema', schema: { type: 'object', properties: { n: { type: 'number' } } } };
      const refused = await ask('m-oai', { output_format, output_config: { format: other } });
      assert.equal(refused.status, 400);
      assert.equal((refused.body as AnthropicError).error.type, 'invalid_request_error');
      assert.match((refused.body as AnthropicError).error.message, /output_format/);
    });
  });

  describe('top-level fields', () => {
    it('one Anthropic does not define is a 400 naming it on a translated deployment, as Anthropic refuses it', async () => {
      for (const model of ['m-oai', 'm-gem']) {
        const refused = await ask(model, { foo: 1 });
        assert.equal(refused.status, 400, JSON.stringify(refused.body));
        const { error } = refused.body as AnthropicError;
        assert.equal(error.type, 'invalid_request_error');
        assert.match(error.message, /^foo: Extra inputs are not permitted/);
      }
    });

    // Found by an independent re-check: the table's lookup read Object.prototype's members, so these
    // were a 500 (valueOf: a TypeError) or a garbled 400 ("The gateway 1" for constructor).
    it('one named like an Object.prototype member is refused the same way, or sent to Anthropic', async () => {
      for (const field of ['valueOf', 'hasOwnProperty', 'constructor', 'toString', '__defineGetter__']) {
        const refused = await ask('m-oai', { [field]: 1 });
        assert.equal(refused.status, 400, `${field}: ${JSON.stringify(refused.body)}`);
        assert.match((refused.body as AnthropicError).error.message, new RegExp(`^${field}: Extra inputs are not permitted`));
        assert.equal((await ask('m-ant', { [field]: 1 })).status, 200, field);
      }
    });

    it('an Anthropic deployment gets it as sent (a field newer than the gateway`s table is Anthropic`s to judge)', async () => {
      assert.equal((await ask('m-ant', { foo: 1 })).status, 200);
      assert.equal(sentTo(anthropic).foo, 1);
    });

    it('every field of the current SDKs` create params is taken on a translated deployment', async () => {
      const fields: Body = {
        cache_control: { type: 'ephemeral' },
        context_management: { edits: [] },
        diagnostics: { previous_message_id: 'msg_1' },
        inference_geo: 'us',
        service_tier: 'auto',
        speed: 'standard',
        user_profile_id: 'profile-1',
        workspace_id: 'wrkspc_1',
        compaction: null,
        fallbacks: null,
        fallback_credit_token: null,
        billing_policy: null,
        thread: null,
        metadata: { user_id: 'u-1' },
        stop_sequences: ['END'],
        top_k: 5,
      };
      const answer = await ask('m-oai', fields);
      assert.equal(answer.status, 200, JSON.stringify(answer.body));
    });
  });

  describe('documents', () => {
    const document = {
      type: 'document',
      source: { type: 'text', media_type: 'text/plain', data: 'The sky is blue.' },
      title: 'Facts',
      context: 'From a children`s book',
    };
    const asking = (block: Body) => ({
      messages: [{ role: 'user', content: [block, { type: 'text', text: 'What colour is the sky?' }] }],
    });

    it('one with citations enabled is for Anthropic to cite: a 400 naming its citations on a model without Anthropic', async () => {
      const refused = await ask('m-oai', asking({ ...document, citations: { enabled: true } }));
      assert.equal(refused.status, 400);
      assert.match((refused.body as AnthropicError).error.message, /messages\[0\]\.content\[0\]\.citations/);
      assert.equal((await ask('m-ant', asking({ ...document, citations: { enabled: true } }))).status, 200);
    });

    it('translated, it keeps its title and context as text before it', async () => {
      assert.equal((await ask('m-oai', asking(document))).status, 200);
      const parts = (sentTo(openai).messages as { content: { type: string; text?: string }[] }[])[0].content;
      assert.deepEqual(parts.slice(0, 2), [
        { type: 'text', text: 'Document title: Facts\nDocument context: From a children`s book' },
        { type: 'text', text: 'The sky is blue.' },
      ]);
    });
  });

  describe('a tool_result with is_error', () => {
    const failedCall = {
      tools: [{ name: 'get_weather', description: 'Weather', input_schema: { type: 'object', properties: {} } }],
      messages: [
        { role: 'user', content: 'weather?' },
        { role: 'assistant', content: [{ type: 'tool_use', id: 'toolu_1', name: 'get_weather', input: {} }] },
        { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_1', is_error: true, content: '' }] },
      ],
    };

    it('tells an OpenAI-format model the tool failed, in the tool message', async () => {
      assert.equal((await ask('m-oai', failedCall)).status, 200);
      const tool = (sentTo(openai).messages as { role: string; content: string }[]).find((m) => m.role === 'tool');
      assert.match(tool?.content ?? '', /^Error: /);
    });

    it('reaches Gemini under the `error` key of its function response, as Google documents for a failed call', async () => {
      assert.equal((await ask('m-gem', failedCall)).status, 200);
      const parts = (sentTo(gemini).contents as { parts: { functionResponse?: { response: Body } }[] }[]).flatMap((c) => c.parts);
      const response = parts.find((p) => p.functionResponse)?.functionResponse?.response;
      assert.ok(response && typeof response.error === 'string' && response.output === undefined, JSON.stringify(response));
    });
  });

  // Found by an independent check: an OpenAI-format model got the prefill as history and answered afresh, which the
  // client joined onto its prefix ('{"name":' + a whole new answer).
  describe('a final assistant turn (prefill)', () => {
    const prefill = [
      { role: 'user' as const, content: 'Give me a JSON object' },
      { role: 'assistant' as const, content: '{"name":' },
    ];

    it('is a 400 in Anthropic`s shape naming the turn on a model with no Anthropic deployment, never sent', async () => {
      for (const [model, upstream] of [
        ['m-oai', openai],
        ['m-gem', gemini],
      ] as const) {
        const before = upstream.received.length;
        const err = await claude()
          .messages.create({ model, max_tokens: 50, messages: prefill })
          .then(
            () => assert.fail(`${model}: answered`),
            (e: unknown) => e as InstanceType<typeof Anthropic.APIError>,
          );
        assert.ok(err instanceof Anthropic.BadRequestError, String(err));
        const { error } = err.error as AnthropicError;
        assert.equal(error.type, 'invalid_request_error');
        assert.match(error.message, /^messages\[1\] is a final assistant turn for the model to continue \(a prefill\)/);
        assert.match(error.message, new RegExp(`model ${model} routes to no 'anthropic' deployment`));
        assert.equal(upstream.received.length, before, model);
      }
    });

    // Found by a re-check: count_tokens answered the same 400, though counting continues nothing (Anthropic counts
    // the messages create takes, a final assistant turn included).
    it('is counted by count_tokens on any model', async () => {
      for (const model of ['m-oai', 'm-gem']) {
        const counted = await claude().messages.countTokens({ model, messages: prefill });
        assert.ok(counted.input_tokens > 0, `${model}: ${JSON.stringify(counted)}`);
      }
    });

    it('reaches an Anthropic deployment as it came, to be continued', async () => {
      const message = await claude().messages.create({ model: 'm-ant', max_tokens: 50, messages: prefill });
      assert.equal(message.type, 'message');
      assert.deepEqual((sentTo(anthropic).messages as unknown[]).at(-1), prefill[1]);
    });
  });

  // Found by the same check: they reached OpenAI-format and Gemini deployments as one string, "logs.Nothing".
  it('an assistant turn`s text blocks stay apart for OpenAI-format and Gemini deployments', async () => {
    const texts = ['I checked the logs.', 'Nothing failed.'];
    const messages = [
      { role: 'user', content: 'x' },
      { role: 'assistant', content: texts.map((text) => ({ type: 'text', text })) },
      { role: 'user', content: 'ok' },
    ];
    assert.equal((await ask('m-oai', { messages })).status, 200);
    const turn = (sentTo(openai).messages as { content: { text: string }[] }[])[1];
    assert.deepEqual(
      turn.content.map((part) => part.text),
      texts,
    );
    assert.equal((await ask('m-gem', { messages })).status, 200);
    const model = (sentTo(gemini).contents as { parts: { text: string }[] }[])[1];
    assert.deepEqual(
      model.parts.map((part) => part.text),
      texts,
    );
  });

  it('an OpenAI refusal is stop_reason refusal, as JSON and streamed', async () => {
    const message = await claude().messages.create({ model: 'oa-refusal', max_tokens: 50, messages: [{ role: 'user', content: 'hi' }] });
    assert.deepEqual([message.stop_reason, message.content.map((b) => (b.type === 'text' ? b.text : b.type))], ['refusal', [REFUSAL]]);
    const streamed = await claude()
      .messages.stream({ model: 'oa-refusal', max_tokens: 50, messages: [{ role: 'user', content: 'hi' }] })
      .finalMessage();
    assert.equal(streamed.stop_reason, 'refusal');
    assert.equal(streamed.content.map((b) => (b.type === 'text' ? b.text : '')).join(''), REFUSAL);
  });

  it('an OpenAI-format error event mid-stream is the Anthropic error type its code stands for', async () => {
    const expected: [string, string][] = [
      ['oa-mid-rate', 'rate_limit_error'],
      ['oa-mid-overloaded', 'overloaded_error'],
      ['oa-mid-400', 'invalid_request_error'],
    ];
    for (const [model, type] of expected) {
      const err = await claude()
        .messages.stream({ model, max_tokens: 50, messages: [{ role: 'user', content: 'hi' }] })
        .finalMessage()
        .then(
          () => assert.fail(`${model}: the stream completed`),
          (e: unknown) => e as InstanceType<typeof Anthropic.APIError>,
        );
      assert.ok(err instanceof Anthropic.APIError, String(err));
      assert.equal((err.error as AnthropicError).error.type, type, `${model}: ${JSON.stringify(err.error)}`);
    }
  });
});
