import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { configWith, GatewayProcess } from '../support/gateway';

// Found by an independent check (fault29): an Anthropic or Gemini upstream answering bytes that are not HTTP (a TLS
// port spoken to as http, a broken proxy) or a bad Content-Length was the gateway's own 500 "The SDK … refused the
// request before sending it": undici's HTTPParserError has no code, so it was not read as the transport failure it
// is. The request was sent; the next deployment was never tried and the breaker never counted it. Now it is a
// retryable 502 (upstream_unreachable), fallen back from, as for an OpenAI-format upstream.
const ANSWERS: Record<string, string> = {
  'not-http': 'SSH-2.0-OpenSSH_9.6\r\n\r\n',
  'bad-length': 'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: abc\r\n\r\n{}',
};

describe('an upstream that does not answer HTTP is fallen back from, on every vendor adapter', () => {
  const servers: Server[] = [];
  let gateway: GatewayProcess;

  /** A TCP server that answers every request with `answer` once it has read its head, then closes. */
  async function answering(answer: string): Promise<string> {
    const server = createServer((socket) => {
      socket.on('error', () => undefined);
      socket.once('data', () => socket.end(answer));
    });
    servers.push(server);
    await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
    return `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  }

  before(async () => {
    const providers = [];
    const models = [];
    for (const [kind, answer] of Object.entries(ANSWERS)) {
      const baseUrl = await answering(answer);
      for (const type of ['anthropic', 'gemini']) {
        providers.push({ name: `${type}-${kind}`, type, baseUrl, apiKeyEnv: 'BROKEN_KEY' });
        models.push({
          name: `${type}-${kind}`,
          deployments: [
            { provider: `${type}-${kind}`, model: 'm' },
            { provider: 'mock', model: 'mock-1' },
          ],
        });
      }
    }
    const router = { retry: { attemptsPerDeployment: 1 } };
    gateway = await GatewayProcess.start(configWith({ providers, models, router }), { env: { BROKEN_KEY: 'broken-upstream-key' } });
  });
  after(async () => {
    await gateway?.stop();
    for (const server of servers) server.close();
  });

  for (const kind of Object.keys(ANSWERS))
    for (const type of ['anthropic', 'gemini'])
      it(`${type}, ${kind}: served by the next deployment, the first's failure named upstream_unreachable`, async () => {
        const model = `${type}-${kind}`;
        const res = await fetch(`${gateway.url}/v1/chat/completions`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ model, messages: [{ role: 'user', content: 'hi' }] }),
        });
        assert.deepEqual(
          [res.status, res.headers.get('x-gateway-deployment'), res.headers.get('x-gateway-fallbacks')],
          [200, `${model}/1`, `${model}/0=upstream_unreachable`],
          await res.clone().text(),
        );
      });
});
