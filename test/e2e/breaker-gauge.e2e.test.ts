import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { eventually } from '../support/eventually';
import { configWith, GatewayProcess } from '../support/gateway';

const REDIS_URL = process.env.TEST_REDIS_URL;
const COOLDOWN_MS = 1_500;

/** `gateway_circuit_breaker_state` of `deployment` as `replica` exports it now. */
const gauge = (replica: GatewayProcess, deployment: string) =>
  replica.metric('gateway_circuit_breaker_state', `deployment="${deployment}"`);

// Found by an independent check: the gauge read 2 (open) for as long as nobody asked the deployment,
// on dashboards and in alerts, though its cool-down was long over and the next request would probe it.
describe(
  'router: gateway_circuit_breaker_state once the cool-down is over',
  { skip: !REDIS_URL && 'TEST_REDIS_URL unset (run npm test)' },
  () => {
    it('reads 1 (half-open) on the replica that opened the breaker and on the one that heard of it, with no request', async () => {
      const group = `gauge-${Date.now()}`;
      const config = configWith({
        providers: [{ name: 'broken', type: 'mock', mock: { failRate: 1, failStatus: 500 } }],
        models: [{ name: group, deployments: [{ provider: 'broken', model: 'm' }] }],
        router: { retry: { attemptsPerDeployment: 1, retryAfterCapMs: 0 }, breaker: { consecutiveFailures: 2, cooldownMs: COOLDOWN_MS } },
      });
      const [a, b] = await Promise.all([
        GatewayProcess.start(config, { env: { REDIS_URL: REDIS_URL! } }),
        GatewayProcess.start(config, { env: { REDIS_URL: REDIS_URL! } }),
      ]);
      try {
        const deployment = `${group}/0`;
        // Both subscribed before the breaker opens: b hears of it through Redis.
        await new Promise((r) => setTimeout(r, 1_000));
        const client = a.client();
        for (let i = 0; i < 2; i++) {
          await assert.rejects(client.chat.completions.create({ model: group, messages: [{ role: 'user', content: 'x' }] }));
        }
        assert.ok(
          await eventually(async () => (await gauge(a, deployment)) === 2 && (await gauge(b, deployment)) === 2),
          'open on both replicas',
        );
        for (const [name, replica] of [
          ['a', a],
          ['b', b],
        ] as const) {
          assert.ok(await eventually(async () => (await gauge(replica, deployment)) === 1), `${name} shows half-open after cooldownMs`);
        }
        // Still nobody asked: the breaker is no less open for the requests' path than the gauge says.
        const next = await client.chat.completions.create({ model: group, messages: [{ role: 'user', content: 'x' }] }).catch((e) => e);
        assert.equal(next.status, 502, 'the next request probes the deployment (which still fails) rather than being refused');
        assert.equal(await gauge(a, deployment), 2, 'the failed probe opened it again');
      } finally {
        await Promise.all([a.stop(), b.stop()]);
      }
    });
  },
);
