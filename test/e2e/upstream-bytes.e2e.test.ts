import assert from 'node:assert/strict';
import { isUtf8 } from 'node:buffer';
import { after, before, describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { configWith, GatewayProcess } from '../support/gateway';
import { ThreeVendorUpstream, type Vendor, VENDORS } from '../support/three-vendor-upstream';

/** Each vendor's rate-limit error body. */
const RATE_LIMITED: Record<Vendor, object> = {
  oa: { error: { message: 'Rate limit reached for requests', type: 'requests', code: 'rate_limit_exceeded', param: null } },
  ant: { type: 'error', error: { type: 'rate_limit_error', message: 'Number of requests has exceeded your rate limit' } },
  gem: { error: { code: 429, message: 'Resource has been exhausted (e.g. check quota).', status: 'RESOURCE_EXHAUSTED' } },
};

/** An OpenAI-format answer whose text holds a Latin-1 `é` (byte E9, no UTF-8), as llama.cpp-style servers emitted half characters. */
const LATIN1_TEXT = Buffer.concat([Buffer.from('caf'), Buffer.from([0xe9]), Buffer.from(' ok')]);
const jsonAnswer = (text: Buffer) =>
  Buffer.concat([
    Buffer.from(
      '{"id":"c1","object":"chat.completion","created":1,"model":"x","choices":[{"index":0,"message":{"role":"assistant","content":"',
    ),
    text,
    Buffer.from('"},"finish_reason":"stop"}],"usage":{"prompt_tokens":1,"completion_tokens":2,"total_tokens":3}}'),
  ]);
const chunk = (delta: Buffer | string, finish: string | null) =>
  Buffer.concat([
    Buffer.from('data: {"id":"c1","object":"chat.completion.chunk","created":1,"model":"x","choices":[{"index":0,"delta":{"content":"'),
    Buffer.from(delta),
    Buffer.from(`"},"finish_reason":${JSON.stringify(finish)}}]}\n\n`),
  ]);

/**
 * The upstream, by the model asked for: `gzip-429` / `gzip-400`, each vendor's error body gzip-compressed with
 * `Content-Encoding: gzip` (a proxy's, unasked); `latin1`, an OpenAI-format answer with a byte that is not UTF-8.
 */
function fakeUpstream(): ThreeVendorUpstream {
  return new ThreeVendorUpstream((vendor, model, res, body) => {
    if (model === 'latin1') {
      res.writeHead(200, { 'content-type': (JSON.parse(body) as { stream?: boolean }).stream ? 'text/event-stream' : 'application/json' });
      if (!(JSON.parse(body) as { stream?: boolean }).stream) return res.end(jsonAnswer(LATIN1_TEXT));
      return res.end(Buffer.concat([chunk(LATIN1_TEXT, null), chunk('', 'stop'), Buffer.from('data: [DONE]\n\n')]));
    }
    const status = Number(model.slice('gzip-'.length));
    res.writeHead(status, { 'content-type': 'application/json', 'content-encoding': 'gzip', 'retry-after': '1' });
    res.end(gzipSync(JSON.stringify(RATE_LIMITED[vendor])));
  });
}

describe('bytes an upstream answers that are no text', () => {
  const upstream = fakeUpstream();
  let gateway: GatewayProcess;

  before(async () => {
    await upstream.start();
    const models = VENDORS.flatMap((vendor) =>
      ['gzip-429', 'gzip-400', 'latin1'].map((model) => ({ name: `${vendor}-${model}`, deployments: [{ provider: vendor, model }] })),
    );
    const router = { retry: { attemptsPerDeployment: 1, backoffMs: 1, maxBackoffMs: 1, retryAfterCapMs: 0 } };
    gateway = await GatewayProcess.start(configWith({ providers: upstream.providers(), models, router }), { env: { FAKE_KEY: 'k' } });
  });
  after(async () => {
    await gateway?.stop();
    await upstream.stop();
  });

  // Found by an independent check (http34 D2): a compressed error body reached the client as its bytes read as text
  // (U+FFFD and control characters in the message), and a gzip 400 as the client's own 400. README: a compressed
  // answer is a 502 upstream_invalid_response, on every vendor.
  for (const vendor of VENDORS) {
    for (const status of [429, 400]) {
      for (const stream of [false, true]) {
        it(`${vendor}, a gzip ${status}${stream ? ', streamed' : ''}: a 502 upstream_invalid_response naming the coding`, async () => {
          const err = await gateway
            .client()
            .chat.completions.create({ model: `${vendor}-gzip-${status}`, stream, messages: [{ role: 'user', content: 'hi' }] })
            .then(
              () => assert.fail('answered'),
              (e: InstanceType<typeof OpenAI.APIError>) => e,
            );
          assert.equal(err.status, 502, err.message);
          assert.equal(err.code, 'upstream_invalid_response', err.message);
          assert.equal(
            (err.error as { message: string }).message,
            `Provider ${vendor} answered HTTP ${status} with a compressed body (Content-Encoding: gzip), which the gateway does not decode.`,
          );
        });
      }
    }
  }

  it('/v1/messages to Anthropic (the native path), a gzip 429 and 400: the 502 as Anthropic`s 500 api_error, naming the coding', async () => {
    const claude = new Anthropic({ baseURL: gateway.url, apiKey: 'unused', maxRetries: 0 });
    for (const status of [429, 400]) {
      for (const stream of [false, true]) {
        const err = await claude.messages
          .create({ model: `ant-gzip-${status}`, max_tokens: 10, stream, messages: [{ role: 'user', content: 'hi' }] })
          .then(
            () => assert.fail('answered'),
            (e: InstanceType<typeof Anthropic.APIError>) => e,
          );
        assert.equal(err.status, 500, err.message);
        assert.equal((err.error as { error: { type: string } }).error.type, 'api_error');
        assert.match(
          err.message,
          /Provider ant answered HTTP \d+ with a compressed body \(Content-Encoding: gzip\), which the gateway does not decode\./,
        );
      }
    }
  });

  // Found by an independent check (utf34 D5): an OpenAI-format upstream's byte that is not UTF-8 reached the client
  // as it came (Python's SDK raised UnicodeDecodeError), where the cache's replay of the same answer, and the native
  // Anthropic path, had U+FFFD.
  for (const stream of [false, true]) {
    it(`an OpenAI-format answer with a byte that is not UTF-8${stream ? ', streamed' : ''}: U+FFFD in its place, the rest as it came`, async () => {
      const res = await fetch(`${gateway.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { authorization: 'Bearer unused', 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'oa-latin1', stream, messages: [{ role: 'user', content: `hi ${stream}` }] }),
      });
      assert.equal(res.status, 200);
      const bytes = Buffer.from(await res.arrayBuffer());
      assert.ok(isUtf8(bytes), bytes.toString('latin1'));
      assert.ok(bytes.includes('"content":"caf\uFFFD ok"'), bytes.toString());
    });
  }
});
