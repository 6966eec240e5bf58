import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ask, embedderLoaded, settle } from '../support/cache';
import { configWith, GatewayProcess } from '../support/gateway';

/** The second offline embedder (`cache.semantic.embedder: minilm`, model from scripts/minilm-model.sh) end to end. */
describe('response cache with the all-MiniLM-L6-v2 embedder', () => {
  let gateway: GatewayProcess;

  before(async () => {
    gateway = await GatewayProcess.start({
      ...configWith({}),
      cache: { enabled: true, semantic: { embedder: 'minilm', embeddingTimeoutMs: 10_000 } },
    });
    await embedderLoaded(gateway);
  });
  after(() => gateway?.stop());

  it('loads the model and says which', () => {
    assert.ok(gateway.logs.some((l) => /^local embedder minilm-l6-384 loaded/.test(String(l.msg))));
  });

  it('serves a paraphrase and refuses a different question on the same topic', async () => {
    const first = await ask(gateway.client(), 'How can I make my phone battery last longer?');
    assert.equal(first.cache, 'miss');
    await settle();
    const paraphrase = await ask(gateway.client(), 'How do I make the battery of my phone last longer?');
    assert.match(paraphrase.cache ?? '', /^hit-semantic; similarity=0\.\d+$/);
    assert.equal(paraphrase.completion.choices[0].message.content, first.completion.choices[0].message.content);
    const other = await ask(gateway.client(), 'How do I replace the screen of my phone?');
    assert.equal(other.cache, 'miss');
  });
});
