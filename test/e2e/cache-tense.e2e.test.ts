import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { semanticGateway } from '../support/cache';

/**
 * Found by an independent check (hit33, D2): "Will X?" was served the answer to "Did X?" (0.88 to 0.92, both
 * embedders): the guard knew no future, so a question about what will happen got what happened.
 */
for (const embedder of ['use', 'minilm'] as const) {
  describe(`response cache (${embedder}): the future against the past or the present`, () => {
    const { header } = semanticGateway(embedder);

    it('serves no question about the future the answer about the past or the present, nor the other way', async () => {
      for (const [cached, asked] of [
        ['Will Bitcoin go up?', 'Did Bitcoin go up?'],
        ['Will the Fed raise interest rates?', 'Did the Fed raise interest rates?'],
        ['Who is the CEO of Twitter?', 'Who will be the CEO of Twitter?'],
      ])
        assert.equal(await header(cached, asked), 'miss', asked);
    });

    it('still serves the future said otherwise', async () => {
      assert.match((await header('Will it rain in Paris tomorrow?', 'Is it going to rain in Paris tomorrow?')) ?? '', /^hit-semantic/);
    });
  });
}
