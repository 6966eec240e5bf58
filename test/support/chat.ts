import assert from 'node:assert/strict';
import OpenAI from 'openai';
import { GatewayError } from '../../libs/providers/src/gateway-error';
import { eventually } from './eventually';
import type { FakeUpstream } from './fake-upstream';

export const WEATHER_TOOL: OpenAI.ChatCompletionTool = {
  type: 'function',
  function: {
    name: 'get_weather',
    description: 'Weather for a city',
    parameters: {
      type: 'object',
      properties: { city: { type: 'string' }, unit: { type: 'string', enum: ['celsius', 'fahrenheit'] } },
      required: ['city'],
    },
  },
};

export const TIME_TOOL: OpenAI.ChatCompletionTool = {
  type: 'function',
  function: { name: 'get_time', parameters: { type: 'object', properties: { zone: { type: 'string' } }, required: ['zone'] } },
};

/** Every kind of plain message, with a multi-part user message last. */
export const CONVERSATION: OpenAI.ChatCompletionMessageParam[] = [
  { role: 'system', content: 'Be brief.' },
  { role: 'developer', content: 'Answer in English.' },
  { role: 'user', content: 'Hi there' },
  { role: 'assistant', content: 'Hello!' },
  {
    role: 'user',
    content: [
      { type: 'text', text: 'How are ' },
      { type: 'text', text: 'you?' },
    ],
  },
];

/**
 * History as clients send it back, which an independent check found lost or garbled on the way to
 * Claude and Gemini: system text in parts, a refusal as the OpenAI SDK returns one (content null),
 * an image as a data:image/jpg URL (an alias OpenAI accepts).
 */
export const ECHOED_HISTORY: OpenAI.ChatCompletionMessageParam[] = [
  {
    role: 'system',
    content: [
      { type: 'text', text: 'Answer in French' },
      { type: 'text', text: 'Never use emoji' },
    ],
  },
  { role: 'user', content: 'Q1' },
  { role: 'assistant', content: null, refusal: 'I cannot help with that.' },
  {
    role: 'user',
    content: [
      { type: 'text', text: 'Q2' },
      { type: 'image_url', image_url: { url: 'data:image/jpg;base64,/9j/4AAQ' } },
    ],
  },
];

/** A 1x1 PNG as a data URL. */
/**
 * An answer's parallel tool calls as clients send them back in other ways than the answer had them,
 * each form with the results: the calls reversed in one message; one a message; one a message, reversed.
 */
export function parallelCallForms(answer: OpenAI.ChatCompletion): Record<string, OpenAI.ChatCompletionMessageParam[]> {
  const { content, tool_calls } = answer.choices[0].message;
  const calls = (tool_calls as OpenAI.ChatCompletionMessageFunctionToolCall[]).map(({ id, function: f }) => ({
    id,
    type: 'function' as const,
    function: f,
  }));
  const results = calls.map((call) => ({ role: 'tool' as const, tool_call_id: call.id, content: 'done' }));
  const forms: Record<string, OpenAI.ChatCompletionAssistantMessageParam[]> = {
    reversed: [{ role: 'assistant', content, tool_calls: [...calls].reverse() }],
    split: calls.map((call, i) => ({ role: 'assistant', content: i ? null : content, tool_calls: [call] })),
    'split and reversed': [...calls].reverse().map((call) => ({ role: 'assistant', content: null, tool_calls: [call] })),
  };
  return Object.fromEntries(Object.entries(forms).map(([form, turn]) => [form, [...turn, ...results]]));
}

export const PNG_DATA_URL =
  'data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==';

/** What a client assembles from a stream, plus what it saw on the way. */
export interface Collected {
  chunks: OpenAI.ChatCompletionChunk[];
  ids: Set<string>;
  text: string;
  reasoning: string;
  calls: { id: string; name: string; arguments: string; fragments: number; extra: Record<string, unknown> }[];
  finish: string | null;
  usage: OpenAI.CompletionUsage | undefined;
  /** The first delta of each choice. */
  firstDeltas: Record<string, unknown>[];
}

/**
 * OpenAI's `stream_options.include_usage`: asked, the last chunk carries the usage and "all other
 * chunks will also include a usage field, but with a null value"; not asked, no chunk has the field.
 */
export function assertUsageFields(chunks: OpenAI.ChatCompletionChunk[], includeUsage: boolean): void {
  const before = includeUsage ? chunks.slice(0, -1) : chunks;
  const wrong = before.filter((chunk) => (includeUsage ? chunk.usage !== null : 'usage' in chunk));
  assert.deepEqual(wrong, [], includeUsage ? 'every chunk before the usage chunk has "usage": null' : 'no chunk has a usage field');
  if (includeUsage) assert.ok(chunks.at(-1)?.usage, 'the last chunk carries the usage');
}

/** Reads a stream the way an OpenAI client does: deltas merged by choice and tool-call index. */
export async function collect(stream: AsyncIterable<OpenAI.ChatCompletionChunk>): Promise<Collected> {
  const out: Collected = {
    chunks: [],
    ids: new Set(),
    text: '',
    reasoning: '',
    calls: [],
    finish: null,
    usage: undefined,
    firstDeltas: [],
  };
  for await (const chunk of stream) {
    out.chunks.push(chunk);
    out.ids.add(chunk.id);
    if (chunk.usage) out.usage = chunk.usage;
    const choice = chunk.choices[0];
    if (!choice) continue;
    const delta = choice.delta as OpenAI.ChatCompletionChunk.Choice.Delta & { reasoning_content?: string };
    if (out.firstDeltas.length === 0) out.firstDeltas.push(delta as Record<string, unknown>);
    out.text += delta.content ?? '';
    out.reasoning += delta.reasoning_content ?? '';
    for (const call of delta.tool_calls ?? []) {
      const { index, id, function: fn, type: _type, ...extra } = call as typeof call & Record<string, unknown>;
      const slot = (out.calls[index] ??= { id: '', name: '', arguments: '', fragments: 0, extra: {} });
      if (id) slot.id = id;
      if (fn?.name) slot.name += fn.name;
      if (fn?.arguments) {
        slot.arguments += fn.arguments;
        slot.fragments++;
      }
      Object.assign(slot.extra, extra);
    }
    out.finish = choice.finish_reason ?? out.finish;
  }
  return out;
}

/** A streamed response's events, and the response the SDK made of them. */
export async function streamedResponse(
  client: OpenAI,
  params: Parameters<OpenAI['responses']['stream']>[0],
): Promise<{ events: OpenAI.Responses.ResponseStreamEvent[]; final: OpenAI.Responses.Response }> {
  const events: OpenAI.Responses.ResponseStreamEvent[] = [];
  const stream = client.responses.stream(params);
  for await (const event of stream) events.push(event);
  return { events, final: await stream.finalResponse() };
}

/** Awaits a call expected to fail and returns the OpenAI error it failed with. */
export async function apiError(call: Promise<unknown>): Promise<InstanceType<typeof OpenAI.APIError>> {
  const err = await call.then(
    () => assert.fail('expected an error'),
    (e: unknown) => e,
  );
  assert.ok(err instanceof OpenAI.APIError, String(err));
  return err;
}

/** The GatewayError `fn` throws (fails the test when it throws nothing or something else). */
export function thrown(fn: () => unknown): GatewayError {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof GatewayError, String(err));
    return err;
  }
  return assert.fail('expected a GatewayError');
}

/**
 * Runs a client call that aborts itself (through `abort`) and checks that the fake
 * upstream saw its request cut off: the gateway passed the disconnect on.
 */
export async function assertAbortReachesUpstream(
  upstream: FakeUpstream,
  call: (signal: AbortSignal, abort: () => void) => Promise<unknown>,
): Promise<void> {
  const mark = upstreamMark(upstream);
  const controller = new AbortController();
  await call(controller.signal, () => controller.abort()).catch(() => undefined);
  await assertUpstreamCut(upstream, mark);
}

/**
 * Checks that the fake upstream received a request since `mark` and answered every one in full: a JSON answer
 * whose client left runs to its end (Executor.runWhole), to be charged.
 */
export async function assertUpstreamAnswered(upstream: FakeUpstream, mark: { received: number }): Promise<void> {
  const made = () => upstream.received.slice(mark.received);
  await eventually(async () => made().length > 0 && made().every((r) => r.answered || r.cut));
  assert.ok(made().length >= 1, 'the upstream received the request');
  assert.deepEqual(
    made().map((r) => r.answered === true),
    made().map(() => true),
    'every upstream request of the test was answered in full',
  );
}

/** What a fake upstream had seen before a test, for assertUpstreamCut and assertUpstreamAnswered. */
export function upstreamMark(upstream: FakeUpstream): { received: number } {
  return { received: upstream.received.length };
}

/**
 * Checks that the fake upstream received a request since `mark` and that every request it
 * received since then was cut off (it may take a moment to see it). Every one: on a loaded
 * machine the first attempt may time out before its first byte and be retried, and both are
 * cut. By request, not by counting cuts: an earlier test's request may be cut late.
 */
export async function assertUpstreamCut(upstream: FakeUpstream, mark: { received: number }): Promise<void> {
  const made = () => upstream.received.slice(mark.received);
  await eventually(async () => made().length > 0 && made().every((r) => r.cut));
  assert.ok(made().length >= 1, 'the upstream received the request');
  assert.deepEqual(
    made().map((r) => r.cut === true),
    made().map(() => true),
    'every upstream request of the test was cut off',
  );
}

/** Reads a stream and aborts it after `chunks` content deltas. */
export async function abortAfter(stream: AsyncIterable<OpenAI.ChatCompletionChunk>, chunks: number, abort: () => void): Promise<void> {
  let seen = 0;
  for await (const chunk of stream) if (chunk.choices[0]?.delta.content && ++seen === chunks) abort();
}

/** A stream of `model` that breaks off, read with the openai SDK: the text that came before, and the error it ended with. */
export async function brokenStream(client: OpenAI, model: string): Promise<{ text: string; err: unknown }> {
  const stream = await client.chat.completions.create({
    model,
    messages: [{ role: 'user', content: 'one two three four five' }],
    stream: true,
  });
  let text = '';
  const err = await (async () => {
    for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
  })().then(
    () => assert.fail('expected the stream to fail'),
    (e: unknown) => e,
  );
  return { text, err };
}
