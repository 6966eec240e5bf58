import assert from 'node:assert/strict';
import { resolve } from 'node:path';
import { after, describe, it } from 'node:test';
import { WorkerEmbedder } from '../../libs/cache/src/embedders/worker-embedder';

const SCRIPT = resolve(__dirname, '../support/exiting-embedder.worker.js');

/**
 * An offline embedder whose worker thread ends without a word (test/support/exiting-embedder.worker.ts). Before
 * this, a worker gone before its status left the model `loading` until the 60 s load limit, and one gone after
 * left every prompt posted to it unanswered (each waited out its caller's timeout).
 */
describe('WorkerEmbedder, a worker that exits', () => {
  after(() => delete process.env.EXITING_EMBEDDER);

  it('before its model loaded: the load fails at once, naming the exit', async () => {
    process.env.EXITING_EMBEDDER = 'at-load';
    const embedder = new WorkerEmbedder(SCRIPT, 'exits-4', 4, 3, 60_000);
    await assert.rejects(embedder.loaded, /worker exited \(code 3\) before its model loaded/);
    assert.equal(embedder.state, 'failed');
    await assert.rejects(embedder.embed('hello'), /has no model: it failed to load/);
  });

  it('after its model loaded: the prompts it held and every later one are refused, not left waiting', async () => {
    process.env.EXITING_EMBEDDER = 'after-load';
    const embedder = new WorkerEmbedder(SCRIPT, 'exits-4', 4, 3, 60_000);
    await embedder.loaded;
    assert.equal(embedder.state, 'ready');
    await assert.rejects(embedder.embed('hello'), /the exits-4 embedder's worker exited \(code 4\)/);
    assert.equal(embedder.state, 'failed');
    await assert.rejects(embedder.embed('again'), /has no model: its worker exited \(code 4\)/);
    assert.equal(await embedder.stopped, 'its worker exited (code 4)', 'what the cache logs as an error');
  });
});
