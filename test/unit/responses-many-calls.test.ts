import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import type { Response } from 'openai/resources/responses/responses';
import type { ChatCompletionChunk } from '../../libs/providers/src/wire';
import { newResponseId } from '../../apps/gateway/src/responses/ids';
import { ResponseEventEncoder } from '../../apps/gateway/src/responses/stream';

/**
 * Found by a hostile-input check: an answer with many tool calls, streamed to a /v1/responses client, held the
 * event loop quadratically (20,000 calls: 10-24 s, /health waiting as long). Every call after the first waits
 * while the one before streams, and each was re-queued again at every call: N²/2 routings. The work is counted,
 * not timed: each fragment is routed once as it comes and at most once more when it is replayed.
 */
const N = 3_000;

function chunk(delta: ChatCompletionChunk.Choice.Delta, finish: ChatCompletionChunk.Choice['finish_reason'] = null): ChatCompletionChunk {
  return { id: 'c', object: 'chat.completion.chunk', created: 1, model: 'm', choices: [{ index: 0, delta, finish_reason: finish }] };
}

const call = (i: number) => ({ index: i, id: `call_${i}`, type: 'function' as const, function: { name: 'f', arguments: `{"i":${i}}` } });

/** The ways an upstream sends N parallel calls: all in one chunk (Gemini's one event), or one chunk a call (OpenAI). */
const SHAPES: Record<string, ChatCompletionChunk[]> = {
  'all in one chunk': [chunk({ tool_calls: Array.from({ length: N }, (_, i) => call(i)) }), chunk({}, 'tool_calls')],
  'one chunk a call': [...Array.from({ length: N }, (_, i) => chunk({ tool_calls: [call(i)] })), chunk({}, 'tool_calls')],
  // Text after each call's name, before its arguments: what waits is not only calls.
  'text between calls': [
    ...Array.from({ length: N }, (_, i) => [
      chunk({ tool_calls: [{ ...call(i), function: { name: 'f', arguments: '' } }] }),
      chunk({ content: `t${i} ` }),
      chunk({ tool_calls: [{ index: i, function: { arguments: `{"i":${i}}` } }] }),
    ]).flat(),
    chunk({}, 'tool_calls'),
  ],
};

async function* framesOf(chunks: ChatCompletionChunk[]) {
  for (const c of chunks) yield `data: ${JSON.stringify(c)}\n\n`;
}

type Route = (this: ResponseEventEncoder, delta: unknown) => void;
const prototype = ResponseEventEncoder.prototype as unknown as { route: Route };
const route = prototype.route;
let routed = 0;

describe('a Responses stream of many tool calls: each fragment is routed a bounded number of times', () => {
  beforeEach(() => {
    routed = 0;
    prototype.route = function (delta) {
      routed++;
      route.call(this, delta);
    };
  });
  afterEach(() => {
    prototype.route = route;
  });

  for (const [shape, chunks] of Object.entries(SHAPES)) {
    it(`${N} calls, ${shape}: routed at most twice each, every call whole and in order`, async () => {
      let final: Response | undefined;
      const encoder = new ResponseEventEncoder({ id: newResponseId(), createdAt: 1, request: { model: 'm', input: 'hi' }, store: false });
      for await (const _ of encoder.encode({ frames: framesOf(chunks) }, async (response) => void (final = response)));
      const fragments = chunks.reduce(
        (sum, c) => sum + (c.choices[0].delta.tool_calls?.length ?? 0) + (c.choices[0].delta.content ? 1 : 0),
        0,
      );
      assert.ok(routed <= 2 * fragments, `${routed} routings of ${fragments} fragments`);
      const calls = final!.output.flatMap((item) => (item.type === 'function_call' ? [[item.call_id, item.arguments]] : []));
      assert.deepEqual(
        calls,
        Array.from({ length: N }, (_, i) => [`call_${i}`, `{"i":${i}}`]),
      );
    });
  }
});
