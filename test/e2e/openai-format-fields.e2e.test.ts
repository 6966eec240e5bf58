import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import Anthropic from '@anthropic-ai/sdk';
import type OpenAI from 'openai';
import { parse as parseYaml } from 'yaml';
import { signatureBlock } from '../../libs/providers/src/gemini/signatures';
import { FakeOpenAI } from '../support/fake-openai';
import { configWith, GatewayProcess } from '../support/gateway';

/** The shipped config's `mistral` provider, as it is but for the address of its API. */
function shippedMistral(baseUrl: string): Record<string, unknown> {
  const shipped = parseYaml(readFileSync(resolve(__dirname, '../../../config/gateway.yaml'), 'utf8')) as {
    providers: Record<string, unknown>[];
  };
  return { ...shipped.providers.find((p) => p.name === 'mistral')!, baseUrl, apiKeyEnv: 'FAKE_KEY' };
}

/**
 * Fields the gateway writes itself must not break a request the client made valid. Servers that
 * refuse fields they do not define (Mistral: 422 extra_forbidden, which does not fail over) failed
 * every stream (the gateway's `stream_options`), every /v1/messages request and every /v1/responses
 * one with `max_output_tokens` (the codecs' `max_completion_tokens`). Found by an independent check.
 * The fake's `mistral` model answers as Mistral's API does; the provider is the shipped one.
 */
describe('the fields OpenAI-format upstreams are sent (maxTokensField, streamOptions)', () => {
  const upstream = new FakeOpenAI();
  let gateway: GatewayProcess;
  let client: OpenAI;
  let claude: Anthropic;
  const sent = () => upstream.last().body;
  const sentMessage = (i: number) => (sent().messages as Record<string, unknown>[])[i];
  const ask = [{ role: 'user' as const, content: 'say hello' }];

  before(async () => {
    const baseUrl = await upstream.start();
    const deploy = (name: string, provider: string, model: string) => ({ name, deployments: [{ provider, model }] });
    gateway = await GatewayProcess.start(
      configWith({
        providers: [
          shippedMistral(baseUrl),
          { name: 'compat', type: 'openai-compatible', baseUrl, apiKeyEnv: 'FAKE_KEY' },
          { name: 'oai', type: 'openai', baseUrl, apiKeyEnv: 'FAKE_KEY' },
          { name: 'compat-new', type: 'openai-compatible', baseUrl, apiKeyEnv: 'FAKE_KEY', maxTokensField: 'max_completion_tokens' },
        ],
        models: [
          deploy('m-mistral', 'mistral', 'mistral'),
          deploy('m-compat', 'compat', 'ok'),
          deploy('m-oai', 'oai', 'ok'),
          deploy('m-compat-new', 'compat-new', 'ok'),
        ],
        cache: { enabled: false },
      }),
      { env: { FAKE_KEY: 'sk-fake' } },
    );
    client = gateway.client();
    claude = new Anthropic({ baseURL: gateway.url, apiKey: 'unused', maxRetries: 0 });
  });
  after(async () => {
    await gateway?.stop();
    await upstream.stop();
  });

  describe('the shipped mistral provider', () => {
    it('a streamed chat completion: no stream_options sent; usage from the stream`s last chunk, not estimated', async () => {
      const stream = await client.chat.completions.create({ model: 'm-mistral', stream: true, messages: ask }).withResponse();
      let text = '';
      for await (const chunk of stream.data) text += chunk.choices[0]?.delta.content ?? '';
      assert.equal(text, 'fake answer to: say hello');
      assert.equal('stream_options' in sent(), false);
      const [line] = await gateway.logged('request', { where: (l) => l.reqId === stream.response.headers.get('x-request-id') });
      assert.deepEqual([line?.promptTokens, line?.completionTokens, line?.usageEstimated], [11, 7, undefined]);
    });

    it('a client that asks for stream usage gets the usage Mistral reports, and its stream_options is not sent', async () => {
      const stream = await client.chat.completions.create({
        model: 'm-mistral',
        stream: true,
        stream_options: { include_usage: true },
        messages: ask,
      });
      let usage;
      for await (const chunk of stream) usage = chunk.usage ?? usage;
      assert.deepEqual(usage, { prompt_tokens: 11, completion_tokens: 7, total_tokens: 18 });
      assert.equal('stream_options' in sent(), false);
    });

    it('the caller`s max_completion_tokens goes as max_tokens', async () => {
      const res = await client.chat.completions.create({ model: 'm-mistral', max_completion_tokens: 50, messages: ask });
      assert.equal(res.choices[0].message.content, 'fake answer to: say hello');
      assert.deepEqual([sent().max_tokens, 'max_completion_tokens' in sent()], [50, false]);
    });

    it('/v1/messages (official Anthropic SDK), streamed and not: max_tokens as max_tokens', async () => {
      const message = await claude.messages.create({ model: 'm-mistral', max_tokens: 256, messages: ask });
      assert.equal((message.content[0] as Anthropic.TextBlock).text, 'fake answer to: say hello');
      assert.deepEqual([sent().max_tokens, 'max_completion_tokens' in sent()], [256, false]);
      const streamed = await claude.messages.stream({ model: 'm-mistral', max_tokens: 256, messages: ask }).finalMessage();
      assert.equal((streamed.content[0] as Anthropic.TextBlock).text, 'fake answer to: say hello');
      assert.equal(streamed.usage.output_tokens, 7, 'usage from the last chunk');
      assert.deepEqual([sent().max_tokens, 'stream_options' in sent()], [256, false]);
    });

    it('/v1/responses with max_output_tokens (official openai client), streamed and not', async () => {
      const res = await client.responses.create({ model: 'm-mistral', input: 'say hello', max_output_tokens: 256 });
      assert.equal(res.output_text, 'fake answer to: say hello');
      assert.deepEqual([sent().max_tokens, 'max_completion_tokens' in sent()], [256, false]);
      const stream = client.responses.stream({ model: 'm-mistral', input: 'say hello', max_output_tokens: 256 });
      const final = await stream.finalResponse();
      assert.equal(final.output_text, 'fake answer to: say hello');
      assert.equal(final.usage?.output_tokens, 7);
      assert.deepEqual([sent().max_tokens, 'stream_options' in sent()], [256, false]);
    });

    it('reasoning replayed through /v1/responses is not sent back (omitMessageFields)', async () => {
      const input: OpenAI.Responses.ResponseInput = [
        { role: 'user', content: 'question' },
        { type: 'reasoning', id: 'rs_1', summary: [{ type: 'summary_text', text: 'I thought about it.' }] },
        { role: 'assistant', content: 'answer' },
        { role: 'user', content: 'say hello' },
      ];
      assert.equal((await client.responses.create({ model: 'm-mistral', input })).output_text, 'fake answer to: say hello');
    });

    // Found by an independent check: the stored turn of a stream carried `refusal: null`, and of a
    // non-streamed answer whatever the upstream's message had (OpenAI's `refusal: null`,
    // `annotations: []`), so a chain's second turn on Mistral was its 422.
    it('a /v1/responses chain continues on Mistral after a streamed turn and after an OpenAI answer', async () => {
      const streamed = await client.responses.stream({ model: 'm-mistral', input: 'first' }).finalResponse();
      const fromOpenAI = await client.responses.create({ model: 'm-oai', input: 'first' });
      for (const previous of [streamed, fromOpenAI]) {
        const next = await client.responses.create({ model: 'm-mistral', previous_response_id: previous.id, input: 'say hello' });
        assert.equal(next.output_text, 'fake answer to: say hello');
        assert.deepEqual(sentMessage(1), { role: 'assistant', content: 'fake answer to: first' });
      }
    });

    // Found by an independent check: the call's `extra_content` was Mistral's 422 whenever a
    // conversation that began on Gemini (or a model group's Gemini deployment) went on on Mistral.
    it('a Gemini thought signature on a tool call is not sent, from any of the three APIs', async () => {
      const call = { id: 'call_1', type: 'function' as const, function: { name: 'get', arguments: '{"a":1}' } };
      const signed = { ...call, extra_content: { google: { thought_signature: 'SIG' } } };
      const chat = await client.chat.completions.create({
        model: 'm-mistral',
        messages: [
          ...ask,
          { role: 'assistant', content: null, tool_calls: [signed] },
          { role: 'tool', tool_call_id: 'call_1', content: '42' },
        ],
      });
      assert.equal(chat.choices[0].message.content, 'fake answer to: 42');
      assert.deepEqual(sentMessage(1).tool_calls, [call]);

      const thinking = signatureBlock('call_1', 'SIG');
      await claude.messages.create({
        model: 'm-mistral',
        max_tokens: 64,
        messages: [
          ...ask,
          { role: 'assistant', content: [thinking, { type: 'tool_use', id: 'call_1', name: 'get', input: { a: 1 } }] },
          { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'call_1', content: '42' }] },
        ],
      });
      assert.deepEqual(sentMessage(1).tool_calls, [call]);

      const encrypted_content = Buffer.from(JSON.stringify([thinking])).toString('base64url');
      await client.responses.create({
        model: 'm-mistral',
        input: [
          ...ask,
          { type: 'reasoning', id: 'rs_1', summary: [], encrypted_content },
          { type: 'function_call', call_id: 'call_1', name: 'get', arguments: '{"a":1}' },
          { type: 'function_call_output', call_id: 'call_1', output: '42' },
        ],
      });
      assert.deepEqual(sentMessage(1).tool_calls, [call]);
    });

    // Found by an independent check: Claude Code sends metadata.user_id with every request, and
    // Mistral defines no `user`.
    it('/v1/messages with metadata.user_id: no `user` (omitRequestFields)', async () => {
      const message = await claude.messages.create({ model: 'm-mistral', max_tokens: 64, metadata: { user_id: 'u1' }, messages: ask });
      assert.equal((message.content[0] as Anthropic.TextBlock).text, 'fake answer to: say hello');
      assert.equal('user' in sent(), false);
    });

    // Found by an independent check: Codex sends prompt_cache_key with every request (and may send
    // safety_identifier, service_tier, text.verbosity), which the Responses codec maps into the chat
    // request; Mistral defines prompt_cache_key and reasoning_effort, but not the others (its 422).
    it('a Codex-shaped /v1/responses request: what Mistral does not define is not sent, what it does is', async () => {
      const res = await client.responses.create({
        model: 'm-mistral',
        input: 'say hello',
        prompt_cache_key: 'codex-session-1',
        safety_identifier: 'user-1',
        service_tier: 'auto',
        text: { verbosity: 'low' },
        reasoning: { effort: 'medium' },
        user: 'u1',
      });
      assert.equal(res.output_text, 'fake answer to: say hello');
      assert.deepEqual(
        ['user', 'safety_identifier', 'service_tier', 'verbosity'].filter((field) => field in sent()),
        [],
      );
      assert.deepEqual([sent().prompt_cache_key, sent().reasoning_effort], ['codex-session-1', 'medium']);
    });
  });

  it('by default an OpenAI-compatible server gets the `user` the Messages API`s metadata.user_id becomes', async () => {
    await claude.messages.create({ model: 'm-compat', max_tokens: 64, metadata: { user_id: 'u1' }, messages: ask });
    assert.equal(sent().user, 'u1');
  });

  it('by default an OpenAI-compatible server gets max_tokens (either name sent) and is asked for stream usage', async () => {
    await client.chat.completions.create({ model: 'm-compat', max_completion_tokens: 40, messages: ask });
    assert.deepEqual([sent().max_tokens, 'max_completion_tokens' in sent()], [40, false]);
    const stream = await client.chat.completions.create({ model: 'm-compat', stream: true, messages: ask });
    for await (const _ of stream);
    assert.deepEqual(sent().stream_options, { include_usage: true });
  });

  it('stream_options without stream is refused as OpenAI refuses it, whichever deployment would answer', async () => {
    const before = upstream.received.length;
    for (const model of ['m-compat', 'mock-1']) {
      const res = await fetch(`${gateway.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model, messages: ask, stream_options: { include_usage: true } }),
      });
      assert.equal(res.status, 400, model);
      const { error } = (await res.json()) as { error: { param: string; type: string } };
      assert.deepEqual([error.param, error.type], ['stream_options', 'invalid_request_error'], model);
    }
    assert.equal(upstream.received.length, before, 'nothing reached the upstream');
    // null, or with stream false and no options, stays valid.
    await client.chat.completions.create({ model: 'm-compat', messages: ask, stream: false, stream_options: null });
  });

  it('OpenAI itself (type openai) gets max_completion_tokens, which its reasoning models require, for either name', async () => {
    await client.chat.completions.create({ model: 'm-oai', max_tokens: 30, messages: ask });
    assert.deepEqual([sent().max_completion_tokens, 'max_tokens' in sent()], [30, false]);
  });

  it('maxTokensField names the field for a provider', async () => {
    await client.chat.completions.create({ model: 'm-compat-new', max_tokens: 20, messages: ask });
    assert.deepEqual([sent().max_completion_tokens, 'max_tokens' in sent()], [20, false]);
  });
});
