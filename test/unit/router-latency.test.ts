import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Clock, LatencyTracker, profileChat, STRATEGY_ORDER, UsageShares } from '@gateway/router';
import { FakeClock } from '../support/fake-clock';
import { deployment, routerConfig } from '../support/router-harness';
import { random } from '../support/vectors';

const EXPLORE_RATE = 0.05; // the default

/**
 * The latency strategy on a virtual clock: one request every `intervalMs` for `untilMs`, each sent to the
 * plan's first deployment, which answers after `costOf(deployment, start)`. Returns what each request was
 * sent to, with its start time. Deterministic: a seeded random for exploration, no wall clock.
 */
async function simulate(
  intervalMs: number,
  untilMs: number,
  costOf: (id: string, at: number) => number,
  seed = 1,
): Promise<{ at: number; to: string }[]> {
  const clock = new FakeClock(0);
  const config = routerConfig({ latency: { exploreRate: EXPLORE_RATE } });
  const latency = new LatencyTracker(config, clock as Clock);
  const ds = [deployment('a'), deployment('b')];
  const ctx = {
    profile: profileChat({ model: 'x', messages: [{ role: 'user', content: 'hi' }] }),
    latency,
    shares: new UsageShares(new Clock()),
    exploreRate: EXPLORE_RATE,
    random: random(seed),
  };
  const sent: { at: number; to: string }[] = [];
  for (let at = 0; at < untilMs; at += intervalMs) {
    await clock.drain(at);
    const to = STRATEGY_ORDER.latency(ds, ctx)[0].id;
    const attempt = latency.start(to, 'total');
    clock.after(costOf(to, at), () => latency.end(to, 'total', attempt, true));
    sent.push({ at, to });
  }
  await clock.drain();
  return sent;
}

describe('latency strategy reaction (virtual clock)', () => {
  const INTERVAL_MS = 50; // 20 requests/s
  const [FAST_MS, OTHER_MS, SLOW_MS] = [100, 300, 3_000];

  it('stops sending to a deployment that turned slow within a few requests, and finds it again soon after it recovers (20 req/s)', async () => {
    // `a` (100 ms) and `b` (300 ms); `a` turns slow (3 s) at 10 s and recovers at 30 s.
    const costOf = (id: string, at: number) => (id === 'b' ? OTHER_MS : at >= 10_000 && at < 30_000 ? SLOW_MS : FAST_MS);
    const sent = await simulate(INTERVAL_MS, 45_000, costOf);
    const toSlowA = sent.filter((r) => r.to === 'a' && r.at >= 10_000 && r.at < 30_000);
    const afterTurn = toSlowA.filter((r) => r.at < 11_000).length;
    const backAt = sent.find((r) => r.at >= 30_000 && r.to === 'a' && sent.some((n) => n.at === r.at + INTERVAL_MS && n.to === 'a'))!.at;
    const lastSeconds = sent.filter((r) => r.at >= 40_000);
    const remeasured = lastSeconds.filter((r) => r.to === 'b').length;
    // The figures README.md (Routing) quotes.
    console.log(
      `latency strategy: ${afterTurn} requests went to the slowed deployment in the first second after it slowed, ${toSlowA.length} in its 20 slow seconds; ` +
        `back in steady use ${backAt - 30_000} ms after it recovered; with both healthy, ${remeasured} of ${lastSeconds.length} requests re-measure the slower one`,
    );
    // Its oldest request in flight must first outgrow the other's 300 ms average: 6 requests at 20/s, plus one, plus exploration.
    assert.ok(
      afterTurn <= OTHER_MS / INTERVAL_MS + 2 + 2 * EXPLORE_RATE * 20,
      `${afterTurn} requests sent to the slow deployment in the first second`,
    );
    // Then only exploration: 5% of 400 requests, with room for the draw.
    assert.ok(toSlowA.length <= afterTurn + 2 * EXPLORE_RATE * 400, `${toSlowA.length} requests sent to it in its 20 slow seconds`);
    assert.ok(backAt - 30_000 <= 2_000 + SLOW_MS, `back after ${backAt - 30_000} ms`);
    assert.ok(
      remeasured >= 1 && remeasured <= 2 * EXPLORE_RATE * lastSeconds.length,
      `${remeasured} of ${lastSeconds.length} re-measure the slower one`,
    );
  });

  // Found by an independent check: an average older than staleAfterMs (2 s) was read as unknown and unknowns sorted
  // first in config order, so below one request per 2 s every request went to the slow deployment listed first,
  // and at ~1 request/s one in three did.
  for (const intervalMs of [4_500, 2_300, 1_000, 400]) {
    it(`at one request every ${intervalMs} ms, the slower deployment gets its first measurement and exploration's share, no more`, async () => {
      const costOf = (id: string) => (id === 'a' ? 1_500 : 50);
      const sent = await simulate(intervalMs, 120 * intervalMs, costOf, intervalMs);
      const toSlow = sent.filter((r) => r.to === 'a').length;
      console.log(`latency strategy, one request every ${intervalMs} ms: ${toSlow} of ${sent.length} went to the 1.5 s deployment`);
      assert.equal(sent[0].to, 'a', 'the first request measures the first deployment');
      assert.ok(
        sent.some((r) => r.to === 'b'),
        'the other deployment is measured too',
      );
      assert.ok(toSlow <= 1 + 2 * EXPLORE_RATE * sent.length, `${toSlow} of ${sent.length} requests went to the 1.5 s deployment`);
    });
  }
});
