import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { Counter, Histogram, Registry } from 'prom-client';
import { CounterFamily, HistogramFamily } from '../../libs/metrics/src/families';
import { MetricsService } from '../../libs/metrics/src/metrics.service';

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

describe('MetricsService: the request and GenAI series a request adds to', () => {
  // The service resolves a request's children once per combination of labels (a series bundle) and each at its
  // first use; a scrape must show exactly the series and values that one prom-client lookup per family gives.
  it('export exactly what prom-client exports for the same requests and completions (fast-check, fixed seed)', async () => {
    const families = {
      gateway_requests_total: ['route', 'model', 'deployment', 'provider', 'status', 'cache'],
      gateway_request_duration_seconds: ['route', 'model', 'status'],
      gateway_overhead_seconds: ['route'],
      gen_ai_client_token_usage: [
        'gen_ai_token_type',
        'gen_ai_operation_name',
        'gen_ai_provider_name',
        'gen_ai_request_model',
        'gen_ai_response_model',
      ],
      gen_ai_server_request_duration_seconds: [
        'gen_ai_operation_name',
        'gen_ai_provider_name',
        'gen_ai_request_model',
        'gen_ai_response_model',
        'error_type',
      ],
      gen_ai_server_time_to_first_token_seconds: [
        'gen_ai_operation_name',
        'gen_ai_provider_name',
        'gen_ai_request_model',
        'gen_ai_response_model',
      ],
      gen_ai_server_time_per_output_token_seconds: [
        'gen_ai_operation_name',
        'gen_ai_provider_name',
        'gen_ai_request_model',
        'gen_ai_response_model',
      ],
    };
    const names = Object.keys(families) as (keyof typeof families)[];
    const pick = <T>(...xs: T[]) => fc.constantFrom(...xs);
    const request = fc.record({
      route: pick('/v1/chat/completions', '/v1/embeddings'),
      model: pick('m1', 'm2'),
      deployment: pick('m1#0', 'm1#1'),
      status: pick(200, 429, 502),
      cache: pick('none', 'hit'),
      seconds: fc.double({ min: 0, max: 30, noNaN: true }),
      overheadSeconds: fc.option(fc.double({ min: 0, max: 0.1, noNaN: true }), { nil: undefined }),
      operation: pick('chat' as const, 'embeddings' as const),
      responseModel: pick('u1', 'u2'),
      inputTokens: fc.nat(5000),
      outputTokens: fc.nat(3),
      ttftSeconds: fc.option(fc.double({ min: 0, max: 5, noNaN: true }), { nil: undefined }),
      errorType: pick(undefined, undefined, 'timeout'),
    });
    await fc.assert(
      fc.asyncProperty(fc.array(request, { maxLength: 60 }), async (requests) => {
        const metrics = new MetricsService();
        const theirs = new Registry();
        const reference = Object.fromEntries(
          names.map((name) => {
            const ours = metrics.registry.getSingleMetric(name) as unknown as { help: string; type: string; buckets?: number[] };
            const config = { name, help: ours.help, labelNames: families[name], registers: [theirs] };
            return [name, ours.type === 'counter' ? new Counter(config) : new Histogram({ ...config, buckets: ours.buckets! })];
          }),
        ) as unknown as Record<string, { labels(...values: string[]): { inc(): void; observe(value: number): void } }>;
        for (const r of requests) {
          metrics.recordRequest({ ...r, provider: 'p' });
          reference.gateway_requests_total.labels(r.route, r.model, r.deployment, 'p', String(r.status), r.cache).inc();
          reference.gateway_request_duration_seconds.labels(r.route, r.model, String(r.status)).observe(r.seconds);
          if (r.overheadSeconds !== undefined) reference.gateway_overhead_seconds.labels(r.route).observe(r.overheadSeconds);
          metrics.recordCompletion({
            ...r,
            genAiProvider: 'openai',
            provider: 'p',
            requestModel: r.model,
            key: 'k',
            costUsd: 0,
            webSearches: 0,
          });
          const genAi = [r.operation, 'openai', r.model, r.responseModel];
          reference.gen_ai_client_token_usage.labels('input', ...genAi).observe(r.inputTokens);
          if (r.operation !== 'embeddings') reference.gen_ai_client_token_usage.labels('output', ...genAi).observe(r.outputTokens);
          reference.gen_ai_server_request_duration_seconds.labels(...genAi, r.errorType ?? '').observe(r.seconds);
          if (r.ttftSeconds !== undefined) {
            reference.gen_ai_server_time_to_first_token_seconds.labels(...genAi).observe(r.ttftSeconds);
            if (r.outputTokens > 1)
              reference.gen_ai_server_time_per_output_token_seconds
                .labels(...genAi)
                .observe(Math.max(0, (r.seconds - r.ttftSeconds) / (r.outputTokens - 1)));
          }
        }
        for (const name of names)
          assert.equal(await metrics.registry.getSingleMetricAsString(name), await theirs.getSingleMetricAsString(name), name);
      }),
      { seed: 24, numRuns: 150 },
    );
  });
});
