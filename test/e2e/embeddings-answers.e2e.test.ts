import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type OpenAI from 'openai';
import { apiError } from '../support/chat';
import { FakeVendors } from '../support/fake-vendors';
import { configWith, GatewayProcess } from '../support/gateway';

const PRICE = { input: 1, output: 0 };
/** The fake OpenAI-format server's answer shapes that are no usable answer (fake-openai.ts, `embed-<shape>`). */
const MALFORMED = ['short', 'extra', 'empty-vector', 'text-vector', 'no-data', 'empty-data'];

const embeddingsModel = (name: string, ...deployments: object[]) => ({
  name,
  deployments: deployments.map((d) => ({ capabilities: ['embeddings'], price: PRICE, ...d })),
});

// Found by an independent check of /v1/embeddings: Gemini batches over Google's limit of 100, a context
// window compared with the sum of the inputs, answers without one vector per input served and billed,
// usage no answer could have believed, omitRequestFields not applied, token ids sent to Gemini in a group.
describe('/v1/embeddings: batches, windows, and the answers checked (real openai SDK, fake vendors)', () => {
  const vendors = new FakeVendors();
  let gateway: GatewayProcess;
  let client: OpenAI;
  const raw = (body: object) =>
    fetch(`${gateway.url}/v1/embeddings`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

  before(async () => {
    const providers = await vendors.start();
    const oa = providers.find((p) => p.name === 'oa')!;
    const config = configWith({
      providers: [...providers, { ...oa, name: 'oa-strict', omitRequestFields: ['user'] }],
      models: [
        embeddingsModel('gem', { provider: 'gem', model: 'gemini-embedding-001' }),
        embeddingsModel('gem-short', { provider: 'gem', model: 'gemini-embed-short' }),
        embeddingsModel('gem-no-values', { provider: 'gem', model: 'gemini-embed-no-values' }),
        embeddingsModel('gem-wide', { provider: 'gem', model: 'gemini-embed-wide' }),
        ...['ok', 'reversed', 'wide', 'no-usage', 'null-usage', 'null-usage-first', ...MALFORMED].map((shape) =>
          embeddingsModel(`oa-${shape}`, { provider: 'oa', model: `embed-${shape}` }),
        ),
        embeddingsModel('oa-huge-usage', { provider: 'oa', model: 'embed-huge-usage', contextWindow: 8192 }),
        embeddingsModel('windowed', { provider: 'oa', model: 'embed-ok', contextWindow: 300 }),
        embeddingsModel('strict', { provider: 'oa-strict', model: 'embed-ok' }),
        embeddingsModel('short-then-ok', { provider: 'gem', model: 'gemini-embed-short' }, { provider: 'oa', model: 'embed-ok' }),
        embeddingsModel('gem-then-oa', { provider: 'gem', model: 'gemini-embedding-001' }, { provider: 'oa', model: 'embed-ok' }),
      ],
    });
    gateway = await GatewayProcess.start(config, { env: vendors.env });
    client = gateway.client();
  });
  after(async () => {
    await gateway?.stop();
    await vendors.stop();
  });

  it('Gemini: 250 inputs go as batchEmbedContents calls of at most 100, vectors in input order, usage of them all', async () => {
    const inputs = Array.from({ length: 250 }, (_, i) => 'x'.repeat(i + 1));
    const before = vendors.gemini.received.length;
    const { data: res, response } = await client.embeddings
      .create({ model: 'gem', input: inputs, dimensions: 2, encoding_format: 'float' })
      .withResponse();
    const batches = vendors.gemini.received.slice(before).map((r) => (r.body.requests as unknown[]).length);
    assert.deepEqual(
      batches.sort((a, b) => b - a),
      [100, 100, 50],
    );
    assert.equal(res.data.length, 250);
    res.data.forEach((item, i) => {
      assert.equal(item.index, i);
      // The fake's vector of a text of length n, 2 wide, is [n, -(n + 1)], normalised here.
      const n = i + 1;
      const norm = Math.hypot(n, n + 1);
      assert.ok(Math.abs(item.embedding[0] - n / norm) < 1e-6 && Math.abs(item.embedding[1] + (n + 1) / norm) < 1e-6, `input ${i}`);
    });
    const tokens = inputs.reduce((sum, text) => sum + Math.ceil(text.length / 4), 0);
    assert.deepEqual(res.usage, { prompt_tokens: tokens, total_tokens: tokens });
    assert.equal(response.headers.get('x-gateway-cost-usd'), `${tokens / 1e6}; estimated`);
  });

  it("contextWindow holds each input, not their sum; an input over it is a 400 naming it (not 'messages')", async () => {
    // 20 inputs of about 250 tokens: 5,000 in all, each within the 300-token window.
    const batch = await client.embeddings.create({ model: 'windowed', input: Array(20).fill('y'.repeat(1000)) });
    assert.equal(batch.data.length, 20);
    const long = ['a', 'b', 'c', 'z'.repeat(2000)];
    const err = await apiError(client.embeddings.create({ model: 'windowed', input: long }));
    assert.equal(err.status, 400);
    assert.equal(err.code, 'context_length_exceeded');
    assert.equal(err.param, 'input[3]');
    // Found by an independent check (api32): it read "Input input[3] (about 500 tokens) exceeds the context window of
    // every deployment of windowed.", the param as a word and no window, where a chat refusal names the largest.
    assert.equal(
      err.message,
      '400 The input at input[3] (about 500 tokens) exceeds the context window of every deployment of windowed (the largest holds 300 tokens).',
    );
    const single = await apiError(client.embeddings.create({ model: 'windowed', input: 'z'.repeat(2000) }));
    assert.equal(single.param, 'input');
    assert.equal(
      single.message,
      '400 The input (about 500 tokens) exceeds the context window of every deployment of windowed (the largest holds 300 tokens).',
    );
  });

  it('an answer without one usable vector per input is a 502 upstream_invalid_response, not a billed 200', async () => {
    const cases: [string, object][] = [
      ...MALFORMED.map((shape): [string, object] => [`oa-${shape}`, {}]),
      // A server that ignored `dimensions`: no guessing by truncation.
      ['oa-wide', { dimensions: 2 }],
      ['gem-short', {}],
      ['gem-no-values', {}],
      ['gem-wide', { dimensions: 4 }],
    ];
    for (const [model, extra] of cases) {
      for (const encoding_format of ['float', 'base64'] as const) {
        const res = await raw({ model, input: ['a', 'bb', 'ccc'], encoding_format, ...extra });
        const body = (await res.json()) as { error?: { code: string } };
        assert.equal(res.status, 502, `${model} ${encoding_format}: ${JSON.stringify(body).slice(0, 200)}`);
        assert.equal(body.error?.code, 'upstream_invalid_response', model);
        assert.equal(res.headers.get('x-gateway-cost-usd'), null, `${model}: nothing billed`);
      }
    }
    // Retryable: the next deployment of the group answers.
    const { data, response } = await client.embeddings
      .create({ model: 'short-then-ok', input: ['a', 'bb', 'ccc'], encoding_format: 'float' })
      .withResponse();
    assert.equal(data.data.length, 3);
    assert.equal(response.headers.get('x-gateway-provider'), 'oa');
    assert.match(response.headers.get('x-gateway-fallbacks') ?? '', /upstream_invalid_response/);
  });

  it('data an upstream returns out of order is put in index order', async () => {
    // The SDK asks for base64 unless told (and then decodes it).
    for (const encoding_format of ['float', undefined] as const) {
      const res = await client.embeddings.create({ model: 'oa-reversed', input: ['a', 'b', 'c', 'd'], encoding_format });
      assert.deepEqual(
        res.data.map((item) => [item.index, item.embedding[0]]),
        [
          [0, 1],
          [1, 2],
          [2, 3],
          [3, 4],
        ],
      );
    }
  });

  it('an OpenAI-format answer without usage carries the estimate the gateway bills', async () => {
    const { data, response } = await client.embeddings
      .create({ model: 'oa-no-usage', input: ['abcdefgh', 'ab'], encoding_format: 'float' })
      .withResponse();
    assert.deepEqual(data.usage, { prompt_tokens: 3, total_tokens: 3 });
    assert.equal(response.headers.get('x-gateway-cost-usd'), '0.000003; estimated');
  });

  // Found by an independent check (embed34 D2): `"usage":null` went out followed by the estimate, two `usage` keys
  // (serde_json's derived structs refuse a duplicate field; other decoders keep the first, the `null`).
  it('an OpenAI-format answer whose usage is null carries the estimate in its place, one usage key', async () => {
    for (const model of ['oa-null-usage', 'oa-null-usage-first']) {
      const res = await raw({ model, input: ['abcdefgh', 'ab'], encoding_format: 'float' });
      const text = await res.text();
      assert.equal(res.status, 200, text);
      assert.equal(text.match(/"usage"/g)?.length, 1, `${model}: ${text}`);
      const body = JSON.parse(text) as OpenAI.CreateEmbeddingResponse;
      assert.deepEqual(body.usage, { prompt_tokens: 3, total_tokens: 3 }, model);
      assert.deepEqual(
        body.data.map((item) => item.embedding[0]),
        [1, 2],
        model,
      );
      assert.equal(res.headers.get('x-gateway-cost-usd'), '0.000003; estimated');
    }
  });

  it('usage no input could have (100,000,002 tokens for 8 characters) is billed as estimated and logged', async () => {
    const { response } = await client.embeddings.create({ model: 'oa-huge-usage', input: 'abcdefgh' }).withResponse();
    assert.equal(response.headers.get('x-gateway-cost-usd'), '0.000002; estimated');
    const warned = await gateway.logged(/reported 100000002 prompt/);
    assert.equal(warned.length, 1);
  });

  it("omitRequestFields leaves the provider's fields out of embeddings requests too", async () => {
    const before = vendors.openai.received.length;
    await client.embeddings.create({ model: 'strict', input: 'hello', user: 'end-user-7', dimensions: 3 });
    const sent = vendors.openai.received.slice(before).at(-1)!.body;
    assert.equal('user' in sent, false);
    assert.equal(sent.dimensions, 3);
  });

  it('token ids skip a text-only embedder (Gemini) in a group: the next deployment answers', async () => {
    const before = vendors.gemini.received.length;
    const { data, response } = await client.embeddings.create({ model: 'gem-then-oa', input: [1, 2, 3] }).withResponse();
    assert.equal(data.data.length, 1);
    assert.equal(response.headers.get('x-gateway-provider'), 'oa');
    assert.equal(vendors.gemini.received.length, before, 'Gemini was not asked');
    const err = await apiError(client.embeddings.create({ model: 'gem', input: [[1, 2], [3]] }));
    assert.equal(err.status, 400);
    assert.equal(err.param, 'input');
  });
});
