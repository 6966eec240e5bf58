import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { FakeOpenAI } from '../support/fake-openai';
import { configWith, GatewayProcess } from '../support/gateway';

const MASTER = 'master-key-0123456789abcdef';
const SLOW_KEY = 'tenant-slow-key-0123456789abcdef';
const OTHER_KEY = 'tenant-other-key-0123456789abcdef';
const GROUP = 'shared';
/** The upstream answers a prompt of up to this many characters at once, and a longer one never (until the gateway gives up). */
const BIG = 1_000;

// Found by an independent check (sec30, defect 4): one tenant's requests that take longer than attemptMs (a huge prompt,
// a long generation) counted as the deployment's failures, opened its breaker, and every other tenant was refused
// 503 no_healthy_deployment for breaker.cooldownMs, at will. Seen failing before the fix: the first round of timeouts
// opened the breaker, and the retries (3 or 4 of the 6 asked) and the other tenant were refused.
describe("router: one tenant's slow requests time out while the deployment answers the others", () => {
  const upstream = new FakeOpenAI();
  let gateway: GatewayProcess;

  before(async () => {
    const baseUrl = await upstream.start();
    const config = configWith({
      providers: [{ name: 'fake', type: 'openai-compatible', baseUrl, apiKeyEnv: 'FAKE_KEY' }],
      models: [{ name: GROUP, deployments: [{ provider: 'fake', model: `hang-over-${BIG}` }] }],
      router: {
        retry: { attemptsPerDeployment: 2, backoffMs: 20, maxBackoffMs: 40 },
        timeouts: { attemptMs: 1_500, deadlineMs: 20_000 },
        // Three slow requests time out twice each: six timeouts, each round of three enough to open it before the fix.
        breaker: { consecutiveFailures: 3, cooldownMs: 30_000 },
      },
      security: {
        keys: [
          { id: 'tenant-slow', keyEnv: 'SLOW_KEY' },
          { id: 'tenant-other', keyEnv: 'OTHER_KEY' },
        ],
      },
    });
    gateway = await GatewayProcess.start(config, {
      env: { FAKE_KEY: 'sk-fake', GATEWAY_MASTER_KEY: MASTER, SLOW_KEY, OTHER_KEY },
    });
  });
  after(async () => {
    await gateway?.stop();
    await upstream.stop();
  });

  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
  const ask = (key: string, content: string) =>
    fetch(`${gateway.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: GROUP, messages: [{ role: 'user', content }] }),
    });

  it('the other tenant is served while they time out and after; the slow requests are tried twice each', async () => {
    const slowAsked = () => upstream.received.filter((r) => JSON.stringify(r.body).includes('essay')).length;
    let slowDone = false;
    const slow = Promise.all([1, 2, 3].map((i) => ask(SLOW_KEY, `essay ${i} `.repeat(BIG)).then((r) => r.status))).finally(
      () => (slowDone = true),
    );
    /** The other tenant asks once the slow attempts are upstream (a few ms on, so that its attempt starts later by the clock). */
    const otherAfter = async (slowAttempts: number) => {
      while (slowAsked() < slowAttempts && !slowDone) await sleep(10);
      await sleep(10);
      return (await ask(OTHER_KEY, 'hello')).status;
    };
    // Its answers show the deployment up after each round of slow attempts began, before that round times out. Before
    // the fix the first round's three timeouts opened the breaker: the retries were refused, as the other tenant was.
    const others = [await otherAfter(3), await otherAfter(6)];
    assert.deepEqual(await slow, [504, 504, 504], 'the slow requests timed out (the upstream never answers them)');
    assert.equal(slowAsked(), 6, 'each slow request was tried twice: no open breaker cut its retry short');
    others.push((await ask(OTHER_KEY, 'hello again')).status);
    assert.deepEqual(others, [200, 200, 200], 'the other tenant was served while the slow requests timed out, and after');
    assert.equal(await gateway.metric('gateway_circuit_breaker_state', `deployment="${GROUP}/0"`), 0, 'the breaker stayed closed');
  });
});
