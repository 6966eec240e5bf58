import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Clock, LatencyTracker, profileChat, STRATEGY_ORDER } from '@gateway/router';
import { FakeClock } from '../support/fake-clock';
import { deployment, routerConfig } from '../support/router-harness';

const INTERVAL_MS = 50; // 20 requests/s
const FAST_MS = 100;
const OTHER_MS = 300;
const SLOW_MS = 3_000;

/**
 * The latency strategy on a virtual clock: `a` (100 ms) and `b` (300 ms) serve 20
 * requests/s; `a` turns slow (3 s) at 10 s and recovers at 30 s. Returns what each
 * request was sent to, with its start time. Deterministic: no exploration, no wall clock.
 */
async function simulate(): Promise<{ at: number; to: string }[]> {
  const clock = new FakeClock(0);
  const config = routerConfig({ latency: { exploreRate: 0 } });
  const latency = new LatencyTracker(config, clock as Clock);
  const ds = [deployment('a'), deployment('b')];
  const ctx = {
    profile: profileChat({ model: 'x', messages: [{ role: 'user', content: 'hi' }] }),
    latency,
    exploreRate: 0,
    random: Math.random,
  };
  const costOf = (id: string, at: number) => (id === 'b' ? OTHER_MS : at >= 10_000 && at < 30_000 ? SLOW_MS : FAST_MS);
  const sent: { at: number; to: string }[] = [];
  for (let at = 0; at < 45_000; at += INTERVAL_MS) {
    await clock.drain(at);
    const to = STRATEGY_ORDER.latency(ds, ctx)[0].id;
    const attempt = latency.start(to, 'total');
    clock.after(costOf(to, at), () => latency.end(to, 'total', attempt, true));
    sent.push({ at, to });
  }
  await clock.drain();
  return sent;
}

describe('latency strategy reaction (virtual clock, 20 req/s)', () => {
  it('stops sending to a deployment that turned slow within a few requests, and finds it again soon after it recovers', async () => {
    const sent = await simulate();
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
    // Its oldest request in flight must first outgrow the other's 300 ms average: 6 requests at 20/s, plus one.
    assert.ok(afterTurn <= OTHER_MS / INTERVAL_MS + 2, `${afterTurn} requests sent to the slow deployment in the first second`);
    assert.ok(
      toSlowA.length <= 20 * 2,
      `${toSlowA.length} re-measurements over 20 s (at most one per staleAfterMs while one is in flight)`,
    );
    assert.ok(backAt - 30_000 <= 2_000 + SLOW_MS, `back after ${backAt - 30_000} ms`);
    // The other one is re-measured once its average goes stale (every staleAfterMs = 2 s): the price of finding recoveries.
    assert.ok(remeasured >= 1 && remeasured <= 3, `${remeasured} of ${lastSeconds.length} requests in the last 5 s went to the slower one`);
  });
});
