import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { semanticGateway } from '../support/cache';

/**
 * Found by an independent check (guard34's brief, both embedders): "Can I take ibuprofen on an empty stomach?" was
 * served the answer to "Should I…", "How many people will attend…" the answer to "…attended…", "'0x10'" the answer
 * to "0x10"; "Was the light bulb invented by Edison?" and "How far is Rome from Paris?" were refused the answers to
 * their active and swapped wordings.
 */
for (const embedder of ['use', 'minilm'] as const) {
  describe(`response cache (${embedder}): a modal, a past against will, a quoted hex number, the passive, a symmetric relation`, () => {
    const { header } = semanticGateway(embedder);

    it('serves none of the contradictions', async () => {
      for (const [cached, asked] of [
        ['Can I take ibuprofen on an empty stomach?', 'Should I take ibuprofen on an empty stomach?'],
        ['How many people attended the 2024 Olympics?', 'How many people will attend the 2024 Olympics?'],
        ["Is '0x10' equal to 16 in JavaScript?", 'Is 0x10 equal to 16 in JavaScript?'],
      ])
        assert.equal(await header(cached, asked), 'miss', asked);
    });

    it('serves the paraphrases', async () => {
      for (const [cached, asked] of [
        ['Can you explain how a compiler works?', 'Could you explain how a compiler works?'],
        ['Did Edison invent the light bulb?', 'Was the light bulb invented by Edison?'],
        ['How far is Paris from Rome?', 'How far is Rome from Paris?'],
      ])
        assert.match((await header(cached, asked)) ?? '', /^hit-semantic/, asked);
    });
  });
}
