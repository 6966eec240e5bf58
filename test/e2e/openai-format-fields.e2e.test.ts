import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import Anthropic from '@anthropic-ai/sdk';
import type OpenAI from 'openai';
import { parse as parseYaml } from 'yaml';
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
  });

  it('by default an OpenAI-compatible server gets max_tokens (either name sent) and is asked for stream usage', async () => {
    await client.chat.completions.create({ model: 'm-compat', max_completion_tokens: 40, messages: ask });
    assert.deepEqual([sent().max_tokens, 'max_completion_tokens' in sent()], [40, false]);
    const stream = await client.chat.completions.create({ model: 'm-compat', stream: true, messages: ask });
    for await (const _ of stream);
    assert.deepEqual(sent().stream_options, { include_usage: true });
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
