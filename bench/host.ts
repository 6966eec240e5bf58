import { createHash, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { AccessLog } from '../apps/gateway/src/logger';
import { formatUsd } from '../apps/gateway/src/http/accounting';
import { chatDialect, toUpstreamChat } from '../libs/providers/src/openai/request';
import { readChatResult } from '../libs/providers/src/openai/response';
import type { ProviderConfig } from '../libs/config/src/gateway-config';
import { cpuMicrosPerCall } from './cpu-rounds';

/**
 * What this host charges for what the gateway does a request, to tell a slower host from slower code when
 * the benchmark's figures move with the machine (BENCHMARKS.md, "Latest checks"): (1) the latency of a
 * load that depends on the one before, over working sets from 16 KiB to 128 MiB (a random cycle of cache
 * lines: the cache and TLB hierarchy as one request's scattered objects meet it); (2) CPU nanoseconds a
 * call of the patterns suspected on the hot path and of the gateway's own largest items, each in a loop
 * (warm caches), median of ROUNDS rounds of CALLS calls and the spread. Run it pinned, as the benchmark
 * pins the gateway:
 *
 *   npm run build:test && taskset -c 0 node dist/bench/host.js [calls=100000] [rounds=7]
 */
const CALLS = Number(process.argv[2] ?? 100_000);
const ROUNDS = Number(process.argv[3] ?? 7);
const ANSWER = readFileSync(`${__dirname}/../../bench/upstream/bodies/chat_completion.json`);
const REQUEST = '{"model":"bench-model","messages":[{"role":"user","content":"Hello"}]}';
const LINE = 64;

/** Nanoseconds a dependent load over a random cycle through `kib` KiB, one load a cache line. */
function loadLatency(kib: number): number {
  const lines = (kib * 1024) / LINE;
  const stride = LINE / 4;
  const cycle = new Int32Array(lines * stride);
  const order = Array.from({ length: lines }, (_, i) => i);
  for (let i = lines - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  for (let i = 0; i < lines; i++) cycle[order[i]! * stride] = order[(i + 1) % lines]! * stride;
  const steps = 2_000_000;
  let at = 0;
  const times: number[] = [];
  for (let round = 0; round < 5; round++) {
    const start = process.hrtime.bigint();
    for (let i = 0; i < steps; i++) at = cycle[at]!;
    times.push(Number(process.hrtime.bigint() - start) / steps);
  }
  if (at < 0) throw new Error('unreachable: keeps the loop');
  return times.sort((a, b) => a - b)[2]!;
}

function suspects(): Record<string, () => unknown> {
  const request = JSON.parse(REQUEST) as Parameters<typeof toUpstreamChat>[0];
  const answerText = ANSWER.toString();
  const provider = { name: 'upstream', type: 'openai-compatible', baseUrl: 'http://127.0.0.1/v1', streamOptions: true } as ProviderConfig;
  const dialect = chatDialect(provider);
  const log = new AccessLog('info', { write: () => true });
  // The bench's access line: 16 fields set.
  const fields = {
    reqId: 'req-1',
    method: 'POST',
    path: '/v1/chat/completions',
    status: 200,
    durationMs: 1.234,
    model: 'bench-model',
    provider: 'upstream',
    deployment: 'upstream/gpt-4o-mini',
    attempts: 1,
    stream: false,
    promptTokens: 9,
    completionTokens: 10,
    totalTokens: 19,
    costUsd: 0,
    cached: false,
    remoteAddress: '127.0.0.1',
  };
  const token = /^[\^_`a-zA-Z\-0-9!#$%&'*+.|~]+$/; // Node's header-name check
  const entries = new Map<number, number>();
  let n = 0;
  return {
    'object literal (a cheap pattern)': () => ({ a: n++, b: 2 }),
    'Date.now()': () => Date.now(),
    'header name regexp test': () => token.test('x-gateway-cost-usd'),
    'new Error (stack captured)': () => new Error('x'),
    'AbortController, 3 listeners on and off': () => {
      const { signal } = new AbortController();
      const listeners = [() => {}, () => {}, () => {}];
      for (const listener of listeners) signal.addEventListener('abort', listener);
      for (const listener of listeners) signal.removeEventListener('abort', listener);
    },
    'AbortSignal.any of 2': () => AbortSignal.any([new AbortController().signal, new AbortController().signal]),
    'setTimeout + clearTimeout': () => clearTimeout(setTimeout(() => {}, 1000)),
    'crypto.randomUUID()': () => randomUUID(),
    'sha256 of a 40-byte key, hex': () => createHash('sha256').update('sk-bench-0123456789abcdef0123456789ab').digest('hex'),
    'Map set + delete': () => entries.set(n, n).delete(n++),
    'JSON.parse the request (70 B)': () => JSON.parse(REQUEST),
    'JSON.parse the answer (833 B)': () => JSON.parse(answerText),
    'JSON.stringify the request': () => JSON.stringify(request),
    'formatUsd (toFixed)': () => formatUsd(0.00000735),
    'readChatResult (the answer read)': () => readChatResult('upstream', ANSWER),
    'toUpstreamChat (the request written)': () => toUpstreamChat(request, 'gpt-4o-mini', dialect),
    'AccessLog.write (the access line)': () => log.write('info', fields),
  };
}

async function main(): Promise<void> {
  console.log('Dependent load latency by working set (ns, median of 5):');
  for (const kib of [16, 64, 256, 512, 1024, 2048, 8192, 32768, 131072])
    console.log(`  ${String(kib).padStart(6)} KiB  ${loadLatency(kib).toFixed(1)}`);
  console.log(`CPU ns a call (median of ${ROUNDS} rounds of ${CALLS}, min–max):`);
  for (const [name, call] of Object.entries(suspects())) {
    // A hundred calls a step: cpuMicrosPerCall awaits each step, which would cost more than most of these.
    const hundred = () => {
      for (let i = 0; i < 100; i++) call();
    };
    const rounds = (await cpuMicrosPerCall(hundred, CALLS / 100, ROUNDS, CALLS / 1000)).map((us) => us * 10);
    console.log(
      `  ${name.padEnd(42)} ${rounds[rounds.length >> 1]!.toFixed(0).padStart(6)}  (${rounds[0]!.toFixed(0)}–${rounds[rounds.length - 1]!.toFixed(0)})`,
    );
  }
}

void main();
