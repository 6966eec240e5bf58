import assert from 'node:assert/strict';
import { request } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { configWith, GatewayProcess } from '../support/gateway';

const PROMPT = [{ role: 'user', content: 'tell me a long story' }];
const STREAMS = {
  'Chat Completions': { path: '/v1/chat/completions', body: { model: 'slow', stream: true, max_tokens: 200, messages: PROMPT } },
  Responses: { path: '/v1/responses', body: { model: 'slow', stream: true, max_output_tokens: 200, input: 'tell me a long story' } },
  Messages: { path: '/v1/messages', body: { model: 'slow', stream: true, max_tokens: 200, messages: PROMPT } },
};

// Found by an engineer's load test: every client leaving a mock stream (the quick start's provider) was logged at
// error level as "unexpected error in a stream", an AbortError from the mock's pacing, and counted as the stream's failure.
describe('a client leaving a stream of the mock provider is a client that left, not an error', () => {
  let gateway: GatewayProcess;
  before(async () => {
    gateway = await GatewayProcess.start(
      configWith({
        providers: [{ name: 'drip', type: 'mock', mock: { tokensPerSecond: 20 } }],
        models: [{ name: 'slow', deployments: [{ provider: 'drip', model: 'slow' }] }],
      }),
    );
  });
  after(() => gateway.stop());

  for (const [name, { path, body }] of Object.entries(STREAMS)) {
    it(`${name}: left after the first chunks, logged 499 and nothing else`, async () => {
      const id = await new Promise<string>((resolve, reject) => {
        const req = request(`${gateway.url}${path}`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'anthropic-version': '2023-06-01' },
        });
        req.on('response', (res) => {
          let seen = 0;
          res.on('data', () => {
            // A few events in (the mock's pacing runs between its text pieces), the client goes.
            if (++seen === 3) {
              resolve(String(res.headers['x-request-id']));
              req.destroy();
            }
          });
        });
        req.on('error', () => undefined);
        req.end(JSON.stringify(body));
        setTimeout(() => reject(new Error('no three chunks in 10 s')), 10_000).unref();
      });
      const [line] = await gateway.logged('request', { where: (l) => l.reqId === id, timeoutMs: 10_000 });
      assert.equal(line?.status, 499, JSON.stringify(line));
      const errors = gateway.logs.filter((l) => l.reqId === id && Number(l.level) >= 50);
      assert.deepEqual(errors, [], 'no error line for a client that left');
    });
  }
});
