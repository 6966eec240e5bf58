import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ChatCompletionChunk } from '../../libs/providers/src/wire';
import { GatewayError } from '../../libs/providers/src/gateway-error';
import { MessageEvents } from '../../apps/gateway/src/messages/stream';
import { MAX_KEPT_CHARS } from '../../apps/gateway/src/pipeline/kept-text';
import { newResponseId } from '../../apps/gateway/src/responses/ids';
import { ResponseEventEncoder } from '../../apps/gateway/src/responses/stream';

/**
 * Found by a hostile-input check: an upstream that opened a tool call, then streamed a second call's arguments
 * without end, grew the gateway by gigabytes on /v1/responses and /v1/messages (what comes for another call
 * while one streams waits until the stream ends) until V8 aborted the process. The upstreams here never end:
 * each stops by itself after `limit` fragments, so a codec that keeps everything fails the test, not the host.
 */
function chunk(delta: ChatCompletionChunk.Choice.Delta): ChatCompletionChunk {
  return { id: 'c', object: 'chat.completion.chunk', created: 1, model: 'm', choices: [{ index: 0, delta, finish_reason: null }] };
}

const first = chunk({ tool_calls: [{ index: 0, id: 'call_0', type: 'function', function: { name: 'f', arguments: '{"a":' } }] });
const second = chunk({ tool_calls: [{ index: 1, id: 'call_1', type: 'function', function: { name: 'g', arguments: '' } }] });

/** Call 0 opened, then call 1's arguments `fragment` at a time, `limit` times at most; `sent` counts them. */
function* endless(fragment: string, limit: number, sent: { count: number }): Generator<ChatCompletionChunk> {
  yield first;
  yield second;
  for (sent.count = 0; sent.count < limit; sent.count++) yield chunk({ tool_calls: [{ index: 1, function: { arguments: fragment } }] });
}

function assertInvalidAnswer(err: unknown): true {
  assert.ok(err instanceof GatewayError, String(err));
  assert.equal(err.status, 502);
  assert.equal(err.code, 'upstream_invalid_response');
  return true;
}

const MiB = 'x'.repeat(1024 * 1024);
/** [what, fragment, limit]: each limit passes the bound (a fragment kept apart costs its object too), and stays small enough to fail quickly where nothing is bounded. */
const CASES: [string, string, number][] = [
  ['1 MiB fragments', MiB, (2 * MAX_KEPT_CHARS) / MiB.length],
  ['1-character fragments', 'x', MAX_KEPT_CHARS / 32],
];

describe('a translated stream keeps a bounded amount of text', () => {
  for (const [what, fragment, limit] of CASES) {
    it(`Responses: a second call streamed without end while the first is open fails the stream (${what})`, async () => {
      const sent = { count: 0 };
      async function* frames() {
        for (const c of endless(fragment, limit, sent)) yield `data: ${JSON.stringify(c)}\n\n`;
      }
      const encoder = new ResponseEventEncoder({ id: newResponseId(), createdAt: 1, request: { model: 'm', input: 'hi' }, store: false });
      await assert.rejects(async () => {
        for await (const _ of encoder.encode({ frames: frames() }, async () => {}));
      }, assertInvalidAnswer);
      assert.ok(sent.count < limit, `stopped after ${sent.count} of ${limit} fragments`);
    });

    it(`Messages: a second call streamed without end while the first is open fails the stream (${what})`, () => {
      const sent = { count: 0 };
      const events = new MessageEvents(false);
      assert.throws(() => {
        for (const c of endless(fragment, limit, sent)) events.push(c);
      }, assertInvalidAnswer);
      assert.ok(sent.count < limit, `stopped after ${sent.count} of ${limit} fragments`);
    });
  }

  it('an answer of many parallel calls far under the bound streams whole', () => {
    const events = new MessageEvents(false);
    const args = `"${'y'.repeat(100_000)}"}`;
    const out: string[] = [];
    for (let i = 0; i < 20; i++) {
      out.push(
        ...events.push(
          chunk({ tool_calls: [{ index: i, id: `call_${i}`, type: 'function', function: { name: 'f', arguments: '{"a":' } }] }),
        ),
      );
      out.push(...events.push(chunk({ tool_calls: [{ index: i, function: { arguments: args } }] })));
    }
    out.push(...events.end('m'));
    assert.equal(out.join('').split('event: content_block_start').length - 1, 20);
  });
});
