import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { resolve } from 'node:path';
import { createInterface } from 'node:readline';
import Anthropic from '@anthropic-ai/sdk';
import { GoogleGenAI } from '@google/genai';
import { DeploymentConfig, ProviderConfig } from '../libs/config/src/gateway-config';
import { AnthropicProvider } from '../libs/providers/src/anthropic/adapter';
import { toMessagesRequest } from '../libs/providers/src/anthropic/request';
import { GeminiProvider } from '../libs/providers/src/gemini/adapter';
import { toGenerateRequest } from '../libs/providers/src/gemini/request';
import { OpenAIProvider } from '../libs/providers/src/openai/adapter';
import type { CallContext } from '../libs/providers/src/provider';
import { PooledFetch } from '../libs/providers/src/translation/transport';
import type { ChatCompletionCreateParams } from '../libs/providers/src/wire';

/**
 * What the vendor adapters cost per request, in this process, against fake upstreams
 * in a child process (so only the gateway side's CPU is counted). Each case runs
 * REQUESTS calls at CONCURRENCY after a warm-up, in ROUNDS interleaved rounds (the
 * machine is shared); the medians of requests/s and CPU microseconds per request
 * are printed. "SDK only" cases send a prebuilt vendor request through the SDK; the two
 * differ only in transport (the SDK's default global fetch, or the provider's PooledFetch).
 * The Gemini adapter adds its translation to the second; the Anthropic adapter sends its
 * translation without the SDK (NativeMessages), so its difference is the SDK's own cost.
 *
 *   npm run build:test && node dist/bench/vendors.js [requests=2000] [concurrency=16] [rounds=3] [cases=regex]
 */
const REQUESTS = Number(process.argv[2] ?? 2000);
const CONCURRENCY = Number(process.argv[3] ?? 16);
const ROUNDS = Number(process.argv[4] ?? 3);
/** Only the cases whose names match (to profile one: `node --cpu-prof dist/bench/vendors.js 2000 16 1 'gemini.*streamed'`). */
const ONLY = new RegExp(process.argv[5] ?? '');
const WARMUP = 300;
const KEY = 'bench-key';

const REQUEST: ChatCompletionCreateParams = {
  model: 'bench',
  messages: [
    { role: 'system', content: 'You are a helpful assistant. Answer briefly.' },
    { role: 'user', content: 'What is the weather like in Paris today? I am planning a walk along the Seine.' },
    {
      role: 'assistant',
      content: 'Let me check.',
      tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } }],
    },
    { role: 'tool', tool_call_id: 'call_1', content: '{"temp":21,"sky":"clear"}' },
    { role: 'user', content: 'Great, and should I bring an umbrella?' },
  ],
  tools: [
    {
      type: 'function',
      function: {
        name: 'get_weather',
        description: 'Weather for a city',
        parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
      },
    },
  ],
  max_tokens: 256,
};

function provider(name: string, type: ProviderConfig['type'], baseUrl: string): ProviderConfig {
  return Object.assign(new ProviderConfig(), { name, type, baseUrl, apiKeyEnv: 'BENCH_KEY' });
}

interface Case {
  name: string;
  call: () => Promise<unknown>;
  rates: number[];
  cpu: number[];
}

const cases: Case[] = [];

function add(name: string, call: () => Promise<unknown>): void {
  if (ONLY.test(name)) cases.push({ name, call, rates: [], cpu: [] });
}

async function measure(entry: Case): Promise<void> {
  const { call } = entry;
  let next = 0;
  const run = async (count: number) => {
    next = 0;
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (next++ < count) await call();
      }),
    );
  };
  await run(WARMUP);
  const cpu = process.cpuUsage();
  const started = performance.now();
  await run(REQUESTS);
  const seconds = (performance.now() - started) / 1000;
  const used = process.cpuUsage(cpu);
  entry.rates.push(REQUESTS / seconds);
  entry.cpu.push((used.user + used.system) / REQUESTS);
}

function median(values: number[]): number {
  return [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
}

async function drain(stream: AsyncIterable<unknown>): Promise<void> {
  for await (const _ of stream);
}

async function main(): Promise<void> {
  const fakes = spawn(process.execPath, [resolve(__dirname, 'fake-upstreams.js'), KEY], { stdio: ['pipe', 'pipe', 'inherit'] });
  const [line] = (await once(createInterface({ input: fakes.stdout! }), 'line')) as [string];
  const urls = JSON.parse(line) as { anthropic: string; gemini: string; openai: string };
  process.env.BENCH_KEY = KEY;
  const deployment = Object.assign(new DeploymentConfig(), { provider: 'p', model: 'm', maxOutputTokens: 256 });
  const ctx = (upstreamModel: string): CallContext => ({
    upstreamModel,
    signal: new AbortController().signal,
    requestId: 'bench',
    deployment,
  });
  console.log(`${REQUESTS} requests x ${ROUNDS} rounds, concurrency ${CONCURRENCY}, Node ${process.version} (medians)\n`);

  const openai = new OpenAIProvider(provider('openai', 'openai-compatible', `${urls.openai}/v1`), KEY);
  add('openai-compatible adapter (undici pool, pass-through)', () => openai.chat(REQUEST, ctx('ok')));

  // Per vendor: a factory for a bare SDK call (default transport, or the one given), and the adapter.
  const vendors = [
    {
      name: 'anthropic',
      upstream: 'claude-echo',
      path: 'translation + native request on the pool',
      config: provider('anthropic', 'anthropic', urls.anthropic),
      adapter: AnthropicProvider,
      sdkCall(fetch?: typeof globalThis.fetch) {
        const sdk = new Anthropic({ apiKey: KEY, baseURL: urls.anthropic, maxRetries: 0, fetch });
        const body = toMessagesRequest(REQUEST, 'claude-echo', deployment);
        return () => sdk.messages.create(body);
      },
    },
    {
      name: 'gemini',
      upstream: 'gemini-echo',
      path: 'translation + SDK + PooledFetch',
      config: provider('gemini', 'gemini', urls.gemini),
      adapter: GeminiProvider,
      sdkCall(fetch?: typeof globalThis.fetch) {
        const sdk = new GoogleGenAI({ vertexai: false, apiKey: KEY, apiVersion: 'v1beta', httpOptions: { baseUrl: urls.gemini, fetch } });
        const params = toGenerateRequest(REQUEST, 'gemini-echo', deployment);
        return () => sdk.models.generateContent(params);
      },
    },
  ];
  const closing: { close(): Promise<void> }[] = [openai];
  for (const vendor of vendors) {
    const pooled = new PooledFetch(vendor.config);
    const adapter = new vendor.adapter(vendor.config, KEY);
    closing.push(pooled, adapter);
    add(`${vendor.name}: SDK only, global fetch (SDK default)`, vendor.sdkCall());
    add(`${vendor.name}: SDK only, PooledFetch (undici request)`, vendor.sdkCall(pooled.fetch));
    add(`${vendor.name} adapter (${vendor.path})`, () => adapter.chat(REQUEST, ctx(vendor.upstream)));
    add(`${vendor.name} adapter, streamed`, async () =>
      drain(await adapter.chatStream({ ...REQUEST, stream: true }, ctx(vendor.upstream))),
    );
  }

  for (let round = 0; round < ROUNDS; round++) for (const entry of cases) await measure(entry);
  for (const { name, rates, cpu } of cases) {
    console.log(`${name.padEnd(58)} ${median(rates).toFixed(0).padStart(6)} req/s ${median(cpu).toFixed(0).padStart(6)} µs CPU/req`);
  }
  await Promise.all(closing.map((c) => c.close()));
  fakes.stdin!.end();
}

void main();
