import assert from 'node:assert/strict';
import { resolve } from 'node:path';
import { describe, it } from 'node:test';
import { WorkerEmbedder } from '../../libs/cache/src/embedders/worker-embedder';

/**
 * An offline embedder whose worker never reports its model loaded (test/support/hung-embedder.worker.ts)
 * must not stay `loading` for ever: `/ready` waits for that state, so a hung worker kept the pod unready.
 */
describe('WorkerEmbedder load limit', () => {
  it('counts a model not loaded within the limit as failed and stops the worker', async () => {
    const embedder = new WorkerEmbedder(resolve(__dirname, '../support/hung-embedder.worker.js'), 'hung-4', 4, 3, 300);
    const worker = (embedder as unknown as { worker: import('node:worker_threads').Worker }).worker;
    const exited = new Promise<number>((done) => worker.once('exit', done));
    assert.equal(embedder.state, 'loading');
    await assert.rejects(embedder.loaded, /did not load its model within 300 ms/);
    assert.equal(embedder.state, 'failed');
    assert.equal(typeof (await exited), 'number', 'the hung worker thread was stopped');
    await assert.rejects(embedder.embed('hello'), /has no model: it failed to load/);
  });
});
