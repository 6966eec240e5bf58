import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type OpenAI from 'openai';
import { FakeOpenAI } from '../support/fake-openai';
import { configWith, GatewayProcess } from '../support/gateway';

/** OpenRouter's request fields that pick the model served or add paid features, as a client would send them. */
const ROUTING = {
  models: ['openai/o1-pro'],
  route: 'fallback',
  provider: { order: ['OpenAI'], allow_fallbacks: true },
  plugins: [{ id: 'web', max_results: 50 }],
  preset: 'dear-preset',
};

/**
 * Found by an independent security check (sec30, defect 7): chat completions and embeddings sent every field
 * they do not know to OpenAI-format upstreams, OpenRouter's `models`, `route`, `provider` and `plugins`
 * included, so a client chose the model served (OpenRouter bills the one that answered) or added paid web
 * search, billed at the deployment's own price. Responses drops unknown fields, Messages refuses them.
 */
describe('routing fields of aggregating upstreams are not forwarded unless the provider says so', () => {
  const upstream = new FakeOpenAI();
  let gateway: GatewayProcess;
  let client: OpenAI;
  const sent = () => upstream.last().body;

  before(async () => {
    const baseUrl = await upstream.start();
    const router = { type: 'openai-compatible', baseUrl, apiKeyEnv: 'FAKE_KEY' };
    gateway = await GatewayProcess.start(
      configWith({
        providers: [
          { name: 'openrouter', ...router },
          { name: 'openrouter-plugins', ...router, forwardRoutingFields: ['plugins'] },
        ],
        models: [
          { name: 'cheap', deployments: [{ provider: 'openrouter', model: 'ok' }] },
          { name: 'cheap-plugins', deployments: [{ provider: 'openrouter-plugins', model: 'ok' }] },
          { name: 'embed', deployments: [{ provider: 'openrouter', model: 'embed-ok', capabilities: ['embeddings'] }] },
        ],
        cache: { enabled: false },
      }),
      { env: { FAKE_KEY: 'sk-fake' } },
    );
    client = gateway.client();
  });
  after(async () => {
    await gateway?.stop();
    await upstream.stop();
  });

  const chat = (model: string) =>
    client.chat.completions.create({
      model,
      messages: [{ role: 'user', content: 'hi' }],
      ...ROUTING,
      top_k: 40,
    } as OpenAI.ChatCompletionCreateParamsNonStreaming);

  it('chat completions: none of them is sent; a server`s own sampling extra (top_k) still is', async () => {
    await chat('cheap');
    for (const field of Object.keys(ROUTING)) assert.equal(sent()[field], undefined, field);
    assert.equal(sent().top_k, 40);
  });

  it('embeddings: none of them is sent', async () => {
    await client.embeddings.create({ model: 'embed', input: 'hello', ...ROUTING } as OpenAI.EmbeddingCreateParams);
    for (const field of Object.keys(ROUTING)) assert.equal(sent()[field], undefined, field);
  });

  it('a provider`s forwardRoutingFields are sent, and only those', async () => {
    await chat('cheap-plugins');
    assert.deepEqual(sent().plugins, ROUTING.plugins);
    for (const field of ['models', 'route', 'provider', 'preset']) assert.equal(sent()[field], undefined, field);
  });
});
