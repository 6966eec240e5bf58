import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { semanticGateway } from '../support/cache';

/**
 * Found by an independent check (hit33, D3): "Is '0' truthy in JavaScript?" was served the answer to "Is 0
 * truthy…" (0.96 to 0.99, both embedders): the guard set quotes aside as prose, and a string is not a number.
 */
for (const embedder of ['use', 'minilm'] as const) {
  describe(`response cache (${embedder}): a quoted literal against the bare value`, () => {
    const { header } = semanticGateway(embedder);

    it('serves no quoted literal the answer for the bare value, nor the other way', async () => {
      for (const [cached, asked] of [
        ["Is '0' truthy in JavaScript?", 'Is 0 truthy in JavaScript?'],
        ['Is null equal to null in JavaScript?', 'Is "null" equal to null in JavaScript?'],
      ])
        assert.equal(await header(cached, asked), 'miss', asked);
    });

    it('still serves the same quoted literal reworded', async () => {
      assert.match((await header("Is '1' truthy in JavaScript?", "In JavaScript, is '1' truthy?")) ?? '', /^hit-semantic/);
    });
  });
}
