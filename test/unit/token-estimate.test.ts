import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { answerWeight, estimateTokens, inputTokens, textWeight } from '@gateway/providers';
import { profileChat } from '@gateway/router';

// Found by an independent check: every text was estimated at 4 characters a token, so Chinese, Japanese and Korean
// (0.6 token a character and more) counted under half their tokens, and routing sent them to deployments whose
// context window they overflowed. Then (recheck28) at a token a character, long Chinese prompts that fit a window
// were refused with no upstream asked, and Cyrillic, Arabic or Hindi at 2 characters a token twice over gpt-4o's count.
describe('estimateTokens: the one estimate of a text`s tokens, by script', () => {
  it('4 characters a token; CJK ideographs, kana and hangul half a token each; beyond the BMP a token a character', () => {
    assert.equal(estimateTokens('Please summarise this clause.'), 8); // 29 characters
    assert.equal(estimateTokens('Ça coûte très cher — “déjà vu”.'), 8); // accents, typographic punctuation: Latin
    assert.equal(estimateTokens('本合同由甲乙双方签订。'), 6); // 11 characters
    assert.equal(estimateTokens('ひらがなカタカナ'), 4);
    assert.equal(estimateTokens('한국어 문장'), 3); // 5 hangul syllables (10 quarter tokens), a space
    assert.equal(estimateTokens('Ｆｕｌｌ'), 2); // full-width forms
    assert.equal(estimateTokens('Привет, мир'), 3); // 11 characters, as Latin
    assert.equal(estimateTokens('𠀀😀'), 2); // beyond the BMP: a token a character (two code units)
    assert.equal(estimateTokens(''), 0);
  });

  it('CJK with Latin mixed in: each counted at its own rate', () => {
    // 4 ideographs (2 tokens) and 11 Latin characters ("1", " Contract "): 8 + 11 quarter tokens, 5 tokens.
    assert.equal(estimateTokens('第1条 Contract 合同'), 5);
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
    // 140,000 characters, 84,918 tokens to gpt-4o (js-tiktoken): within a 128k window with room for an answer.
    const long = '本合同由甲乙双方在平等自愿的基础上签订，双方应当遵守。'.repeat(5_186);
    assert.ok(estimateTokens(long) < 127_000, String(estimateTokens(long)));
  });
});
