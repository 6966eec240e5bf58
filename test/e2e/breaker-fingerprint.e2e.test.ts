import assert from 'node:assert/strict';
import { after, afterEach, before, beforeEach, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { metric } from '../support/cache';
import { eventually } from '../support/eventually';
import { configWith, GatewayProcess } from '../support/gateway';
import { RedisServer } from '../support/redis-server';

const REDIS_SERVER = process.env.TEST_REDIS_SERVER;
const GROUP = 'gpt-a';
/** A group alike in both configs, whose breaker is opened after the one under test: heard of, it says the other was too. */
const MARKER = 'marker';

const providers = [
  { name: 'broken', type: 'mock', mock: { failRate: 1, failStatus: 500 } },
  { name: 'healthy', type: 'mock' },
];
const router = {
  retry: { attemptsPerDeployment: 1, retryAfterCapMs: 0 },
  breaker: { consecutiveFailures: 3, cooldownMs: 120_000 },
};
const marker = { name: MARKER, deployments: [{ provider: 'broken', model: 'marker' }] };
/** Before the change: the broken deployment first, then the healthy one. */
const withBroken = configWith({
  providers,
  router,
  models: [
    {
      name: GROUP,
      deployments: [
        { provider: 'broken', model: 'm' },
        { provider: 'healthy', model: 'm' },
      ],
    },
    marker,
  ],
});
/** The operator removed the broken deployment: the healthy one is now `gpt-a/0`. */
const withoutBroken = configWith({
  providers,
  router,
  models: [{ name: GROUP, deployments: [{ provider: 'healthy', model: 'm' }] }, marker],
});

const breaker = (replica: GatewayProcess, deployment: string) =>
  replica.metric('gateway_circuit_breaker_state', `deployment="${deployment}"`);

async function ask(replica: GatewayProcess, model: string) {
  const res = await fetch(`${replica.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model, messages: [{ role: 'user', content: 'hi' }] }),
  });
  return { status: res.status, deployment: res.headers.get('x-gateway-deployment'), body: await res.text() };
}

/** Opens the broken deployment's breaker on `replica` (the group still answers, from its backup), then the marker's. */
async function openBreakers(replica: GatewayProcess): Promise<void> {
  for (let i = 0; i < 3; i++) assert.equal((await ask(replica, GROUP)).status, 200, 'the backup answers');
  for (let i = 0; i < 3; i++) assert.equal((await ask(replica, MARKER)).status, 502);
  // Opened once the other replicas are asked whether they served it meanwhile (a round trip through Redis).
  assert.ok(await eventually(async () => (await breaker(replica, `${GROUP}/0`)) === 2), 'the broken deployment is out');
  assert.ok(await eventually(async () => (await breaker(replica, `${MARKER}/0`)) === 2));
}

// Found by an independent check: breakers were shared through Redis by `<group>/<index>`. Removing a broken
// deployment moved the healthy one to its index, and the replicas on the new config applied the removed one's
// open breaker to it: every request 503 for the rest of the cool-down, and again each time an old replica's probe failed.
describe(
  'router: a breaker shared through Redis follows the deployment, not its place in the group',
  { skip: !REDIS_SERVER && 'TEST_REDIS_SERVER unset (run npm test)' },
  () => {
    let server: RedisServer;
    let redis: Redis;
    let started: GatewayProcess[] = [];
    const start = (config: object) => GatewayProcess.start(config, { env: { REDIS_URL: server.url } }).then((g) => (started.push(g), g));
    const subscribers = async () => ((await redis.call('PUBSUB', 'NUMSUB', 'gateway:breakers')) as [string, number])[1];

    before(async () => {
      server = await RedisServer.start(REDIS_SERVER!);
      redis = new Redis(server.url);
    });
    beforeEach(() => redis.flushall());
    // Each test's replicas stop with it, passed or not: the next one counts the subscribers.
    afterEach(async () => {
      await Promise.all(started.map((g) => g.stop()));
      started = [];
    });
    after(async () => {
      redis.disconnect();
      await server.stop();
    });

    it('a replica started on the config without the broken deployment serves from the healthy one', async () => {
      const old = await start(withBroken);
      assert.ok(await eventually(async () => (await subscribers()) === 1), 'the old replica is connected');
      await openBreakers(old);
      assert.ok(await eventually(async () => (await redis.keys('{gateway:breakers}:*')).length === 2), 'both open breakers stored');
      await old.stop();
      const replaced = await start(withoutBroken);
      // Loaded with one MGET: the marker's breaker open here means the stored state has been read.
      assert.ok(await eventually(async () => (await breaker(replaced, `${MARKER}/0`)) === 2), 'the new replica loaded the open breakers');
      const answer = await ask(replaced, GROUP);
      assert.deepEqual([answer.status, answer.deployment], [200, `${GROUP}/0`], answer.body);
      assert.equal(await breaker(replaced, `${GROUP}/0`), 0, 'the healthy deployment is closed');
    });

    it('during the rollout, the old replica re-opening the removed deployment does not take the new one out', async () => {
      const [old, replaced] = await Promise.all([start(withBroken), start(withoutBroken)]);
      assert.ok(await eventually(async () => (await subscribers()) === 2), 'both replicas subscribed');
      await openBreakers(old);
      // Announced after the other on one connection: heard in that order.
      assert.ok(await eventually(async () => (await breaker(replaced, `${MARKER}/0`)) === 2), 'the new replica heard the announcements');
      const answer = await ask(replaced, GROUP);
      assert.deepEqual([answer.status, answer.deployment], [200, `${GROUP}/0`], answer.body);
      assert.equal(
        await breaker(old, `${GROUP}/0`),
        2,
        "the new replica's success does not close the old one's breaker of the broken deployment",
      );
    });

    // The same positional key named the deployment that answered a cached entry: a hit after the change was priced at
    // whichever deployment had moved into its place (gateway_cache_saved_usd_total).
    it('a cache hit stored before a deployment was put in front of the one that answered is priced at that one', async () => {
      const cheap = { provider: 'mock', model: 'cheap', price: { input: 1, output: 2 } };
      const dear = { provider: 'mock', model: 'dear', price: { input: 100, output: 100 } };
      const cached = (deployments: object[]) =>
        // Redis calls get 2 s: past the default budget a store is dropped by design (the cache fails open), as on a busy host.
        configWith({
          models: [{ name: 'priced', deployments }],
          cache: { enabled: true, semantic: { enabled: false }, redis: { timeoutMs: 2_000 } },
        });
      const messages = [{ role: 'user' as const, content: 'price me' }];
      const old = await start(cached([cheap]));
      const first = await old.client().chat.completions.create({ model: 'priced', messages });
      assert.ok(await eventually(async () => (await redis.keys('gw:cache:*')).length > 0), 'the answer is stored');
      await old.stop();
      const replaced = await start(cached([dear, cheap]));
      const { response } = await replaced.client().chat.completions.create({ model: 'priced', messages }).withResponse();
      assert.equal(response.headers.get('x-gateway-cache'), 'hit-exact');
      const usage = first.usage!;
      const billed = (usage.prompt_tokens * 1 + usage.completion_tokens * 2) / 1e6;
      const saved = await metric(replaced, 'gateway_cache_saved_usd_total');
      assert.ok(Math.abs(saved - billed) < 1e-12, `saved ${saved}; at the cheap deployment's prices, which answered: ${billed}`);
    });
  },
);

describe('router: a deployment `id` in the config names it in headers, metrics and logs', () => {
  let gateway: GatewayProcess;
  before(async () => {
    gateway = await GatewayProcess.start(
      configWith({
        models: [
          {
            name: GROUP,
            deployments: [
              { provider: 'mock', model: 'm', id: 'healthy-m' },
              { provider: 'mock', model: 'n' },
            ],
          },
        ],
      }),
    );
  });
  after(() => gateway.stop());

  it('in place of <model>/<index>; the others keep theirs', async () => {
    const answer = await ask(gateway, GROUP);
    assert.deepEqual([answer.status, answer.deployment], [200, 'healthy-m'], answer.body);
    const logged = await gateway.logged('request', { where: (l) => l.model === GROUP });
    assert.equal(logged[0].deployment, 'healthy-m');
    const metrics = await (await fetch(`${gateway.opsUrl}/metrics`)).text();
    assert.match(metrics, /gateway_circuit_breaker_state\{deployment="healthy-m"\} 0/);
    assert.doesNotMatch(metrics, new RegExp(`deployment="${GROUP}/0"`));
  });
});
