import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { guardPrompts } from '../../libs/cache/src/guard';
import { loadPromptPairs } from '../support/cache-pairs';

/** The guard's verdict for a neighbour below the substitution threshold (every check applies). */
const verdict = (cached: string, query: string) => guardPrompts(query, cached, 0.9, 0.95);

// Found by an independent check (hit33, D1): the same two terms, another connective between them.
describe('semantic guard: the relation between two shared terms', () => {
  it('refuses two terms taken together on one side and one or the other, or one in place of the other, on the other', () => {
    const pairs: [string, string][] = [
      ['Is it safe to take aspirin with warfarin?', 'Is it safe to take aspirin instead of warfarin?'],
      ['Is it safe to clean with bleach and vinegar?', 'Is it safe to clean with bleach or vinegar?'],
      ['Can I take Tylenol and Advil?', 'Can I take Tylenol or Advil?'],
      ['Can I use olive oil rather than butter?', 'Can I use olive oil and butter?'],
      ['Is it safe to breastfeed while taking ibuprofen?', 'Is it safe to breastfeed instead of taking ibuprofen?'],
      ["Puis-je prendre de l'ibuprofène avec du paracétamol ?", "Puis-je prendre de l'ibuprofène au lieu du paracétamol ?"],
      ['Kann ich Ibuprofen und Paracetamol nehmen?', 'Kann ich Ibuprofen oder Paracetamol nehmen?'],
      ['Can I take melatonin with magnesium?', 'Can I take melatonin in place of magnesium?'],
    ];
    for (const [a, b] of pairs) {
      assert.equal(verdict(a, b), 'relation', `${a} / ${b}`);
      assert.equal(verdict(b, a), 'relation', `${b} / ${a}`);
    }
  });

  it('allows the same relation worded otherwise, and the same two terms in another order', () => {
    const pairs: [string, string][] = [
      ['Is it safe to take aspirin with warfarin?', 'Is it safe to take aspirin together with warfarin?'],
      ['Is it safe to take aspirin with warfarin?', 'Is it safe to take aspirin and warfarin together?'],
      ['Can I use olive oil rather than butter?', 'Can I use olive oil instead of butter?'],
      ['Can I take Tylenol or Advil?', 'Can I take either Tylenol or Advil?'],
      ['Can I mix bleach with vinegar?', 'Can I mix bleach and vinegar?'],
      ['Can I mix bleach and vinegar?', 'Can I mix vinegar and bleach?'],
      ['Can I use yogurt instead of sour cream?', 'Can I use yogurt in place of sour cream?'],
    ];
    for (const [a, b] of pairs) {
      assert.equal(verdict(a, b), undefined, `${a} / ${b}`);
      assert.equal(verdict(b, a), undefined, `${b} / ${a}`);
    }
  });

  it('refuses one term without the other as a negation', () => {
    assert.equal(verdict('Can I take aspirin with warfarin?', 'Can I take aspirin without warfarin?'), 'negation');
  });

  it('refuses every contradicting pair of the connective tuning set and allows its paraphrases', () => {
    for (const { kind, a, b } of loadPromptPairs('cache-relation-tune.tsv')) {
      const refused = verdict(a, b);
      if (kind === 'paraphrase') assert.equal(refused, undefined, `${a} / ${b}`);
      else assert.ok(refused, `${a} / ${b}`);
    }
  });
});
