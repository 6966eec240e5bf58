import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, it } from 'node:test';
import { Registry } from 'prom-client';
import { EventLoopDelayHistogram } from '@gateway/metrics';

/** `le` -> cumulative count, plus sum and count, from the exposition text. */
function parse(text: string) {
  const buckets = new Map<string, number>();
  for (const m of text.matchAll(/^gateway_event_loop_delay_seconds_bucket\{le="([^"]+)"\} (\S+)$/gm)) buckets.set(m[1], Number(m[2]));
  const one = (name: string) => Number(text.match(new RegExp(`^gateway_event_loop_delay_seconds_${name} (\\S+)$`, 'm'))![1]);
  return { buckets, sum: one('sum'), count: one('count') };
}

function block(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until);
}

describe('gateway_event_loop_delay_seconds', () => {
  it('is a cumulative Prometheus histogram that records a blocked event loop in its tail', async () => {
    const registry = new Registry();
    const histogram = new EventLoopDelayHistogram(registry);
    try {
      await sleep(100);
      const first = parse(await registry.metrics());
      assert.match(await registry.metrics(), /^# TYPE gateway_event_loop_delay_seconds histogram$/m);
      // A 300 ms synchronous block delays the next sample by at least ~290 ms, however busy
      // the machine is (a busier machine only adds delay), so it lands above the 0.25 s bucket.
      block(300);
      await sleep(50);
      const second = parse(await registry.metrics());
      assert.ok(second.count > first.count, 'samples were added');
      assert.ok(second.count - second.buckets.get('0.25')! >= 1, 'the blocked sample is above 0.25 s');
      assert.ok(second.sum - first.sum >= 0.25, `the sum grew by the block: ${second.sum - first.sum}`);
      // Cumulative: across buckets (le ascending) and across scrapes.
      const les = [...second.buckets.keys()];
      for (let i = 1; i < les.length; i++) assert.ok(second.buckets.get(les[i])! >= second.buckets.get(les[i - 1])!, `bucket ${les[i]}`);
      assert.equal(second.buckets.get('+Inf'), second.count);
      for (const [le, v] of first.buckets) assert.ok(second.buckets.get(le)! >= v, `bucket ${le} never decreases`);
    } finally {
      histogram.stop();
    }
  });

  // Found by an independent check (obs31): the top bound was 1 s, so a stall of seconds was only in +Inf.
  it('records a stall of over a second below a finite bound', async () => {
    const registry = new Registry();
    const histogram = new EventLoopDelayHistogram(registry);
    try {
      await sleep(50);
      block(1_200);
      await sleep(50);
      const { buckets } = parse(await registry.metrics());
      assert.ok(buckets.get('10')! - buckets.get('1')! >= 1, `the blocked sample is between 1 s and 10 s: ${[...buckets].join(' ')}`);
    } finally {
      histogram.stop();
    }
  });
});
