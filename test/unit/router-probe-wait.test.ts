import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { Logger } from '@nestjs/common';
import { GatewayError } from '@gateway/providers';
import type { Deployment } from '@gateway/router';
import { routerConfig, routerHarness } from '../support/router-harness';

const COOLDOWN_MS = 30_000;
const config = (retryAfterCapMs: number) =>
  routerConfig({
    retry: { attemptsPerDeployment: 1, backoffMs: 10, maxBackoffMs: 10, retryAfterCapMs },
    timeouts: { attemptMs: 1_000, deadlineMs: 10_000 },
    breaker: { consecutiveFailures: 3, cooldownMs: COOLDOWN_MS },
  });

const BURST = 8;

/** A one-deployment group whose breaker opened and whose cool-down is over; then the upstream is `up` or still down. */
async function afterCoolDown(retryAfterCapMs: number, upAfter: boolean) {
  const h = routerHarness(config(retryAfterCapMs), 1);
  const asked: number[] = [];
  let up = false;
  const call = async (_d: Deployment, signal: AbortSignal) => {
    asked.push(h.clock.now());
    await h.clock.sleep(200, signal); // the upstream takes 200 ms to answer
    if (signal.aborted) throw GatewayError.clientClosed();
    if (!up) throw new GatewayError(502, 'down', 'upstream_error', 'upstream_error', null, {}, true).from(500);
    return 'answer';
  };
  for (let i = 0; i < 3; i++) {
    const run = h.send(call);
    await h.clock.drain();
    await run;
  }
  assert.equal(h.breakers.get('g/0').state, 'open');
  await h.clock.drain(h.clock.now() + COOLDOWN_MS);
  up = upAfter;
  /** BURST requests at once, as a busy model's clients send them right after the cool-down. */
  const burst = async () => {
    const runs = Array.from({ length: BURST }, () => h.send(call));
    await h.clock.drain();
    return Promise.all(runs);
  };
  return { h, asked, burst };
}

// Found by an independent check: while the half-open probe was in flight, the requests beside it
// got an immediate 503 no_healthy_deployment, so a recovered one-deployment model still answered
// a burst of 503s right after its cool-down.
describe('router: requests beside a half-open probe', () => {
  before(() => Logger.overrideLogger(false));

  it("wait for the probe's verdict and are answered by the recovered upstream", async () => {
    const { h, asked, burst } = await afterCoolDown(5_000, true);
    const answers = await burst();
    assert.deepEqual(
      answers.map((a) => a.status),
      Array(BURST).fill(200),
    );
    assert.equal(h.breakers.get('g/0').state, 'closed');
    const start = asked.length - BURST;
    assert.ok(
      asked.slice(start + 1).every((t) => t >= asked[start] + 200),
      'the others asked once the probe had answered, not beside it',
    );
  });

  // A probe answered with a 5xx lets the next request probe, one at a time, until consecutiveFailures (3) did (fair31 D3:
  // one tenant's failing prompts would win it every cool-down); the probes are the only requests sent upstream.
  it('get the 503 once the probes fail, with the cool-down as Retry-After, having asked the upstream one probe at a time', async () => {
    const { h, asked, burst } = await afterCoolDown(5_000, false);
    const before = asked.length;
    const answers = await burst();
    const probes = asked.slice(before);
    assert.equal(probes.length, 3, 'consecutiveFailures probes went upstream');
    assert.ok(
      probes.every((t, i) => i === 0 || t >= probes[i - 1] + 200),
      'each after the one before had failed',
    );
    assert.equal(answers.filter((a) => a.status === 502).length, 3, "the probes' own failures");
    const refused = answers.filter((a) => a.status === 503);
    assert.equal(refused.length, BURST - 3);
    assert.ok(refused.every((a) => a.headers?.['retry-after'] === String(COOLDOWN_MS / 1000)));
    assert.equal(h.breakers.get('g/0').state, 'open');
  });

  it('do not wait with retryAfterCapMs 0: refused at once, as before', async () => {
    const { burst } = await afterCoolDown(0, true);
    const answers = await burst();
    assert.equal(answers.filter((a) => a.status === 200).length, 1, 'the probe');
    assert.ok(answers.filter((a) => a.status !== 200).every((a) => a.status === 503 && a.end === a.start));
  });
});
