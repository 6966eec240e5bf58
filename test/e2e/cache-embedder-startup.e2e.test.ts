import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { ask, embedderLoaded, metric, settle } from '../support/cache';
import { eventually } from '../support/eventually';
import { configWith, GatewayProcess } from '../support/gateway';

const EMBEDDED = 'gateway_cache_embedding_duration_seconds_count';
const LOADING = 'gateway_cache_backend_errors_total{backend="embedder",operation="embed",reason="loading"}';
const config = { ...configWith(), cache: { enabled: true, semantic: { enabled: true, embeddingTimeoutMs: 10_000 } } };

// Found by an independent check: for about a second after /ready said 200 the offline embedder was
// still loading, and every prompt then skipped the semantic layer (lookup and store), counted nowhere.
describe('response cache, the offline embedder at start-up', () => {
  const gateways: GatewayProcess[] = [];
  const start = async (cfg: object = config, env: Record<string, string> = {}) => {
    const gateway = await GatewayProcess.start(cfg, { env });
    gateways.push(gateway);
    return gateway;
  };
  after(() => Promise.all(gateways.map((g) => g.stop())));

  it('/ready waits for the model: the first prompts once ready go through the semantic layer', async () => {
    const gateway = await start();
    // `/`, load balancers' default check, follows /ready (found by an independent re-check: it said 200
    // while the model loaded). The model only ever becomes loaded, so a `/` that said 200 before /ready was asked
    // means /ready says 200 too; a 503 from `/` names the model loading.
    const rootFollowsReady = async () => {
      const root = await fetch(`${gateway.url}/`);
      const ready = await fetch(`${gateway.url}/ready`);
      if (root.ok) assert.equal(ready.status, 200, '/ answered 200 while /ready did not');
      else
        assert.deepEqual(
          [root.status, ((await root.json()) as { error: { message: string } }).error.message],
          [503, 'Not ready: the semantic cache embedder is loading its model.'],
        );
      return ready.ok;
    };
    assert.ok(await eventually(rootFollowsReady), 'the replica becomes ready');
    assert.equal((await fetch(`${gateway.url}/`)).status, 200);
    const ready = (await (await fetch(`${gateway.url}/ready`)).json()) as { details: Record<string, unknown> };
    assert.deepEqual(ready.details.embedder, { status: 'up', state: 'ready' });

    const client = gateway.client();
    assert.equal((await ask(client, 'What is an index fund?')).cache, 'miss');
    await settle();
    assert.match((await ask(client, 'Can you explain what an index fund is?')).cache ?? '', /^hit-semantic/);
  });

  it('a prompt that arrives while the model loads is counted as a skip (loading); none goes uncounted', async () => {
    const gateway = await start();
    // Sent as soon as the gateway listens, without waiting for /ready (as a client with no
    // readiness gate does): it is either embedded or refused at once and counted, whenever the model loads.
    assert.equal((await ask(gateway.client(), 'What is an index fund?')).cache, 'miss');
    await settle();
    await embedderLoaded(gateway);
    assert.equal((await metric(gateway, EMBEDDED)) + (await metric(gateway, LOADING)), 1);
  });

  it('a model that fails to load leaves the replica ready, without the semantic layer', async () => {
    const minilm = { ...configWith(), cache: { enabled: true, semantic: { enabled: true, embedder: 'minilm' } } };
    const gateway = await start(minilm, { MINILM_MODEL_DIR: '/nonexistent/minilm' });
    assert.ok(await eventually(async () => (await fetch(`${gateway.url}/ready`)).ok), 'the replica becomes ready');
    const ready = (await (await fetch(`${gateway.url}/ready`)).json()) as { details: Record<string, unknown> };
    assert.deepEqual(ready.details.embedder, { status: 'up', state: 'failed' });
    assert.equal((await gateway.logged(/semantic caching is off/)).length, 1);
    assert.equal((await ask(gateway.client(), 'What is an index fund?')).cache, 'miss');
    assert.equal(await metric(gateway, LOADING), 0, 'a failed model is off, not loading');
  });

  it('without the semantic layer /ready says so and does not wait', async () => {
    const gateway = await start({ ...configWith(), cache: { enabled: true, semantic: { enabled: false } } });
    const ready = await fetch(`${gateway.url}/ready`);
    assert.equal(ready.status, 200);
    assert.deepEqual(((await ready.json()) as { details: Record<string, unknown> }).details.embedder, { status: 'up', semantic: 'off' });
  });
});
