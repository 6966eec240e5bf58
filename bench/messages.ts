import { toMessageResult, toMessageStream } from '../apps/gateway/src/messages/codec';
import { toChatRequest } from '../apps/gateway/src/messages/request';
import type { MessagesRequest } from '../apps/gateway/src/messages/wire';
import type { ChatStream } from '../libs/providers/src/provider';
import { cpuMicrosPerCall } from './cpu-rounds';

/**
 * What the Messages API codec costs per request, in this process (no network): the
 * request translation for a small request and for one the size of a Claude Code turn,
 * the answer translation, and a 200-chunk stream translated to Anthropic's events.
 * Each case runs ITERATIONS times after a warm-up, in ROUNDS rounds; the median CPU
 * microseconds per call are printed.
 *
 *   npm run build:test && node dist/bench/messages.js [iterations=2000] [rounds=5]
 */
const ITERATIONS = Number(process.argv[2] ?? 2000);
const ROUNDS = Number(process.argv[3] ?? 5);

const WEATHER = {
  name: 'get_weather',
  description: 'Weather for a city',
  input_schema: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
};

const SMALL: MessagesRequest = {
  model: 'bench',
  max_tokens: 256,
  system: 'You are a helpful assistant. Answer briefly.',
  tools: [WEATHER],
  messages: [
    { role: 'user', content: 'What is the weather like in Paris today? I am planning a walk along the Seine.' },
    {
      role: 'assistant',
      content: [
        { type: 'text', text: 'Let me check.' },
        { type: 'tool_use', id: 'toolu_1', name: 'get_weather', input: { city: 'Paris' } },
      ],
    },
    {
      role: 'user',
      content: [
        { type: 'tool_result', tool_use_id: 'toolu_1', content: '{"temp":21,"sky":"clear"}' },
        { type: 'text', text: 'Great, and should I bring an umbrella?' },
      ],
    },
  ],
};

/** About the shape of a Claude Code turn: a 40 KB system prompt, 20 tools, 40 turns of tool use. */
const LARGE: MessagesRequest = {
  ...SMALL,
  system: [{ type: 'text', text: 'You are a coding agent. '.repeat(1700) }],
  tools: Array.from({ length: 20 }, (_, i) => ({
    name: `tool_${i}`,
    description: 'A tool. '.repeat(100),
    input_schema: {
      type: 'object',
      properties: Object.fromEntries(Array.from({ length: 10 }, (_, j) => [`arg_${j}`, { type: 'string', description: 'An argument.' }])),
    },
  })),
  messages: Array.from({ length: 20 }, (_, i) => [
    {
      role: 'assistant' as const,
      content: [
        { type: 'text', text: 'Reading the file now. '.repeat(10) },
        { type: 'tool_use', id: `toolu_${i}`, name: 'tool_1', input: { arg_0: `src/file_${i}.ts` } },
      ],
    },
    { role: 'user' as const, content: [{ type: 'tool_result', tool_use_id: `toolu_${i}`, content: 'const x = 1;\n'.repeat(150) }] },
  ])
    .flat()
    .reduce<MessagesRequest['messages']>((all, m) => [...all, m], [{ role: 'user', content: 'Fix the failing test.' }]),
};

const COMPLETION = JSON.stringify({
  id: 'chatcmpl-1',
  object: 'chat.completion',
  created: 0,
  model: 'bench',
  choices: [
    {
      index: 0,
      message: {
        role: 'assistant',
        content: 'Checking the weather for you. '.repeat(10),
        tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } }],
      },
      finish_reason: 'tool_calls',
    },
  ],
  usage: { prompt_tokens: 120, completion_tokens: 80, total_tokens: 200 },
});

const head = '{"id":"chatcmpl-s","object":"chat.completion.chunk","created":0,"model":"bench","choices":';
const FRAMES = [
  `data: ${head}[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null}]}\n\n`,
  ...Array.from({ length: 200 }, (_, i) => `data: ${head}[{"index":0,"delta":{"content":"word ${i} "},"finish_reason":null}]}\n\n`),
  `data: ${head}[{"index":0,"delta":{},"finish_reason":"stop"}]}\n\n`,
  `data: ${head}[],"usage":{"prompt_tokens":10,"completion_tokens":200,"total_tokens":210}}\n\n`,
  'data: [DONE]\n\n',
];

async function streamOnce(): Promise<void> {
  const frames: ChatStream = {
    async *[Symbol.asyncIterator]() {
      yield* FRAMES;
    },
  };
  for await (const _ of toMessageStream({ frames }, { thinking: false }, 'bench'));
}

async function measure(name: string, call: () => unknown): Promise<void> {
  const perCall = await cpuMicrosPerCall(call, ITERATIONS, ROUNDS, 200);
  console.log(`| ${name} | ${perCall[Math.floor(perCall.length / 2)].toFixed(1)} |`);
}

async function main(): Promise<void> {
  console.log(`Large request: ${JSON.stringify(LARGE).length} bytes of JSON.\n`);
  console.log('| Case | CPU µs/call (median) |\n| --- | ---: |');
  await measure('Request translation, small (3 turns, 1 tool)', () => toChatRequest(SMALL));
  await measure('Request translation, Claude Code sized (41 turns, 20 tools)', () => toChatRequest(LARGE));
  await measure('Answer translation (text + tool call)', () => toMessageResult({ body: COMPLETION }, { thinking: false }));
  await measure('Stream translation (200 chunks -> Anthropic events)', streamOnce);
}

void main();
