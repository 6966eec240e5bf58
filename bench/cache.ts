/**
 * Cache latency benchmark (prints a Markdown table):
 *  - exact hit: CacheService.lookup() end to end (canonical hash, backend get, metrics);
 *  - semantic lookup without the embedding: KNN among the namespace's vectors, the guard,
 *    and the hit's body fetch, as CacheService does after embedding;
 *  - the offline embedder: latency per prompt and how long the event loop is held.
 * Backends: in process always; Redis with --redis URL; Redis Stack with --stack URL.
 * Entries: 10,000 and 100,000 (--sizes), all in one namespace (the worst case for KNN).
 * Vectors are synthetic (512 dimensions, clustered like sentence embeddings).
 *   node dist/bench/cache.js [--redis redis://…] [--stack redis://…] [--sizes 10000,100000] [--parts exact,semantic,embedding]
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import { Logger } from '@nestjs/common';
import { parseConfig } from '@gateway/config';
import { MetricsService } from '@gateway/metrics';
import type { ChatCompletionCreateParams } from '@gateway/providers';
import { ProvidersService } from '@gateway/providers';
import { RedisService } from '@gateway/redis';
import { BreakerRegistry, Clock, Executor, LatencyTracker, ModelCatalog, RouterService, Stopping, UsageShares } from '@gateway/router';
import { CacheService } from '../libs/cache/src/cache.service';
import type { CacheBackend } from '../libs/cache/src/backends/backend';
import { EmbeddedBackend } from '../libs/cache/src/backends/embedded.backend';
import { RedisBackend } from '../libs/cache/src/backends/redis.backend';
import { LocalUseEmbedder } from '../libs/cache/src/embedders/worker-embedder';
import { guard, promptFacts } from '../libs/cache/src/guard';
import { near as nearTo, random, randomUnit } from '../test/support/vectors';

const { values: args } = parseArgs({
  options: {
    redis: { type: 'string' },
    stack: { type: 'string' },
    sizes: { type: 'string', default: '10000,100000' },
    samples: { type: 'string', default: '2000' },
    parts: { type: 'string', default: 'exact,semantic,embedding' },
  },
});
const SIZES = args.sizes!.split(',').map(Number);
const SAMPLES = Number(args.samples);
const PARTS = new Set(args.parts!.split(','));
const DIMS = 512;
const BODY = JSON.stringify({
  id: 'chatcmpl-bench',
  object: 'chat.completion',
  created: 1,
  model: 'bench',
  choices: [{ index: 0, message: { role: 'assistant', content: 'x'.repeat(600), refusal: null }, finish_reason: 'stop', logprobs: null }],
  usage: { prompt_tokens: 20, completion_tokens: 150, total_tokens: 170 },
});
Logger.overrideLogger(['error']);

function percentiles(ms: number[]): string {
  const sorted = [...ms].sort((a, b) => a - b);
  const at = (p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))].toFixed(3);
  return `${at(50)} | ${at(99)}`;
}

const rand = random(42);
const unit = () => randomUnit(rand, DIMS);
const near = (v: Float32Array, similarity: number) => nearTo(v, similarity, rand);

const request = (i: number): ChatCompletionCreateParams => ({
  model: 'bench',
  temperature: 0,
  messages: [
    { role: 'system', content: 'You are a helpful assistant.' },
    { role: 'user', content: `Benchmark question number ${i}: what is the answer?` },
  ],
});

async function exactHits(redisUrl: string | undefined, size: number): Promise<string> {
  const config = parseConfig(
    {
      providers: [{ name: 'mock', type: 'mock' }],
      models: [{ name: 'bench', deployments: [{ provider: 'mock', model: 'bench' }] }],
      cache: {
        enabled: true,
        semantic: { enabled: false },
        redis: { keyPrefix: `bench:${size}:`, maxEntries: size * 2, timeoutMs: 1000 },
        embedded: { maxMemoryMb: 4096 },
      },
    },
    redisUrl ? { REDIS_URL: redisUrl } : {},
  );
  const redis = new RedisService(config);
  const metrics = new MetricsService();
  const catalog = new ModelCatalog(config, new ProvidersService(config));
  const clock = new Clock();
  const [breakers, latency] = [new BreakerRegistry(config, redis, metrics, clock), new LatencyTracker(config, clock)];
  const router = new RouterService(config, catalog, breakers, latency, new UsageShares(clock));
  const cache = new CacheService(config, redis, metrics, router, new Executor(config, breakers, latency, metrics, clock, new Stopping()));
  await cache.onModuleInit();
  const scope = { tenant: 'bench', modelGroup: 'bench' };
  for (let i = 0; i < size; i += 200) {
    await Promise.all(
      Array.from({ length: Math.min(200, size - i) }, async (_, j) => {
        const miss = await cache.lookup(request(i + j), scope);
        await cache.store(miss, BODY);
      }),
    );
  }
  const times: number[] = [];
  for (let s = 0; s < SAMPLES; s++) {
    const req = request(Math.floor(rand() * size));
    const started = performance.now();
    const hit = await cache.lookup(req, scope);
    times.push(performance.now() - started);
    if (hit.status !== 'hit-exact') throw new Error(`expected an exact hit, got ${hit.status}`);
  }
  if (redis.client) {
    const keys = await redis.client.keys(`bench:${size}:*`);
    for (let i = 0; i < keys.length; i += 1000) await redis.client.del(...keys.slice(i, i + 1000));
  }
  await cache.onApplicationShutdown();
  await redis.onApplicationShutdown();
  return percentiles(times);
}

async function semanticLookups(
  backend: CacheBackend,
  size: number,
  load: (entries: { key: string; vector: Float32Array; prompt: string }[]) => Promise<void>,
  serverMicros?: () => Promise<number>,
): Promise<string> {
  const centres = Array.from({ length: 1000 }, unit);
  const vectors = Array.from({ length: size }, (_, i) => near(centres[i % centres.length], 0.75));
  const started = performance.now();
  await load(vectors.map((vector, i) => ({ key: `k${i}`, vector, prompt: `How do I configure feature ${i} in the admin panel?` })));
  const loadSeconds = (performance.now() - started) / 1000;
  const times: number[] = [];
  let found = 0;
  const samples = Math.min(SAMPLES, 1000);
  await serverMicros?.();
  // CPU time is what a lookup costs; wall-clock percentiles on a busy machine add the waits for a core.
  const cpu = process.cpuUsage();
  for (let s = 0; s < samples; s++) {
    const target = Math.floor(rand() * size);
    const query = near(vectors[target], 0.93);
    const queryFacts = promptFacts(`How can I configure feature ${target} in the admin panel?`);
    const t0 = performance.now();
    const neighbours = await backend.nearest('ns', query, 3);
    let served;
    for (const n of neighbours) {
      if (n.similarity < 0.8 || guard(queryFacts, promptFacts(n.prompt))) continue;
      served = await backend.get(n.key);
      if (served) break;
    }
    times.push(performance.now() - t0);
    if (neighbours[0]?.key === `k${target}` && served) found++;
  }
  const used = process.cpuUsage(cpu);
  const cpuMs = (used.user + used.system) / 1000 / samples;
  const server = serverMicros ? ` + ${((await serverMicros()) / 1000).toFixed(3)} server` : '';
  return `${percentiles(times)} | ${cpuMs.toFixed(3)}${server} | ${((100 * found) / samples).toFixed(1)}% | ${loadSeconds.toFixed(1)} s`;
}

async function embedding(): Promise<string[]> {
  const rssBefore = process.memoryUsage().rss;
  const embedder = new LocalUseEmbedder();
  let started = performance.now();
  await embedder.loaded;
  const loadMs = performance.now() - started;
  const rssLoaded = process.memoryUsage().rss;
  const times: number[] = [];
  const delay = monitorEventLoopDelay({ resolution: 1 });
  delay.enable();
  // A timer keeps the loop turning so that a blocked loop shows up as delay.
  const tick = setInterval(() => {}, 1);
  for (let i = 0; i < 200; i++) {
    started = performance.now();
    await embedder.embed(`How do I configure feature ${i} of the admin panel for my team?`);
    times.push(performance.now() - started);
  }
  clearInterval(tick);
  delay.disable();
  const oneAtATime = (1000 * times.length) / times.reduce((a, b) => a + b, 0);
  const rows = [`| local USE lite (worker thread), one prompt at a time | ${percentiles(times)} | ${oneAtATime.toFixed(0)} |`];
  for (const concurrent of [8, 32, 256]) {
    const burst = performance.now();
    const prompts = Array.from({ length: 512 }, (_, i) => `Concurrent prompt ${i} about configuring the admin panel for team ${i % 7}`);
    // `concurrent` callers, each sending its next prompt when the last one is answered.
    const next = { i: 0 };
    await Promise.all(
      Array.from({ length: concurrent }, async () => {
        while (next.i < prompts.length) await embedder.embed(prompts[next.i++]);
      }),
    );
    const seconds = (performance.now() - burst) / 1000;
    rows.push(
      `| ${concurrent} concurrent callers, 512 prompts (batched in the worker) | – | – | ${(prompts.length / seconds).toFixed(0)} |`,
    );
  }
  const rssAfter = process.memoryUsage().rss;
  await embedder.close();
  const mb = (bytes: number) => (bytes / 1024 / 1024).toFixed(0);
  return [
    ...rows,
    `| model load at start-up | ${loadMs.toFixed(0)} | – | – |`,
    `| event-loop delay while embedding (max / p99) | ${(delay.max / 1e6).toFixed(1)} / ${(delay.percentile(99) / 1e6).toFixed(1)} | – | – |`,
    `| RSS: before the embedder / loaded / after the runs (MB) | ${mb(rssBefore)} / ${mb(rssLoaded)} / ${mb(rssAfter)} | – | – |`,
  ];
}

async function main(): Promise<void> {
  if (PARTS.has('exact')) await exactTable();
  if (PARTS.has('semantic')) await semanticTable();
  if (PARTS.has('embedding')) {
    console.log(`\n## Embedding\n\n| what | p50 ms | p99 ms | prompts/s |\n|---|---|---|---|`);
    for (const line of await embedding()) console.log(line);
  }
}

async function exactTable(): Promise<void> {
  console.log(`## Exact hits (CacheService.lookup, ${SAMPLES} samples)\n\n| backend | entries | p50 ms | p99 ms |\n|---|---|---|---|`);
  for (const size of SIZES) {
    console.log(`| in process | ${size} | ${await exactHits(undefined, size)} |`);
    if (args.redis) console.log(`| Redis | ${size} | ${await exactHits(args.redis, size)} |`);
  }
}

async function semanticTable(): Promise<void> {
  console.log(
    `\n## Semantic lookups without the embedding (KNN k=3 in one namespace, guard, body fetch)\n\n| backend | entries | p50 ms | p99 ms | CPU ms per lookup (gateway + Redis) | top-1 recall | load time |\n|---|---|---|---|---|---|---|`,
  );
  for (const size of SIZES) {
    const embedded = new EmbeddedBackend(8 * 1024 * 1024 * 1024);
    const row = await semanticLookups(embedded, size, async (entries) => {
      for (const e of entries)
        await embedded.put(
          e.key,
          { namespace: 'ns', tenant: 'bench', body: BODY, promptTokens: 20, completionTokens: 150, prompt: e.prompt, vector: e.vector },
          3600,
        );
    });
    console.log(`| in process | ${size} | ${row} |`);
    embedded.close();
    if (args.stack) console.log(`| Redis Stack | ${size} | ${await stackRow(args.stack, size)} |`);
  }
}

async function stackRow(url: string, size: number): Promise<string> {
  const client = new Redis(url);
  const prefix = `benchstack:${size}:`;
  const backend = new RedisBackend(
    client,
    {
      keyPrefix: prefix,
      indexName: `${prefix}idx`,
      dimensions: DIMS,
      maxEntries: size * 2,
      tenantShare: size * 2,
      hnswM: 16,
      hnswEfConstruction: 200,
      hnswEfRuntime: 64,
    },
    new Logger('bench'),
  );
  await backend.prepare();
  // Mean server time per FT.SEARCH since the last call (INFO commandstats), then reset.
  const serverMicros = async () => {
    const stats = String(await client.info('commandstats'));
    await client.config('RESETSTAT');
    return Number(/cmdstat_FT\.SEARCH:.*usec_per_call=([\d.]+)/i.exec(stats)?.[1] ?? 0);
  };
  try {
    return await semanticLookups(
      backend,
      size,
      async (entries) => {
        for (let i = 0; i < entries.length; i += 500) {
          await Promise.all(
            entries.slice(i, i + 500).map((e) =>
              backend.put(
                e.key,
                {
                  namespace: 'ns',
                  tenant: 'bench',
                  body: BODY,
                  promptTokens: 20,
                  completionTokens: 150,
                  prompt: e.prompt,
                  vector: e.vector,
                },
                3600,
              ),
            ),
          );
        }
      },
      serverMicros,
    );
  } finally {
    await client.call('FT.DROPINDEX', `${prefix}idx`, 'DD').catch(() => {});
    await client.del(`${prefix}expiry`);
    client.disconnect();
  }
}

void main().then(() => process.exit(0));
