import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { passThroughStream as PassThroughStream } from '../libs/providers/src/openai/stream';
import { cpuMicrosPerCall } from './cpu-rounds';

/**
 * What the OpenAI pass-through (`passThroughStream`) costs a stream, in this process: the bench's
 * upstream stream (bench/upstream/bodies/chat_completion_stream.sse, 13 events), each event one read as
 * undici hands them over, forwarded and read to its end; CPU microseconds a stream, the median of
 * ROUNDS rounds of STREAMS streams after a warm-up. MODULE is the compiled stream.js to load (another
 * build's, for a before/after on the same machine, interleaved by running both in turn):
 *
 *   npm run build:test && node dist/bench/pass-through.js [streams=20000] [rounds=7] [module=this build's]
 */
const STREAMS = Number(process.argv[2] ?? 20_000);
const ROUNDS = Number(process.argv[3] ?? 7);
const MODULE = resolve(process.argv[4] ?? `${__dirname}/../libs/providers/src/openai/stream.js`);
const SSE = readFileSync(`${__dirname}/../../bench/upstream/bodies/chat_completion_stream.sse`);

/** The stream's events, each with its blank line: one read each. */
function reads(body: Buffer): Buffer[] {
  const out: Buffer[] = [];
  for (let at = 0; at < body.length;) {
    const end = body.indexOf('\n\n', at);
    const next = end < 0 ? body.length : end + 2;
    out.push(body.subarray(at, next));
    at = next;
  }
  return out;
}

/** A body of `chunks` (a plain async iterator, as the gateway's StreamedBody is). */
function body(chunks: Buffer[]): AsyncIterable<Buffer> {
  return {
    [Symbol.asyncIterator]() {
      let i = 0;
      return {
        next: async () => (i < chunks.length ? { value: chunks[i++]!, done: false } : { value: undefined, done: true }),
      };
    },
  };
}

async function main(): Promise<void> {
  const { passThroughStream } = (await import(MODULE)) as { passThroughStream: typeof PassThroughStream };
  const chunks = reads(SSE);
  const signal = new AbortController().signal;
  let bytes = 0;
  const once = async () => {
    // stripUsage: the gateway asks for usage the client did not (the usual case), so the usage event is cut out.
    for await (const out of passThroughStream('bench', { body: body(chunks) }, signal, true, 'bench-key')) bytes += out.length;
  };
  const perStream = await cpuMicrosPerCall(once, STREAMS, ROUNDS, 5_000);
  const median = perStream[Math.floor(perStream.length / 2)]!;
  console.log(
    `${MODULE}: ${chunks.length} reads a stream, ${median.toFixed(2)} CPU µs a stream (median of ${ROUNDS}; ` +
      `range ${perStream[0]!.toFixed(2)}–${perStream.at(-1)!.toFixed(2)}), ${bytes} bytes forwarded`,
  );
}

void main();
