import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { semanticGateway } from '../support/cache';

/**
 * Found by an independent check (hit33, D1): the same two terms with another connective between them embed
 * alike (0.955 to 0.994 on both embedders) and the guard passed them: "aspirin with warfarin" was served the
 * answer to "aspirin instead of warfarin", "bleach or vinegar" the answer to "bleach and vinegar".
 */
for (const embedder of ['use', 'minilm'] as const) {
  describe(`response cache (${embedder}): the connective between two shared terms`, () => {
    const { header } = semanticGateway(embedder);

    it('serves no prompt the answer for the same two terms taken together, one or the other, or one instead of the other', async () => {
      for (const [cached, asked] of [
        ['Is it safe to take aspirin with warfarin?', 'Is it safe to take aspirin instead of warfarin?'],
        ['Is it safe to clean with bleach and vinegar?', 'Is it safe to clean with bleach or vinegar?'],
        ['Can I use olive oil rather than butter?', 'Can I use olive oil and butter?'],
        ['Kann ich Ibuprofen und Paracetamol nehmen?', 'Kann ich Ibuprofen oder Paracetamol nehmen?'],
      ])
        assert.equal(await header(cached, asked), 'miss', asked);
    });

    it('still serves the same relation worded otherwise', async () => {
      for (const [cached, asked] of [
        ['Can I take ibuprofen with paracetamol?', 'Can I take ibuprofen together with paracetamol?'],
        ['Can I use coconut oil instead of butter?', 'Can I use coconut oil rather than butter?'],
      ])
        assert.match((await header(cached, asked)) ?? '', /^hit-semantic/, asked);
    });
  });
}
