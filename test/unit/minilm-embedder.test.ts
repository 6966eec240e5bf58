import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { MiniLmEmbedder } from '../../libs/cache/src/embedders/worker-embedder';
import { WordPiece } from '../../libs/cache/src/embedders/wordpiece';
import { dot } from '../../libs/cache/src/vector';

// Installed by scripts/minilm-model.sh, which `npm test` runs first.
const MODEL_DIR = process.env.MINILM_MODEL_DIR || join(__dirname, '../../../.models/minilm');

describe('WordPiece tokenizer (all-MiniLM-L6-v2 vocab)', () => {
  const tokenizer = new WordPiece(readFileSync(join(MODEL_DIR, 'vocab.txt'), 'utf8'));
  const vocab = readFileSync(join(MODEL_DIR, 'vocab.txt'), 'utf8').split('\n');
  const tokens = (text: string, max = 64) => tokenizer.encode(text, max).map((id) => vocab[id]);

  it('lower-cases, strips accents, splits punctuation and sub-words', () => {
    assert.deepEqual(tokens('Héllo, WORLD!'), ['[CLS]', 'hello', ',', 'world', '!', '[SEP]']);
    assert.deepEqual(tokens('unaffable'), ['[CLS]', 'una', '##ffa', '##ble', '[SEP]']);
    assert.deepEqual(tokens("don't"), ['[CLS]', 'don', "'", 't', '[SEP]']);
  });

  it('truncates to the token budget, keeping [CLS] and [SEP]', () => {
    const ids = tokenizer.encode('word '.repeat(500), 16);
    assert.equal(ids.length, 16);
    assert.equal(ids[0], tokenizer.cls);
    assert.equal(ids[15], tokenizer.sep);
  });
});

describe('MiniLmEmbedder', () => {
  let embedder: MiniLmEmbedder;
  before(async () => {
    embedder = new MiniLmEmbedder();
    await embedder.loaded;
  });
  after(() => embedder.close());

  // Written for this test, none of them in test/data: [prompt, paraphrase, a different question].
  const triples: [string, string, string][] = [
    [
      'How can I make my laptop battery last longer?',
      'Tips to extend the battery life of a notebook computer',
      'How do I replace a laptop keyboard?',
    ],
    [
      'What time does the pharmacy close tonight?',
      'Until when is the drugstore open this evening?',
      'Does the pharmacy sell flu vaccines?',
    ],
    ['Explain how a hash map works', 'How does a hash table work internally?', 'Explain how a linked list works'],
    [
      'Suggest a vegetarian dinner for four people',
      'Give me a meatless supper idea for a family of four',
      'Suggest a wine to go with steak',
    ],
  ];

  it('places each paraphrase closer than a different question on the same topic', async () => {
    for (const [prompt, paraphrase, other] of triples) {
      const [p, q, o] = await Promise.all([prompt, paraphrase, other].map((t) => embedder.embed(t)));
      assert.equal(p.length, 384);
      assert.ok(Math.abs(dot(p, p) - 1) < 1e-4, 'unit length');
      assert.ok(dot(p, q) > dot(p, o), `${prompt}: paraphrase ${dot(p, q).toFixed(3)} vs other ${dot(p, o).toFixed(3)}`);
    }
  });

  // USE lite embedded every CJK prompt alike (found by an independent check); all-MiniLM-L6-v2 was
  // trained on English too, and its vocabulary spells these scripts a character at a time.
  it('refuses Chinese, Japanese, Korean and Cyrillic prompts as unrepresentable, with its own vocabulary', async () => {
    for (const prompt of ['如何学习英语？', '日本の首都はどこですか？', '비밀번호를 재설정하려면?', 'Как сварить борщ?']) {
      await assert.rejects(embedder.embed(prompt), { name: 'Unrepresentable' }, prompt);
    }
    assert.equal((await embedder.embed("Pouvez-vous m'aider à réserver un vol ?")).length, 384);
  });

  it('embeds a prompt the same alone and in a batch with longer ones (padding is masked out)', async () => {
    const alone = await embedder.embed('Reset my password');
    // The first call occupies the worker; the two after it queue up and run as one padded batch.
    const [, batched] = await Promise.all(
      ['Anything', 'Reset my password', 'A much longer prompt about something else entirely, with many more tokens than the other'].map(
        (t) => embedder.embed(t),
      ),
    );
    assert.ok(dot(alone, batched) > 0.999, `same text, cosine ${dot(alone, batched)}`);
  });
});
