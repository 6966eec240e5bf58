import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { Logger } from '@nestjs/common';
import { GatewayError } from '@gateway/providers';
import { routerConfig, routerHarness } from '../support/router-harness';

const config = routerConfig({
  retry: { attemptsPerDeployment: 1, retryAfterCapMs: 0 },
  breaker: { consecutiveFailures: 2, cooldownMs: 30_000 },
});

/** The gauge's value per deployment, as a scrape reads it. */
async function scrape(h: ReturnType<typeof routerHarness>): Promise<Record<string, number>> {
  const { values } = await h.metrics.registry.getSingleMetric('gateway_circuit_breaker_state')!.get();
  return Object.fromEntries(values.map((v) => [v.labels.deployment, v.value]));
}

// Found by an independent check: the gauge read 2 (open) for as long as nobody asked the deployment.
describe('gateway_circuit_breaker_state', () => {
  before(() => Logger.overrideLogger(false));

  it('reads the breaker at scrape time: half-open once the cool-down is over, with no request', async () => {
    const h = routerHarness(config, 2);
    const failing = async () => Promise.reject(new GatewayError(502, 'down', 'upstream_error', 'upstream_error', null, {}, true).from(500));
    for (let i = 0; i < 2; i++) {
      const run = h.send(failing);
      await h.clock.drain();
      await run;
    }
    assert.deepEqual(await scrape(h), { 'g/0': 2, 'g/1': 2 });
    await h.clock.drain(h.clock.now() + 29_999);
    assert.deepEqual(await scrape(h), { 'g/0': 2, 'g/1': 2 }, 'open during the cool-down');
    await h.clock.drain(h.clock.now() + 1);
    assert.deepEqual(await scrape(h), { 'g/0': 1, 'g/1': 1 }, 'the next request may probe');
    const run = h.send(async (d) => d.id);
    await h.clock.drain();
    assert.equal((await run).status, 200);
    assert.deepEqual(await scrape(h), { 'g/0': 0, 'g/1': 1 }, 'the probe closed the first; the second still waits for one');
  });
});
