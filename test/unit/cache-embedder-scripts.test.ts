import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { LocalUseEmbedder } from '../../libs/cache/src/embedders/worker-embedder';
import { WordPiece } from '../../libs/cache/src/embedders/wordpiece';

// Found by an independent check: USE lite's vocabulary has no Chinese, Japanese or Korean and
// only eight bare Cyrillic letters, so unrelated prompts in those scripts embedded alike.
describe('embedders refuse prompts their vocabulary cannot represent', () => {
  const use = new LocalUseEmbedder();
  after(() => use.close());

  it('USE lite: CJK, Cyrillic and Greek are refused; English, French and code are embedded', async () => {
    await use.loaded;
    for (const prompt of [
      '日本の首都はどこですか？',
      '如何学习英语？',
      '비밀번호를 재설정하려면?',
      'Как сварить борщ?',
      'Γειά σου κόσμε',
      'What does 你好 mean?',
    ]) {
      await assert.rejects(use.embed(prompt), { name: 'Unrepresentable' }, prompt);
    }
    for (const prompt of ['How do I reverse a list in Python?', "Pouvez-vous m'aider à réserver un vol ?", 'Solve 2x + 3 = 11']) {
      assert.equal((await use.embed(prompt)).length, 512, prompt);
    }
  });

  // Found by an independent check: a prompt of emoji or math symbols is only USE lite's unknown token.
  it('USE lite: a prompt mostly of symbols it cannot read is refused; a few among words are embedded', async () => {
    for (const prompt of ['😀', '🐶 🐱', '∑ ∏ ∫', 'ok 😂😂😂']) {
      await assert.rejects(use.embed(prompt), { name: 'Unrepresentable' }, prompt);
    }
    for (const prompt of ['What does 😀 mean?', 'Is x ≤ y in this proof?', '2 + 2', 'What is 10 € in £?']) {
      assert.equal((await use.embed(prompt)).length, 512, prompt);
    }
  });

  it('a batch with both kinds resolves each prompt with its own vector', async () => {
    const [a, b, c] = await Promise.allSettled(['How are you?', '你好吗？', 'How old are you?'].map((p) => use.embed(p)));
    assert.equal(b.status, 'rejected');
    const [x, y] = [a, c].map((r) => (r as PromiseFulfilledResult<Float32Array>).value);
    assert.deepEqual(x, await use.embed('How are you?'));
    assert.deepEqual(y, await use.embed('How old are you?'));
  });

  it('WordPiece: words spelt letter by letter or unknown are not represented', () => {
    const tokenizer = new WordPiece(['[PAD]', '[UNK]', '[CLS]', '[SEP]', 'how', 'are', 'you', 'к', '##а', '##к', '?'].join('\n'));
    assert.equal(tokenizer.represents('How are you?', 256), true);
    assert.equal(tokenizer.represents('как как?', 256), false);
    assert.equal(tokenizer.represents('how are 日本?', 256), false);
    assert.equal(tokenizer.represents('😀 ∑', 256), false);
    assert.equal(tokenizer.represents('how are you 😀?', 256), true);
  });

  // Found by an independent check (cache26): MiniLM reads 256 tokens; a longer prompt embedded as its start,
  // so two that differ only past the cut scored 1.
  it('WordPiece: a text longer than the model reads is not represented', () => {
    const tokenizer = new WordPiece(['[PAD]', '[UNK]', '[CLS]', '[SEP]', 'how', 'are', 'you', '?'].join('\n'));
    assert.equal(tokenizer.represents('how are you?', 6), true);
    assert.equal(tokenizer.represents('how are you? how', 6), false);
    assert.equal(tokenizer.represents('how are you? how are you?', 256), true);
  });
});
