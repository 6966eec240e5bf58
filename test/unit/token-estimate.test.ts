import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { answerWeight, estimateTokens, inputTokens, textWeight } from '@gateway/providers';
import { profileChat } from '@gateway/router';

// Found by an independent check: every text was estimated at 4 characters a token, so Chinese, Japanese and Korean
// (about a token a character) counted a third or a quarter of their tokens, and routing sent them to deployments
// whose context window they overflowed.
describe('estimateTokens: the one estimate of a text`s tokens, by script', () => {
  it('Latin at 4 characters a token; CJK ideographs, kana and hangul a token each; other scripts 2 characters a token', () => {
    assert.equal(estimateTokens('Please summarise this clause.'), 8); // 29 characters
    assert.equal(estimateTokens('Ça coûte très cher — “déjà vu”.'), 8); // accents, typographic punctuation: Latin
    assert.equal(estimateTokens('本合同由甲乙双方签订。'), 11);
    assert.equal(estimateTokens('ひらがなカタカナ'), 8);
    assert.equal(estimateTokens('한국어 문장'), 6); // 5 hangul syllables, a space
    assert.equal(estimateTokens('Ｆｕｌｌ'), 4); // full-width forms
    assert.equal(estimateTokens('Привет, мир'), 5); // 9 Cyrillic letters at 2 a token, a comma and a space
    assert.equal(estimateTokens('𠀀😀'), 2); // beyond the BMP: a token a character (two code units)
    assert.equal(estimateTokens(''), 0);
  });

  it('CJK with Latin mixed in: each counted at its own rate', () => {
    // 4 ideographs (4 tokens) and 11 Latin characters ("1", " Contract "): 16 + 11 quarter tokens, 7 tokens.
    assert.equal(estimateTokens('第1条 Contract 合同'), 7);
  });

  it('is never below 4 characters a token, and never less for a longer text (monotone in what is appended)', () => {
    const unit = fc.constantFrom<'grapheme' | 'binary' | 'grapheme-ascii'>('grapheme', 'binary', 'grapheme-ascii');
    const text = unit.chain((u) => fc.string({ unit: u, maxLength: 300 }));
    const cjk = fc.string({ unit: fc.constantFrom(...'合同条款ひらカタ한국 a,1'), maxLength: 300 });
    const any = fc.oneof(text, cjk);
    fc.assert(
      fc.property(any, any, (a, b) => {
        assert.ok(estimateTokens(a) >= Math.ceil(a.length / 4));
        assert.ok(estimateTokens(a + b) >= estimateTokens(a));
        // Weights add: a text's size is its parts' sizes (what lets a request sum its texts before one rounding).
        assert.equal(textWeight(a + b), textWeight(a) + textWeight(b));
      }),
      { numRuns: 3000 },
    );
  });

  it('weighs a long text as its characters one by one (the regular expression`s skips lose nothing)', () => {
    const mixed = ('x'.repeat(100) + '合同' + 'Привет ' + 'y'.repeat(63) + '。').repeat(50);
    const oneByOne = [...mixed].reduce((n, c) => n + textWeight(c), 0);
    assert.equal(textWeight(mixed), oneByOne);
  });

  it('an answer`s output weighs the same raw (UTF-8) and escaped (\\uXXXX, as Python`s json.dumps writes it)', () => {
    const content = '合同条款 ok Привет 😀';
    const raw = JSON.stringify({ choices: [{ message: { content } }] });
    const escaped = raw.replace(/[^\x00-\x7f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
    assert.notEqual(raw, escaped);
    assert.equal(answerWeight(Buffer.from(raw), undefined), textWeight(content));
    assert.equal(answerWeight(Buffer.from(escaped), undefined), textWeight(content));
  });

  it('routing, embeddings and usage read the same estimate: a 20,000-character Chinese prompt is over 8k tokens', () => {
    const prompt = '请总结下面的合同条款。' + '本合同由甲乙双方在平等自愿的基础上签订，双方应当遵守。'.repeat(740);
    const profile = profileChat({ model: 'x', messages: [{ role: 'user', content: prompt }] });
    assert.ok(profile.promptTokens > 8192, String(profile.promptTokens));
    assert.equal(profile.promptTokens, estimateTokens(prompt) + 4); // 4: the message's own overhead
    assert.equal(inputTokens(prompt), estimateTokens(prompt));
  });
});
