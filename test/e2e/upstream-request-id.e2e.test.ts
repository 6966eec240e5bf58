import assert from 'node:assert/strict';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { configWith, GatewayProcess } from '../support/gateway';
import { vendorOf, type Vendor } from '../support/three-vendor-upstream';

/**
 * Found by an independent check (obs31): no id went upstream, so an operator could not find a request in the vendor's
 * logs, and the vendor's own id was nowhere. The gateway's id now goes as X-Client-Request-Id on every vendor, and the
 * upstream's id (OpenAI's x-request-id, Anthropic's request-id) is on the access line.
 */
const ANSWERS: Record<Vendor, { headers: Record<string, string>; body: object }> = {
  oa: {
    headers: { 'x-request-id': 'req_openai_7f3a' },
    body: {
      id: 'chatcmpl-1',
      object: 'chat.completion',
      created: 1,
      model: 'gpt',
      choices: [{ index: 0, message: { role: 'assistant', content: 'hi' }, finish_reason: 'stop' }],
      usage: { prompt_tokens: 3, completion_tokens: 1, total_tokens: 4 },
    },
  },
  ant: {
    headers: { 'request-id': 'req_011CAnthropic9' },
    body: {
      id: 'msg_1',
      type: 'message',
      role: 'assistant',
      model: 'claude',
      content: [{ type: 'text', text: 'hi' }],
      stop_reason: 'end_turn',
      stop_sequence: null,
      usage: { input_tokens: 3, output_tokens: 1 },
    },
  },
  gem: {
    headers: {},
    body: {
      candidates: [{ content: { role: 'model', parts: [{ text: 'hi' }] }, finishReason: 'STOP', index: 0 }],
      usageMetadata: { promptTokenCount: 3, candidatesTokenCount: 1, totalTokenCount: 4 },
    },
  },
};

describe('request ids between the gateway and its upstreams (one fake for the three wire formats)', () => {
  const received: { vendor: Vendor; headers: IncomingHttpHeaders }[] = [];
  const upstream = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const vendor = vendorOf(req.url!);
      received.push({ vendor, headers: req.headers });
      // The OpenAI-format model `failing` answers 500 with its own id.
      if (Buffer.concat(chunks).toString().includes('"model":"failing"')) {
        res.writeHead(500, { 'content-type': 'application/json', 'x-request-id': 'req_failed_attempt' });
        res.end(JSON.stringify({ error: { message: 'boom', type: 'server_error' } }));
        return;
      }
      const { headers, body } = ANSWERS[vendor];
      res.writeHead(200, { 'content-type': 'application/json', ...headers });
      res.end(JSON.stringify(body));
    });
  });
  let gateway: GatewayProcess;

  before(async () => {
    await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`;
    gateway = await GatewayProcess.start(
      configWith({
        providers: [
          { name: 'oa', type: 'openai', baseUrl: `${url}/v1`, apiKeyEnv: 'FAKE_KEY' },
          {
            name: 'oa-own-id',
            type: 'openai',
            baseUrl: `${url}/v1`,
            apiKeyEnv: 'FAKE_KEY',
            headers: { 'X-Client-Request-Id': 'operator-fixed' },
          },
          { name: 'ant', type: 'anthropic', baseUrl: url, apiKeyEnv: 'FAKE_KEY' },
          { name: 'gem', type: 'gemini', baseUrl: url, apiKeyEnv: 'FAKE_KEY' },
        ],
        models: [
          ...(['oa', 'ant', 'gem', 'oa-own-id'] as const).map((vendor) => ({
            name: `m-${vendor}`,
            deployments: [{ provider: vendor, model: vendor }],
          })),
          {
            name: 'failing-then-gem',
            deployments: [
              { provider: 'oa', model: 'failing' },
              { provider: 'gem', model: 'gem' },
            ],
          },
        ],
        router: { retry: { attemptsPerDeployment: 1 } },
      }),
      { env: { FAKE_KEY: 'sk-upstream-secret-0123456789' } },
    );
  });
  after(async () => {
    await gateway?.stop();
    upstream.closeAllConnections();
    await new Promise((resolve) => upstream.close(resolve));
  });

  for (const vendor of ['oa', 'ant', 'gem'] as const) {
    it(`${vendor}: the upstream gets the gateway's id; the access line has the upstream's own`, async () => {
      const { response } = await gateway
        .client()
        .chat.completions.create({ model: `m-${vendor}`, messages: [{ role: 'user', content: 'hello' }] })
        .withResponse();
      const id = response.headers.get('x-request-id');
      assert.ok(id);
      const sent = received.filter((r) => r.vendor === vendor).at(-1);
      assert.equal(sent?.headers['x-client-request-id'], id);
      const [line] = await gateway.logged('request', { where: (l) => l.reqId === id });
      const own = ANSWERS[vendor].headers['x-request-id'] ?? ANSWERS[vendor].headers['request-id'];
      assert.equal(line.upstreamRequestId, own);
      assert.ok(!JSON.stringify(line).includes('sk-upstream-secret'), 'no key in the line');
    });
  }

  // Found by an independent check (recheck32a): the line kept the failed OpenAI attempt's id when Gemini (which names none)
  // served, and a provider's own X-Client-Request-Id went beside the gateway's ("operator-fixed, <id>").
  it("the line has the serving attempt's id, none when it named none; the gateway's id replaces a provider's configured one", async () => {
    const { response } = await gateway
      .client()
      .chat.completions.create({ model: 'failing-then-gem', messages: [{ role: 'user', content: 'hello' }] })
      .withResponse();
    assert.equal(response.headers.get('x-gateway-provider'), 'gem');
    const id = response.headers.get('x-request-id');
    const [line] = await gateway.logged('request', { where: (l) => l.reqId === id });
    assert.deepEqual([line.attempts, line.upstreamRequestId], [2, undefined]);
    const own = await gateway
      .client()
      .chat.completions.create({ model: 'm-oa-own-id', messages: [{ role: 'user', content: 'hello' }] })
      .withResponse();
    assert.equal(received.at(-1)?.headers['x-client-request-id'], own.response.headers.get('x-request-id'));
  });

  it("a client's own x-request-id is the one sent upstream", async () => {
    await gateway
      .client()
      .chat.completions.create(
        { model: 'm-oa', messages: [{ role: 'user', content: 'hello' }] },
        { headers: { 'x-request-id': 'client-trace-42' } },
      );
    assert.equal(received.at(-1)?.headers['x-client-request-id'], 'client-trace-42');
  });
});
