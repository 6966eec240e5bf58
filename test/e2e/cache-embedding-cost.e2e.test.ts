import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { configWith, GatewayProcess } from '../support/gateway';
import { metric, settle } from '../support/cache';

const MASTER = 'embedding-cost-master-key-0123456789';
const KEY = 'embedding-cost-team-key-0123456789';

/** A gateway whose semantic cache embeds with `paid-embedding`, priced, served by `provider` (else the mock). */
const start = (provider?: { name: string; type: 'mock'; mock: object }) =>
  GatewayProcess.start(
    {
      ...configWith({
        providers: provider ? [provider] : [],
        models: [
          {
            name: 'paid-embedding',
            deployments: [{ provider: provider?.name ?? 'mock', model: 'e', capabilities: ['embeddings'], price: { input: 1000 } }],
          },
        ],
        security: { keys: [{ id: 'team', keyEnv: 'TEAM_KEY', budget: { usd: 100, period: 'monthly' } }] },
      }),
      cache: { enabled: true, semantic: { embeddingModel: 'paid-embedding', embeddingDimensions: 64 } },
    },
    { env: { GATEWAY_MASTER_KEY: MASTER, TEAM_KEY: KEY } },
  );

// Found by an independent check: with cache.semantic.embeddingModel, every lookup makes a priced
// embedding call, and its cost was in no metric, no key's spend or budget and no access line.
describe('response cache, a priced embedding model as the embedder', () => {
  let gateway: GatewayProcess;

  before(async () => {
    gateway = await start();
  });
  after(() => gateway?.stop());

  it("bills each lookup's embedding call to the request's key: the cost metric, the key's spend and the access line", async () => {
    const ask = (content: string) =>
      fetch(`${gateway.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'mock-1', messages: [{ role: 'user', content }] }),
      }).then((res) => res.headers.get('x-gateway-cache'));
    const prompts = ['What is a monad, in two sentences?', 'How tall is Mount Everest, in metres?'];
    assert.deepEqual(await Promise.all(prompts.map(ask)), ['miss', 'miss']);
    assert.equal(await ask(prompts[0]!), 'hit-exact', 'an exact hit is found before the semantic layer: nothing embedded');
    const lines = await gateway.logged('request', { where: (l) => l.model === 'mock-1', count: 3 });
    const charged = lines.map((l) => l.embeddingCostUsd as number | undefined);
    assert.equal(charged.filter((usd) => usd! > 0).length, 2, `embeddingCostUsd per line: ${charged.join(', ')}`);
    const total = charged.reduce<number>((sum, usd) => sum + (usd ?? 0), 0);
    await settle();
    const cost = await metric(gateway, 'gateway_cost_usd_total{provider="mock",model="paid-embedding",key="team"}');
    assert.ok(Math.abs(cost - total) < 1e-12, `gateway_cost_usd_total ${cost}, access lines ${total}`);
    const res = await fetch(`${gateway.opsUrl}/admin/keys/team/usage`, { headers: { authorization: `Bearer ${MASTER}` } });
    const { spendUsd } = (await res.json()) as { spendUsd: { today: Record<string, number> } };
    assert.ok(Math.abs(spendUsd.today['paid-embedding']! - total) < 1e-12, `the key's spend today: ${JSON.stringify(spendUsd.today)}`);
  });
});

// Found by an independent check: a request that skips the lookup but may store (skip-lookup, refresh) embeds its
// prompt when its answer is stored, after the answer went out; the charge reached the key's spend and the cost
// metric, but often after the access line was written, whose `embeddingCostUsd` then missed it.
describe('response cache, a priced embedding made for the store after the answer', () => {
  let gateway: GatewayProcess;

  before(async () => {
    // Slower than the chat answer, so the store's embedding is still under way when the answer has gone out.
    gateway = await start({ name: 'slow-embedder', type: 'mock', mock: { latencyMs: 400 } });
  });
  after(() => gateway?.stop());

  it("puts the store's embedding in the request's access line, JSON and streamed, as in the metric and the key's spend", async () => {
    const ask = async (content: string, stream: boolean) => {
      const res = await fetch(`${gateway.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json', 'x-gateway-cache-skip-lookup': 'true' },
        body: JSON.stringify({ model: 'mock-1', stream, messages: [{ role: 'user', content }] }),
      });
      await res.text();
      return [res.headers.get('x-gateway-cache'), res.headers.get('x-request-id')];
    };
    const asked = [await ask('What is a functor, in one sentence?', false), await ask('How deep is the Mariana Trench?', true)];
    assert.deepEqual(
      asked.map(([cache]) => cache),
      ['bypass', 'bypass'],
    );
    const ids = asked.map(([, id]) => id);
    const lines = await gateway.logged('request', { where: (l) => ids.includes(l.reqId as string), count: 2 });
    await settle(600);
    const cost = await metric(gateway, 'gateway_cost_usd_total{provider="slow-embedder",model="paid-embedding",key="team"}');
    assert.ok(cost > 0, 'both stores embedded their prompt, billed to the key');
    const charged = lines.map((l) => l.embeddingCostUsd as number | undefined);
    assert.ok(
      charged.every((usd) => usd! > 0),
      `embeddingCostUsd of the JSON and the streamed request's lines: ${charged.join(', ')}`,
    );
    const total = charged.reduce<number>((sum, usd) => sum + (usd ?? 0), 0);
    assert.ok(Math.abs(cost - total) < 1e-12, `gateway_cost_usd_total ${cost}, access lines ${total}`);
    const res = await fetch(`${gateway.opsUrl}/admin/keys/team/usage`, { headers: { authorization: `Bearer ${MASTER}` } });
    const { spendUsd } = (await res.json()) as { spendUsd: { today: Record<string, number> } };
    assert.ok(Math.abs(spendUsd.today['paid-embedding']! - total) < 1e-12, `the key's spend today: ${JSON.stringify(spendUsd.today)}`);
  });
});
