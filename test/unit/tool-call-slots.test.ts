import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import type { Response } from 'openai/resources/responses/responses';
import type { ChatCompletionChunk } from '../../libs/providers/src/wire';
import { CompletionAssembler } from '../../libs/cache/src/sse';
import { MessageEvents } from '../../apps/gateway/src/messages/stream';
import { ResponseEventEncoder } from '../../apps/gateway/src/responses/stream';
import { newResponseId } from '../../apps/gateway/src/responses/ids';

/** A call as the model made it. */
interface Call {
  id: string;
  name: string;
  args: string;
}

/**
 * How an OpenAI-format upstream numbers a call's fragments: `index` as OpenAI does (one per call), none
 * (Mistral, Gemini's OpenAI-compatible endpoint), or 0 on every call (Ollama, some vLLM builds); the id
 * on the first fragment only, or on every one (some proxies).
 */
interface Shape {
  index: 'distinct' | 'absent' | 'zero';
  idOn: 'first' | 'every';
}

const BASE = { id: 'c', object: 'chat.completion.chunk', created: 1, model: 'up' } as const;
const chunk = (delta: object, finish: string | null = null) =>
  ({ ...BASE, choices: [{ index: 0, delta, finish_reason: finish, logprobs: null }] }) as ChatCompletionChunk;

function pieces(text: string, cuts: number[]): string[] {
  const points = [...new Set(cuts.map((c) => c % (text.length + 1)))].sort((a, b) => a - b);
  return [0, ...points].map((from, i, all) => text.slice(from, all[i + 1] ?? text.length)).filter((p, i) => p || i === 0);
}

/** The calls' fragments as `shape` streams them, one call after the other; `distinct` indexes may interleave (`picks`). */
function chunksOf(calls: Call[], shape: Shape, cuts: number[], picks: number[]): ChatCompletionChunk[] {
  const sources = calls.map((call, n) => {
    const index = shape.index === 'distinct' ? { index: n } : shape.index === 'zero' ? { index: 0 } : {};
    return pieces(call.args, cuts).map((arguments_, i) =>
      chunk({
        tool_calls: [
          {
            ...index,
            ...(i === 0 || shape.idOn === 'every' ? { id: call.id, type: 'function' } : {}),
            function: { ...(i === 0 ? { name: call.name } : {}), arguments: arguments_ },
          },
        ],
      }),
    );
  });
  const queues = shape.index === 'distinct' ? sources : [sources.flat()];
  const out = [chunk({ role: 'assistant', content: '' })];
  // A call begins after the ones before it (as OpenAI numbers them); its fragments may then come between theirs.
  for (let i = 0, begun = 0; queues.some((q) => q.length); i++) {
    const open = queues.slice(0, begun).filter((q) => q.length);
    const at = (picks[i] ?? 0) % (open.length + (begun < queues.length ? 1 : 0));
    out.push(at < open.length ? open[at].shift()! : queues[begun++].shift()!);
  }
  return [...out, chunk({}, 'tool_calls')];
}

async function* framesOf(chunks: ChatCompletionChunk[]) {
  for (const c of chunks) yield `data: ${JSON.stringify(c)}\n\n`;
}

/** The function_call items a Responses stream ends with. */
async function responseCalls(chunks: ChatCompletionChunk[]): Promise<Call[]> {
  let final: Response | undefined;
  const encoder = new ResponseEventEncoder({ id: newResponseId(), createdAt: 1, request: { model: 'm', input: 'hi' }, store: false });
  for await (const _ of encoder.encode({ frames: framesOf(chunks) }, async (response) => void (final = response)));
  return final!.output.flatMap((item) =>
    item.type === 'function_call' ? [{ id: item.call_id, name: item.name, args: item.arguments }] : [],
  );
}

/** The tool_use blocks a Messages stream holds (ids as the gateway gives them: chat ids unchanged). */
function messageCalls(chunks: ChatCompletionChunk[]): Call[] {
  const events = new MessageEvents(false);
  const frames = [...chunks.flatMap((c) => events.push(c)), ...events.end('m')];
  const calls: Call[] = [];
  const open = new Map<number, Call>();
  for (const frame of frames) {
    const event = JSON.parse(frame.split('\n')[1].slice('data: '.length));
    if (event.type === 'content_block_start' && event.content_block.type === 'tool_use') {
      const call = { id: event.content_block.id, name: event.content_block.name, args: '' };
      open.set(event.index, call);
      calls.push(call);
    }
    if (event.type === 'content_block_delta' && event.delta.type === 'input_json_delta')
      open.get(event.index)!.args += event.delta.partial_json;
  }
  return calls;
}

/** The tool calls the cache keeps of the stream (the chat pass-through's answer, as a hit replays it). */
function cachedCalls(chunks: ChatCompletionChunk[]): Call[] {
  const assembler = new CompletionAssembler();
  for (const c of chunks) assembler.add(c);
  return (assembler.completion().choices[0].message.tool_calls ?? []).map((call) => {
    const { name, arguments: args } = (call as { function: { name: string; arguments: string } }).function;
    return { id: call.id, name, args };
  });
}

const calls = fc
  .uniqueArray(
    fc.record({
      id: fc.stringMatching(/^call_[a-z0-9]{1,6}$/),
      name: fc.constantFrom('get_weather', 'get_time'),
      args: fc
        .dictionary(fc.string({ maxLength: 4 }), fc.oneof(fc.string({ maxLength: 6 }), fc.integer()), { noNullPrototype: true })
        .map((a) => JSON.stringify(a)),
    }),
    { minLength: 1, maxLength: 4, selector: (call) => call.id },
  )
  .map((made) => made.map((call) => ({ ...call })));
const shape = fc.record({
  index: fc.constantFrom<Shape['index']>('distinct', 'absent', 'zero'),
  idOn: fc.constantFrom<Shape['idOn']>('first', 'every'),
});

describe('parallel tool calls streamed with or without distinct indexes', () => {
  // Found by an independent check: calls without `index`, or all with `index: 0` (Ollama, Mistral, Gemini's
  // OpenAI-compatible endpoint), came out as one call (the first's name and id, the arguments concatenated).
  it('each call comes out once, whole, on Responses, Messages and in the cache (fast-check)', async () => {
    await fc.assert(
      fc.asyncProperty(
        calls,
        shape,
        fc.array(fc.nat(60), { maxLength: 4 }),
        fc.array(fc.nat(), { maxLength: 40 }),
        async (made, s, cuts, picks) => {
          const chunks = chunksOf(made, s, cuts, picks);
          assert.deepEqual(await responseCalls(chunks), made, 'Responses');
          assert.deepEqual(messageCalls(chunks), made, 'Messages');
          assert.deepEqual(cachedCalls(chunks), made, 'cache');
        },
      ),
      { seed: 20261206, numRuns: 300 },
    );
  });

  it('fragments with neither index nor id continue the last call', async () => {
    const chunks = [
      chunk({ tool_calls: [{ id: 'call_a', type: 'function', function: { name: 'get_weather', arguments: '{"city":' } }] }),
      chunk({ tool_calls: [{ function: { arguments: '"Paris"}' } }] }),
      chunk({ tool_calls: [{ id: 'call_b', type: 'function', function: { name: 'get_time', arguments: '{}' } }] }),
      chunk({}, 'tool_calls'),
    ];
    const want = [
      { id: 'call_a', name: 'get_weather', args: '{"city":"Paris"}' },
      { id: 'call_b', name: 'get_time', args: '{}' },
    ];
    assert.deepEqual(await responseCalls(chunks), want);
    assert.deepEqual(messageCalls(chunks), want);
    assert.deepEqual(cachedCalls(chunks), want);
  });
});
