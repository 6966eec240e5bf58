import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ask, embedderLoaded, metric, settle } from '../support/cache';
import { configWith, GatewayProcess } from '../support/gateway';

const EMBEDDED = 'gateway_cache_embedding_duration_seconds_count';
const skipped = (reason: string) => `gateway_cache_backend_errors_total{backend="embedder",operation="embed",reason="${reason}"}`;

/**
 * More concurrent prompts than the offline embedder may queue: the ones beyond are misses that
 * skip the semantic layer (lookup and store) instead of waiting for the worker; the exact layer
 * still stores them.
 */
describe('response cache, offline embedder with a full backlog', () => {
  const N = 64;
  let gateway: GatewayProcess;

  before(async () => {
    gateway = await GatewayProcess.start({
      ...configWith({}),
      // A wait long enough never to run out here: every skip is the queue's.
      cache: { enabled: true, semantic: { embeddingQueueSize: 1, embeddingTimeoutMs: 60_000 } },
    });
    await embedderLoaded(gateway);
  });
  after(() => gateway?.stop());

  it('answers the prompts beyond the queue as misses, counted, each prompt embedded at most once', async () => {
    const client = gateway.client();
    const embeddedBefore = await metric(gateway, EMBEDDED);
    const prompts = Array.from({ length: N }, (_, i) => `Distinct question number ${i}: how does feature ${i} of the admin panel work?`);

    const answers = await Promise.all(prompts.map((p) => ask(client, p)));
    assert.deepEqual(new Set(answers.map((a) => `${a.cache} ${a.provider}`)), new Set(['miss mock']));
    await settle(300);
    const overloaded = await metric(gateway, skipped('overloaded'));
    const embedded = (await metric(gateway, EMBEDDED)) - embeddedBefore;
    assert.ok(overloaded >= 1, `${N} concurrent prompts against a queue of 1: some were turned away`);
    assert.equal(embedded + overloaded, N, 'a prompt turned away at lookup is not queued again to be stored');
    assert.equal(await metric(gateway, skipped('timeout')), 0);

    const again = await Promise.all(prompts.map((p) => ask(client, p)));
    assert.deepEqual(new Set(again.map((a) => a.cache)), new Set(['hit-exact']), 'the exact layer stored every answer');
  });
});

/** An embedding model as the embedder, slower than embeddingTimeoutMs: the request does not wait for it. */
describe('response cache, embedding model slower than its budget', () => {
  let gateway: GatewayProcess;

  before(async () => {
    gateway = await GatewayProcess.start({
      ...configWith({
        providers: [{ name: 'slow', type: 'mock', mock: { latencyMs: 120_000 } }],
        models: [{ name: 'slow-embedding', deployments: [{ provider: 'slow', model: 'e', capabilities: ['embeddings'] }] }],
      }),
      cache: { enabled: true, semantic: { embeddingModel: 'slow-embedding', embeddingDimensions: 64, embeddingTimeoutMs: 50 } },
    });
  });
  after(() => gateway?.stop());

  it('skips the semantic layer once the budget runs out, counted as a timeout', async () => {
    const client = gateway.client();
    for (const prompt of ['What is a monad?', 'How tall is Mount Everest?', 'Explain TCP slow start']) {
      const answer = await ask(client, prompt);
      assert.equal(answer.cache, 'miss');
      assert.equal(answer.provider, 'mock');
    }
    await settle();
    assert.equal(await metric(gateway, skipped('timeout')), 3, 'one per lookup; storing does not ask again');
    assert.equal((await ask(client, 'What is a monad?')).cache, 'hit-exact');
  });
});
