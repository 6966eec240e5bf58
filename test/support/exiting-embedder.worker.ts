/**
 * A worker script for WorkerEmbedder whose thread ends without a word, as one whose model's WebAssembly
 * aborts would: before reporting its model (EXITING_EMBEDDER=at-load) or after, on its first prompts.
 */
import { parentPort } from 'node:worker_threads';

if (process.env.EXITING_EMBEDDER === 'at-load') process.exit(3);
parentPort!.postMessage({ ready: true, dimensions: 4 });
parentPort!.on('message', () => process.exit(4));
