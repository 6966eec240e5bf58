import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { Logger } from '@nestjs/common';
import { GatewayError } from '@gateway/providers';
import type { AttemptCall, Deployment } from '@gateway/router';
import { routerConfig, routerHarness } from '../support/router-harness';

const config = () =>
  routerConfig({
    retry: { attemptsPerDeployment: 1, backoffMs: 10, maxBackoffMs: 10 },
    timeouts: { attemptMs: 1_000, deadlineMs: 10_000 },
    breaker: { consecutiveFailures: 3, cooldownMs: 30_000 },
  });

async function settle<T>(h: ReturnType<typeof routerHarness>, pending: Promise<T>): Promise<T> {
  await h.clock.drain();
  return pending;
}

// Found by an independent check (fair31, defect 1): one tenant's long streams held every one of a provider's
// maxConnections; another tenant's requests waited in the gateway's own queue for a connection, timed out at attemptMs
// as 504 "The upstream did not answer within N ms" (it never had them), and those waits counted as the deployment's
// failures: its breaker opened and everyone got 503 no_healthy_deployment from a healthy upstream.
describe('executor: an attempt that timed out still queued for a connection', () => {
  before(() => Logger.overrideLogger(false));

  /** g/0's pool is full: its request is never written (`sent` never called) until the attempt gives up. g/1 answers. */
  const poolFullOnFirst: AttemptCall<string> = async (d: Deployment, signal: AbortSignal, _timing, sent) => {
    if (d.id !== 'g/0') {
      sent?.();
      return d.id;
    }
    await new Promise((_, fail) => signal.addEventListener('abort', () => fail(signal.reason), { once: true }));
    throw GatewayError.clientClosed();
  };

  it('is not the deployment failing: its breaker stays closed, no latency sample, and the request falls over', async () => {
    const h = routerHarness(config(), 2);
    for (let i = 0; i < 5; i++) {
      const answer = await settle(h, h.send(poolFullOnFirst));
      assert.equal(answer.status, 200, 'g/1 answered');
      assert.deepEqual(answer.fallbacks, ['g/0=connections_busy'], 'moved on, saying why');
    }
    assert.equal(h.breakers.get('g/0').state, 'closed', 'five waits for a connection, more than consecutiveFailures');
    assert.equal(h.latency.get('g/0', 'total'), undefined, 'a wait for a connection says nothing of the upstream');
  });

  it("says what happened, in a group of one: 503 connections_busy with a Retry-After, not the upstream's timeout", async () => {
    const h = routerHarness(config(), 1);
    const answer = await settle(h, h.send(poolFullOnFirst));
    assert.equal(answer.status, 503);
    assert.equal(answer.code, 'connections_busy');
    assert.match(answer.message!, /was not sent upstream/);
    assert.equal(answer.headers?.['retry-after'], '1');
  });

  it('a request that was sent and then timed out is still the upstream timing out', async () => {
    const h = routerHarness(config(), 1);
    const hangs: AttemptCall<string> = async (_d, signal, _timing, sent) => {
      sent?.();
      await new Promise((_, fail) => signal.addEventListener('abort', () => fail(signal.reason), { once: true }));
      throw GatewayError.clientClosed();
    };
    for (let i = 0; i < 3; i++) assert.equal((await settle(h, h.send(hangs))).status, 504);
    assert.equal(h.breakers.get('g/0').state, 'open', 'a hung deployment opens as before');
  });
});
