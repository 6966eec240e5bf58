import type { ChatCompletionChunk } from '../libs/providers/src/wire';
import { newResponseId } from '../apps/gateway/src/responses/ids';
import { type ResponsesRequest, toChatParams } from '../apps/gateway/src/responses/request';
import { type ResponseContext, toResponse } from '../apps/gateway/src/responses/response';
import { ResponseEventEncoder } from '../apps/gateway/src/responses/stream';

/**
 * What the Responses API codec adds to a request, in CPU microseconds (the pipeline
 * behind it is the chat path's, measured in BENCHMARKS.md). Each case runs ITERATIONS
 * times after a warm-up, in ROUNDS rounds; the median round is printed.
 *
 *   npm run build:test && node dist/bench/responses.js [iterations=20000] [rounds=5]
 */
const ITERATIONS = Number(process.argv[2] ?? 20_000);
const ROUNDS = Number(process.argv[3] ?? 5);

/** A tool round trip with instructions: the shape of an agent's second turn. */
const REQUEST: ResponsesRequest = {
  model: 'bench',
  instructions: 'You are a helpful assistant. Answer briefly.',
  input: [
    { role: 'user', content: 'What is the weather like in Paris today? I am planning a walk along the Seine.' },
    { type: 'function_call', call_id: 'call_1', name: 'get_weather', arguments: '{"city":"Paris"}' },
    { type: 'function_call_output', call_id: 'call_1', output: '{"temp":21,"sky":"clear"}' },
    { role: 'user', content: 'Great, and should I bring an umbrella?' },
  ],
  tools: [
    {
      type: 'function',
      name: 'get_weather',
      description: 'Weather for a city',
      parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
      strict: false,
    },
  ],
  max_output_tokens: 256,
};

const ANSWER = 'No umbrella needed: the sky is clear and it is 21 degrees. Enjoy your walk along the Seine! '.repeat(3);
const USAGE = { prompt_tokens: 120, completion_tokens: 64, total_tokens: 184 };
const COMPLETION_JSON = JSON.stringify({
  id: 'chatcmpl-bench',
  object: 'chat.completion',
  created: 1,
  model: 'bench',
  choices: [{ index: 0, message: { role: 'assistant', content: ANSWER, refusal: null }, finish_reason: 'stop', logprobs: null }],
  usage: USAGE,
});

/** The same answer as an upstream streams it: about four characters a chunk, as SSE frames. */
function frames(): string[] {
  const chunk = (delta: object, finish: string | null = null) =>
    `data: ${JSON.stringify({ id: 'c', object: 'chat.completion.chunk', created: 1, model: 'bench', choices: [{ index: 0, delta, finish_reason: finish }] } satisfies Omit<ChatCompletionChunk, 'choices'> & { choices: unknown[] })}\n\n`;
  const out = [chunk({ role: 'assistant', content: '' })];
  for (let i = 0; i < ANSWER.length; i += 4) out.push(chunk({ content: ANSWER.slice(i, i + 4) }));
  out.push(chunk({}, 'stop'));
  out.push(
    `data: ${JSON.stringify({ id: 'c', object: 'chat.completion.chunk', created: 1, model: 'bench', choices: [], usage: USAGE })}\n\n`,
    'data: [DONE]\n\n',
  );
  return out;
}

const context = (): ResponseContext => ({ id: newResponseId(), createdAt: 1, request: REQUEST, store: false });

async function* iterate(items: string[]) {
  yield* items;
}

const CASES: [string, () => unknown][] = [
  ['request: Responses body -> chat params', () => toChatParams(REQUEST)],
  ['answer: chat.completion JSON -> Response JSON', () => JSON.stringify(toResponse(JSON.parse(COMPLETION_JSON), context()))],
  [
    `stream: ${frames().length} chat SSE frames -> Responses SSE events`,
    async () => {
      let bytes = 0;
      for await (const text of new ResponseEventEncoder(context()).encode({ frames: iterate(frames()) }, () => Promise.resolve()))
        bytes += text.length;
      return bytes;
    },
  ],
];

async function measure(run: () => unknown, iterations: number): Promise<number> {
  const start = process.cpuUsage();
  for (let i = 0; i < iterations; i++) await run();
  const used = process.cpuUsage(start);
  return (used.user + used.system) / iterations;
}

async function main(): Promise<void> {
  console.log(`| Case | CPU µs per request (median of ${ROUNDS} rounds × ${ITERATIONS}) |\n| --- | ---: |`);
  for (const [name, run] of CASES) {
    const iterations = name.startsWith('stream') ? Math.ceil(ITERATIONS / 20) : ITERATIONS;
    await measure(run, Math.ceil(iterations / 10));
    const rounds: number[] = [];
    for (let r = 0; r < ROUNDS; r++) rounds.push(await measure(run, iterations));
    rounds.sort((a, b) => a - b);
    console.log(`| ${name} | ${rounds[Math.floor(ROUNDS / 2)].toFixed(1)} |`);
  }
}

void main();
