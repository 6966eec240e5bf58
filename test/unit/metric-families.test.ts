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

/** Our families and prom-client's own metrics, the same names, labels and buckets, in a registry each. */
function sideBySide() {
  const ours = new Registry();
  const theirs = new Registry();
  return {
    ours,
    theirs,
    histogram: new HistogramFamily(ours, { name: 'h_seconds', help: 'h', labelNames: LABELS, buckets: BUCKETS }),
    counter: new CounterFamily(ours, { name: 'c_total', help: 'c', labelNames: LABELS }),
    reference: new Histogram({ name: 'h_seconds', help: 'h', labelNames: LABELS, buckets: BUCKETS, registers: [theirs] }),
    referenceCounter: new Counter({ name: 'c_total', help: 'c', labelNames: LABELS, registers: [theirs] }),
  };
}

describe('metric families (the hot-path counters and histograms)', () => {
  it('export exactly what prom-client exports for the same samples (fast-check, fixed seed)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(route, status, value, fc.double({ min: 0, max: 5, noNaN: true })), { maxLength: 200 }),
        async (samples) => {
          const { ours, theirs, histogram, counter, reference, referenceCounter } = sideBySide();
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

  it('remove the children of one label value as prom-client removes each of its series, samples before and after (fast-check, fixed seed)', async () => {
    const routes = ['chat', 'responses', 'messages', 'a "quoted"\\route\n'];
    const statuses = ['200', '429', '502'];
    const sample = fc.tuple(fc.constant('sample' as const), route, status, value, fc.double({ min: 0, max: 5, noNaN: true }));
    const removal = fc.oneof(
      fc.tuple(fc.constant('remove' as const), fc.constant('route'), route),
      fc.tuple(fc.constant('remove' as const), fc.constant('status'), status),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(fc.oneof(sample, sample, removal), { maxLength: 200 }), async (steps) => {
        const { ours, theirs, histogram, counter, reference, referenceCounter } = sideBySide();
        for (const step of steps) {
          if (step[0] === 'sample') {
            const [, r, s, v, by] = step;
            histogram.with(r, s).observe(v);
            reference.labels(r, s).observe(v);
            counter.with(r, s).inc(by);
            referenceCounter.labels(r, s).inc(by);
            continue;
          }
          const [, label, removed] = step;
          histogram.remove(label, removed);
          counter.remove(label, removed);
          // prom-client removes one series by all its labels: each that has the value.
          for (const r of label === 'route' ? [removed] : routes)
            for (const s of label === 'status' ? [removed] : statuses) {
              reference.remove(r, s);
              referenceCounter.remove(r, s);
            }
        }
        assert.equal(await ours.metrics(), await theirs.metrics());
      }),
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
