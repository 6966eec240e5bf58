/**
 * A worker script for WorkerEmbedder whose "model" runs as long as the test wants: it holds every
 * batch until a message on the BroadcastChannel `held-embedder` releases them, and announces on
 * that channel each batch it receives, so a test sees exactly which prompts reached the worker.
 */
import { parentPort } from 'node:worker_threads';
import type { EmbedReply, EmbedRequest, WorkerStatus } from '../../libs/cache/src/embedders/worker-embedder';

const DIMENSIONS = 4;

const port = parentPort!;
const channel = new BroadcastChannel('held-embedder');
const held: EmbedRequest[] = [];

port.postMessage({ ready: true, dimensions: DIMENSIONS } satisfies WorkerStatus);
port.on('message', (request: EmbedRequest) => {
  held.push(request);
  channel.postMessage(request.texts);
});
channel.onmessage = () => {
  for (const { id, texts } of held.splice(0)) {
    const vectors = new Float32Array(texts.length * DIMENSIONS).fill(1);
    port.postMessage({ id, vectors, unrepresented: [] } satisfies EmbedReply, [vectors.buffer]);
  }
};
