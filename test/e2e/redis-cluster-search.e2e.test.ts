import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Logger } from '@nestjs/common';
import { Cluster } from 'ioredis';
import { RedisBackend } from '../../libs/cache/src/backends/redis.backend';
import { ask, FALLBACK_PRICED, settle } from '../support/cache';
import { configWith, GatewayProcess } from '../support/gateway';
import { random, randomUnit } from '../support/vectors';

/**
 * The semantic cache on a Redis Cluster whose nodes load the search module (Redis 8.2 + RediSearch 2.10, as
 * scripts/redis-stack.sh starts one; 3 masters started by npm test through scripts/redis-cluster.sh). That module
 * is not cluster-aware: the index lives on the shard owning its name's slot and indexes that shard's entries only,
 * and answers a KNN search with hits without their fields (`extra_attributes: null`). Found by an independent
 * check: every chat request of a tenant after its first cached answer was a 500 (a NaN similarity, observed by a
 * histogram outside the fail-open wrapper).
 */
const CLUSTER_URL = process.env.TEST_REDIS_STACK_CLUSTER_URL;
const NOT_SHARED = /Redis Cluster: \d of 3 masters do not list the vector index .*semantic caching in process/;

function clusterClient(): Promise<Cluster> {
  const { port, password } = new URL(CLUSTER_URL!);
  const cluster = new Cluster([{ host: '127.0.0.1', port: Number(port) }], { redisOptions: { password } });
  return new Promise((ready) => cluster.once('ready', () => ready(cluster)));
}

describe(
  'Redis Cluster with RediSearch (index on one shard)',
  { skip: !CLUSTER_URL && 'TEST_REDIS_STACK_CLUSTER_URL unset (run npm test)' },
  () => {
    let cluster: Cluster;

    before(async () => {
      cluster = await clusterClient();
      await Promise.all(cluster.nodes('master').map((node) => node.flushdb()));
    });
    after(() => cluster?.disconnect());

    it('the gateway keeps the semantic layer in process, warns once, and answers every paraphrase from it', async () => {
      const config = {
        ...configWith({ providers: [FALLBACK_PRICED.provider], models: [FALLBACK_PRICED.model] }),
        cache: {
          enabled: true,
          semantic: { embeddingModel: 'mock-embedding', embeddingDimensions: 64, threshold: 0.9 },
          redis: { keyPrefix: 'search-cluster:', timeoutMs: 2_000 },
        },
      };
      const gateway = await GatewayProcess.start(config, { env: { REDIS_URL: CLUSTER_URL!, REDIS_CLUSTER: 'true' } });
      try {
        const countries = ['Peru', 'Chile', 'Kenya', 'Norway', 'Japan', 'Canada'];
        for (const country of countries) assert.equal((await ask(gateway.client(), `What is the capital of ${country}?`)).cache, 'miss');
        await settle(300);
        for (const country of countries) {
          const paraphrase = (await ask(gateway.client(), `what is the capital of ${country.toLowerCase()}`)).cache;
          assert.match(paraphrase ?? '', /^hit-semantic/, `${country}: ${paraphrase}`);
        }
        assert.equal(gateway.rawOutput.filter((line) => NOT_SHARED.test(line)).length, 1, 'one warning');
        // The exact layer stays in Redis, without vectors for a shard's index to take.
        const entries = (await Promise.all(cluster.nodes('master').map((node) => node.keys('search-cluster:*:e:*')))).flat();
        assert.equal(entries.length, countries.length);
        assert.deepEqual(
          await Promise.all(entries.map((entry) => cluster.hexists(entry, 'vec'))),
          entries.map(() => 0),
        );
      } finally {
        await gateway.stop();
      }
    });

    it('a search hit without its score fails the lookup (open, counted) instead of giving a NaN similarity', async () => {
      // Enough entries that the shard holding the index has some of them (which keys it has is fixed: their slots).
      const rand = random(11);
      const vectors = Array.from({ length: 30 }, () => randomUnit(rand, 8));
      const logger = Object.assign(new Logger('test'), { log: () => undefined, warn: () => undefined });
      const prefix = 'search-cluster-backend:';
      const backend = new RedisBackend(
        cluster,
        {
          keyPrefix: prefix,
          indexName: `${prefix}idx`,
          dimensions: 8,
          maxEntries: 100,
          tenantShare: 100,
          hnswM: 8,
          hnswEfConstruction: 50,
          hnswEfRuntime: 20,
        },
        logger,
      );
      await backend.prepare();
      assert.equal(backend.searchAvailable, false, 'the index is not on every shard');
      // As a gateway that trusted the module would: entries with their vectors, then a search.
      backend.searchAvailable = true;
      for (const [i, vector] of vectors.entries()) {
        await backend.put(
          `k${i}`,
          { namespace: 'ns', tenant: 't', body: `answer ${i}`, promptTokens: 1, completionTokens: 1, prompt: `prompt ${i}`, vector },
          60,
        );
      }
      await assert.rejects(backend.nearest('ns', vectors[0]!, 3), /without its score or prompt/);
    });
  },
);
