import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { embedPrompts, pairSimilarity } from '../../bench/cache-guard/vectors';
import { LocalUseEmbedder } from '../../libs/cache/src/embedders/worker-embedder';

// Found by an independent check: node dist/bench/cache-guard.js, which README sends operators to
// with their own traffic, died with an uncaught Unrepresentable on the first "ß" or "Österreich".
describe('bench/cache-guard: prompts the embedder cannot represent', () => {
  const use = new LocalUseEmbedder();
  after(() => use.close());

  it('are kept as unrepresented, never scored, while the other prompts are embedded', async () => {
    await use.loaded;
    const german = 'Wie viele Spieler hat eine Fußballmannschaft?';
    const french = "S'il vous plaît, quelle heure est-il ?";
    const english = ['What is 2+2?', 'What is 2+3?'];
    const vectors = await embedPrompts(use, [german, french, ...english]);
    assert.equal(vectors.get(german), null);
    assert.equal(vectors.get(french), null);
    assert.equal(vectors.get(english[0])?.length, 512);

    const pair = (a: string, b: string) => ({ kind: 'paraphrase', source: '', a, b });
    assert.equal(pairSimilarity(vectors, pair(german, english[0])), undefined, 'a prompt that is never stored for the semantic layer');
    assert.equal(pairSimilarity(vectors, pair(english[0], german)), undefined, 'a prompt that never looks there');
    assert.ok(pairSimilarity(vectors, pair(english[0], english[1]))! > 0.5);
  });
});
