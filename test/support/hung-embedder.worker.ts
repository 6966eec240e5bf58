/**
 * A worker script for WorkerEmbedder whose model never finishes loading: it never reports its status
 * and keeps its thread busy with a timer, as a worker stuck in a model load would.
 */
import { parentPort } from 'node:worker_threads';

parentPort!.on('message', () => undefined);
setInterval(() => undefined, 1_000);
