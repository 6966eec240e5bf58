import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { type GatewayProcess, threeVendorGateway } from '../support/gateway';
import { type Hostility, HostileUpstream } from '../support/hostile-upstream';

const VENDORS = ['oa', 'ant', 'gem'] as const;
const HOSTILITIES: Hostility[] = ['redirect', 'stall', 'cut', 'huge', 'silent', 'endless'];
/** Each API's request for a model, streamed or not. */
const ROUTES: Record<string, (model: string, stream: boolean) => object> = {
  '/v1/chat/completions': (model, stream) => ({ model, stream, messages: [{ role: 'user', content: 'hi' }] }),
  '/v1/messages': (model, stream) => ({ model, stream, max_tokens: 50, messages: [{ role: 'user', content: 'hi' }] }),
  '/v1/responses': (model, stream) => ({ model, stream, input: 'hi' }),
};
const CASES = Object.keys(ROUTES).flatMap((path) => VENDORS.flatMap((vendor) => [false, true].map((stream) => ({ path, vendor, stream }))));

/**
 * Upstreams that misbehave at every stage of an answer (a redirect with a page, a body that stalls, is cut, is too
 * large, no answer, a stream without end), and clients that leave at every stage: over the three vendors, the three
 * APIs, streamed or not, the SDK-read answers (Gemini's, Anthropic's count_tokens, Gemini embeddings) included. The
 * process must come out of it serving, with nothing thrown outside a request: a Gemini 301 whose body the gateway
 * cancelled once ended the process (a Node web stream enqueued into its cancelled controller, transport.ts).
 */
describe('hostile upstreams and leaving clients', () => {
  const upstream = new HostileUpstream();
  let gateway: GatewayProcess;

  before(async () => {
    const url = await upstream.start();
    const models = VENDORS.flatMap((vendor) =>
      HOSTILITIES.map((hostility) => ({
        name: `${vendor}-${hostility}`,
        deployments: [{ provider: vendor, model: `${vendor}-${hostility}`, capabilities: ['tools'] }],
      })),
    );
    for (const hostility of HOSTILITIES)
      models.push({
        name: `emb-gem-${hostility}`,
        deployments: [{ provider: 'gem', model: `gem-${hostility}`, capabilities: ['embeddings'] }],
      });
    gateway = await threeVendorGateway(url, models, { timeoutMs: 1_500, maxResponseBytes: 1024 * 1024 });
  });
  after(async () => {
    await gateway?.stop();
    await upstream.stop();
  });

  const post = (path: string, body: object, signal?: AbortSignal) =>
    fetch(`${gateway.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body), signal });

  /** The answer as the client saw it: failed before the stream (a status), or a stream that ended with an error. */
  const failed = async (res: Response) => res.status >= 400 || /error/.test(await res.text());

  for (const hostility of ['redirect', 'stall', 'cut', 'huge'] as const)
    it(`${hostility}: every API, vendor and mode ends in an error in the caller's protocol`, async () => {
      const answers = await Promise.all(
        CASES.map(
          async ({ path, vendor, stream }) =>
            [`${path} ${vendor} stream=${stream}`, await failed(await post(path, ROUTES[path](`${vendor}-${hostility}`, stream)))] as const,
        ),
      );
      assert.deepEqual(
        answers.filter(([, wasError]) => !wasError),
        [],
      );
    });

  for (const hostility of ['redirect', 'cut', 'huge', 'stall'] as const)
    it(`${hostility} to answers an SDK reads (Gemini embeddings, Anthropic count_tokens): an error, or the estimate`, async () => {
      const embeddings = await post('/v1/embeddings', { model: `emb-gem-${hostility}`, input: 'hi' });
      assert.ok(embeddings.status >= 500, `embeddings: ${embeddings.status} ${await embeddings.text()}`);
      // count_tokens falls back to the gateway's estimate when Anthropic's count fails.
      const counted = await post('/v1/messages/count_tokens', { model: `ant-${hostility}`, messages: [{ role: 'user', content: 'hi' }] });
      assert.equal(counted.headers.get('x-gateway-token-count'), 'estimate', await counted.text());
    });

  it('clients leaving before the answer, during a stalled body and during a stream without end', async () => {
    const leaving = CASES.flatMap(({ path, vendor, stream }) =>
      [stream ? `${vendor}-endless` : `${vendor}-stall`, `${vendor}-silent`, `${vendor}-redirect`].map(async (model) => {
        const ac = new AbortController();
        // Left after the first bytes of the answer, or after 100 ms without them (the upstream silent or stalled).
        const answer = post(path, ROUTES[path](model, stream), ac.signal)
          .then((res) => res.body?.getReader().read())
          .catch(() => undefined);
        await Promise.race([answer, sleep(100)]);
        ac.abort();
        await answer;
      }),
    );
    await Promise.all(leaving);
    assert.equal(gateway.exitCode, null);
  });

  it('kept the process serving, with nothing thrown outside a request', async () => {
    await sleep(2_000); // the upstream timeouts of what the clients left have come due
    assert.equal(gateway.exitCode, null);
    assert.equal((await fetch(`${gateway.url}/health`)).status, 200);
    const next = await post('/v1/chat/completions', ROUTES['/v1/chat/completions']('mock-1', false));
    assert.equal(next.status, 200);
    const metrics = await (await fetch(`${gateway.opsUrl}/metrics`)).text();
    assert.match(metrics, /^gateway_unhandled_rejections_total 0$/m);
  });
});
