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
});
