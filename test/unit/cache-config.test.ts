import assert from 'node:assert/strict';
import { resolve } from 'node:path';
import { describe, it } from 'node:test';
import { ConfigError, loadConfig, parseConfig } from '@gateway/config';

const minimal = (cache: object) => ({
  providers: [{ name: 'mock', type: 'mock' }],
  models: [
    { name: 'm', deployments: [{ provider: 'mock', model: 'm' }] },
    { name: 'emb', deployments: [{ provider: 'mock', model: 'e', capabilities: ['embeddings'] }] },
  ],
  cache,
});

describe('cache config', () => {
  it('is off when absent; the shipped config turns it on with the offline embedder', () => {
    const absent = parseConfig({ providers: minimal({}).providers, models: minimal({}).models }, {});
    assert.equal(absent.cache.enabled, false);
    const shipped = loadConfig({ GATEWAY_CONFIG: resolve(__dirname, '../../../config/gateway.yaml') });
    assert.equal(shipped.cache.enabled, true);
    assert.equal(shipped.cache.semantic.enabled, true);
    assert.equal(shipped.cache.semantic.embeddingModel, undefined);
    assert.equal(shipped.cache.semantic.threshold, 0.85);
    assert.equal(shipped.cache.scope, 'key');
  });

  it('fills nested defaults', () => {
    const config = parseConfig(minimal({ enabled: true, semantic: { threshold: 0.9 } }), {});
    assert.equal(config.cache.semantic.threshold, 0.9);
    assert.equal(config.cache.semantic.guard, true);
    assert.equal(config.cache.semantic.embedder, 'use');
    assert.equal(config.cache.redis.timeoutMs, 50);
    assert.equal(config.cache.semantic.embeddingQueueSize, 10);
    assert.equal(config.cache.semantic.embeddingTimeoutMs, undefined, 'unset: the embedder kind picks it');
    assert.equal(config.cache.embedded.maxMemoryMb, 256);
    assert.equal(config.cache.toolCallResponses, false);
  });

  const bad: [string, object, RegExp][] = [
    ['a threshold above 1', { semantic: { threshold: 1.5 } }, /cache\.semantic\.threshold/],
    ['an unknown key', { ttlSecs: 5 }, /cache\.ttlSecs/],
    ['an unknown offline embedder', { semantic: { embedder: 'bert' } }, /cache\.semantic\.embedder/],
    ['an unknown scope', { scope: 'everyone' }, /cache\.scope/],
    ['a zero Redis budget', { redis: { timeoutMs: 0 } }, /cache\.redis\.timeoutMs/],
    ['a zero embedding wait', { semantic: { embeddingTimeoutMs: 0 } }, /cache\.semantic\.embeddingTimeoutMs/],
    ['an empty embedder queue', { semantic: { embeddingQueueSize: 0 } }, /cache\.semantic\.embeddingQueueSize/],
    ['a fractional embedder queue', { semantic: { embeddingQueueSize: 2.5 } }, /cache\.semantic\.embeddingQueueSize/],
    [
      'an embedding model that is not configured',
      { semantic: { embeddingModel: 'ghost', embeddingDimensions: 8 } },
      /cache\.semantic\.embeddingModel: unknown model "ghost"/,
    ],
    ['an embedding model without dimensions', { semantic: { embeddingModel: 'emb' } }, /cache\.semantic\.embeddingDimensions: required/],
  ];
  for (const [name, cache, message] of bad) {
    it(`rejects ${name}, naming the key`, () => {
      assert.throws(
        () => parseConfig(minimal({ enabled: true, ...cache }), {}),
        (err: unknown) => err instanceof ConfigError && message.test(err.message),
      );
    });
  }
});
