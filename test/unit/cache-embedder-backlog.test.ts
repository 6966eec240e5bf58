import assert from 'node:assert/strict';
import { once } from 'node:events';
import { resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { WorkerEmbedder } from '../../libs/cache/src/embedders/worker-embedder';

const QUEUE = 3;

/**
 * The offline embedder's backlog bound, on the production WorkerEmbedder with a worker that
 * answers only when released (test/support/held-embedder.worker.ts): no timing involved.
 */
describe('WorkerEmbedder backlog', () => {
  let embedder: WorkerEmbedder;
  const channel = new BroadcastChannel('held-embedder');
  const batches: string[][] = [];
  const nextBatch = async () => {
    const [event] = (await once(channel, 'message')) as [{ data: string[] }];
    batches.push(event.data);
    return event.data;
  };
  const release = () => channel.postMessage('release');

  before(async () => {
    embedder = new WorkerEmbedder(resolve(__dirname, '../support/held-embedder.worker.js'), 'held-4', 4, QUEUE);
    await embedder.loaded;
  });
  after(async () => {
    channel.close();
    await embedder.close();
  });

  it('turns prompts beyond the queue away at once and never embeds one whose caller gave up', async () => {
    const running = embedder.embed('p0');
    assert.deepEqual(await nextBatch(), ['p0'], 'the worker is busy with p0 until released');

    const gaveUp = new AbortController();
    const queued = [embedder.embed('q1'), embedder.embed('q2', gaveUp.signal), embedder.embed('q3')];
    // These settle while the worker still holds p0: refused without waiting for the embedder.
    const refused = await Promise.allSettled(['r1', 'r2'].map((t) => embedder.embed(t)));
    assert.deepEqual(
      refused.map((r) => r.status === 'rejected' && (r.reason as Error).name),
      ['Overloaded', 'Overloaded'],
    );

    gaveUp.abort(new DOMException('no embedding in time', 'TimeoutError'));
    await assert.rejects(queued[1], { name: 'TimeoutError' });
    // Its place in the queue is free again.
    const late = embedder.embed('q4');

    release();
    await running;
    assert.deepEqual(await nextBatch(), ['q1', 'q3', 'q4'], 'q2 was dropped before it reached the worker');
    release();
    await Promise.all([queued[0], queued[2], late]);
    assert.deepEqual(batches, [['p0'], ['q1', 'q3', 'q4']]);
  });

  // Found by an independent check (fair31): one key's long prompts kept the shared queue full, and another key's semantic
  // hits on paraphrases fell from 32 of 36 to 11 (its lookups turned away as Overloaded, or timed out behind them). Seen
  // failing without makeRoomFor: b1 was refused Overloaded.
  it('shares a full queue between callers: a prompt of a caller with fewer queued takes the place of the newest of the one with most', async () => {
    const as = (caller: string) => (text: string) => embedder.embed(text, undefined, undefined, caller);
    const [a, b, c] = [as('key-a'), as('key-b'), as('key-c')];
    const running = a('a0');
    assert.deepEqual(await nextBatch(), ['a0']);
    const queuedA = ['a1', 'a2', 'a3'].map(a);
    const b1 = b('b1');
    await assert.rejects(queuedA[2], { name: 'Overloaded' }, "key-a's newest gave its place to key-b's first");
    await assert.rejects(b('b2'), { name: 'Overloaded' }, 'two places to one: taking another would only swap them');
    await assert.rejects(a('a4'), { name: 'Overloaded' }, 'a full queue takes nothing more from the caller with most');
    const c1 = c('c1');
    await assert.rejects(queuedA[1], { name: 'Overloaded' }, "key-a's newest again, for key-c");

    release();
    await running;
    assert.deepEqual(await nextBatch(), ['a1', 'b1', 'c1'], 'one prompt of each caller');
    release();
    await Promise.all([queuedA[0], b1, c1]);
  });

  // The same check, for the wait: a lookup queued behind one key's long prompts waited for all of them in one batch, and
  // ran past embeddingTimeoutMs. Seen failing with the batch taken whole (the old flush): [a1, a2, b1], then nothing.
  it('batches one prompt of each caller while several wait, and at most MAX_BATCH_CHARS after the first', async () => {
    const long = (tag: string) => `${tag} ${'x'.repeat(1_990)}`;
    const running = embedder.embed('a0', undefined, undefined, 'key-a');
    assert.deepEqual(await nextBatch(), ['a0']);
    const queued = [
      embedder.embed('a1', undefined, undefined, 'key-a'),
      embedder.embed('a2', undefined, undefined, 'key-a'),
      embedder.embed('b1', undefined, undefined, 'key-b'),
    ];
    release();
    await running;
    assert.deepEqual(await nextBatch(), ['a1', 'b1'], "key-b's prompt runs in the next batch, beside one of key-a's");
    release();
    assert.deepEqual(await nextBatch(), ['a2']);
    release();
    await Promise.all(queued);

    const first = embedder.embed('c0', undefined, undefined, 'key-c');
    assert.deepEqual(await nextBatch(), ['c0']);
    const longOnes = ['c1', 'c2', 'c3'].map((tag) => embedder.embed(long(tag), undefined, undefined, 'key-c'));
    release();
    await first;
    assert.deepEqual(
      (await nextBatch()).map((t) => t.slice(0, 2)),
      ['c1', 'c2'],
      '4,000 characters: two of ~2,000',
    );
    release();
    assert.deepEqual(
      (await nextBatch()).map((t) => t.slice(0, 2)),
      ['c3'],
    );
    release();
    await Promise.all(longOnes);
  });
});
