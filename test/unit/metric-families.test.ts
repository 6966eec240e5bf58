import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { Counter, Histogram, Registry } from 'prom-client';
import { CounterFamily, HistogramFamily } from '../../libs/metrics/src/families';

const BUCKETS = [0.005, 0.05, 0.5, 1, 5, 60];
const LABELS = ['route', 'status'];
const route = fc.constantFrom('chat', 'responses', 'messages', 'a "quoted"\\route\n');
const status = fc.constantFrom('200', '429', '502');
// Values on and around the bounds, above the last one, zero and negative.
const value = fc.oneof(fc.constantFrom(...BUCKETS, 0, -1, 61, 1e9), fc.double({ min: -10, max: 100, noNaN: true }));

describe('metric families (the hot-path counters and histograms)', () => {
  it('export exactly what prom-client exports for the same samples (fast-check, fixed seed)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(route, status, value, fc.double({ min: 0, max: 5, noNaN: true })), { maxLength: 200 }),
        async (samples) => {
          const ours = new Registry();
          const theirs = new Registry();
          const histogram = new HistogramFamily(ours, { name: 'h_seconds', help: 'h', labelNames: LABELS, buckets: BUCKETS });
          const counter = new CounterFamily(ours, { name: 'c_total', help: 'c', labelNames: LABELS });
          const reference = new Histogram({ name: 'h_seconds', help: 'h', labelNames: LABELS, buckets: BUCKETS, registers: [theirs] });
          const referenceCounter = new Counter({ name: 'c_total', help: 'c', labelNames: LABELS, registers: [theirs] });
          for (const [r, s, v, by] of samples) {
            histogram.with(r, s).observe(v);
            reference.labels(r, s).observe(v);
            counter.with(r, s).inc(by);
            referenceCounter.labels(r, s).inc(by);
          }
          assert.equal(await ours.metrics(), await theirs.metrics());
        },
      ),
      { seed: 17, numRuns: 300 },
    );
  });

  it('drop non-finite and negative amounts instead of throwing on the request path', async () => {
    const registry = new Registry();
    const histogram = new HistogramFamily(registry, { name: 'h_seconds', help: 'h', labelNames: ['route'], buckets: BUCKETS });
    const counter = new CounterFamily(registry, { name: 'c_total', help: 'c', labelNames: ['route'] });
    histogram.with('chat').observe(0.01);
    for (const bad of [NaN, Infinity, -Infinity]) histogram.with('chat').observe(bad);
    for (const bad of [NaN, Infinity, -1]) counter.with('chat').inc(bad);
    counter.with('chat').inc();
    const text = await registry.metrics();
    assert.match(text, /^h_seconds_count\{route="chat"\} 1$/m);
    assert.match(text, /^h_seconds_sum\{route="chat"\} 0.01$/m);
    assert.match(text, /^c_total\{route="chat"\} 1$/m);
  });
});
