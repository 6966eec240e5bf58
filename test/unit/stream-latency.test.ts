import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ChatStream, GatewayError } from '@gateway/providers';
import { primeStream, type PrimedStream } from '@gateway/router';
import { routerConfig, routerHarness } from '../support/router-harness';

const event = (delta: object) => `data: ${JSON.stringify({ choices: [{ index: 0, delta, finish_reason: null }] })}\n\n`;

// Found by an independent check: the latency strategy ranked streaming deployments by the time to their
// first chunk, which an OpenAI-format upstream sends (a role alone) before it generates anything.
describe('latency of a stream (the latency strategy, virtual clock)', () => {
  it('is the time to its first chunk of output, not to its first chunk', async () => {
    const h = routerHarness(routerConfig({}), 1);
    const d = h.deployments[0]!;
    // The role at once, the first token 700 ms later.
    const open = async (): Promise<ChatStream> => ({
      async *[Symbol.asyncIterator]() {
        yield event({ role: 'assistant', content: '' });
        await new Promise<void>((resolve) => h.clock.after(700, resolve));
        yield event({ content: 'Hi' });
      },
    });
    const plan = { group: { name: 'g', config: {} as never, deployments: h.deployments }, profile: {} as never, deployments: [d] };
    const run = await h.executor.runStream(plan, new AbortController().signal, () => primeStream(open()));
    const reading = (async () => {
      for await (const _ of run.result);
    })();
    await h.clock.drain();
    await reading;
    assert.equal(h.latency.get(d.id, 'ttft'), 700);
  });
});

/**
 * router.timeouts.streamMs: a stream that never ends (an upstream trickling events forever) is cut that long after the
 * request started, with a retryable upstream_timeout; one that ends, fails or is left stops the bound's timer (a timer
 * left behind would hold each finished stream's signal for the bound's hour).
 */
describe('the bound on a stream`s time (router.timeouts.streamMs, virtual clock)', () => {
  const STREAM_MS = 60_000;
  /** A stream of an event every second, `events` of them (endless when Infinity), that ends when its signal aborts. */
  const ticking =
    (h: ReturnType<typeof routerHarness>, events: number) =>
    async (_d: unknown, signal: AbortSignal): Promise<ChatStream> => ({
      async *[Symbol.asyncIterator]() {
        for (let n = 0; n < events; n++) {
          if (signal.aborted) throw signal.reason;
          yield event({ content: `${n}` });
          await new Promise<void>((resolve) => h.clock.after(1_000, resolve));
        }
      },
    });
  const start = async (events: number) => {
    const h = routerHarness(routerConfig({ timeouts: { streamMs: STREAM_MS } }), 1);
    const plan = {
      group: { name: 'g', config: {} as never, deployments: h.deployments },
      profile: {} as never,
      deployments: h.deployments,
    };
    const began = h.clock.now();
    const run = await h.executor.runStream(plan, new AbortController().signal, (d, signal) => primeStream(ticking(h, events)(d, signal)));
    return { h, run, began };
  };

  it('cuts a stream that never ends at streamMs from the start, with a retryable upstream_timeout', async () => {
    const { h, run, began } = await start(Infinity);
    const reading = (async () => {
      for await (const _ of run.result);
    })().then(
      () => assert.fail('the stream ended'),
      (err: GatewayError) => err,
    );
    await h.clock.drain(began + STREAM_MS + 1_000);
    const err = await reading;
    assert.deepEqual([err.status, err.code, err.retryable, err.upstreamStatus], [504, 'upstream_timeout', true, 'timeout']);
    assert.match(err.message, /did not end within 60000 ms of the request \(router\.timeouts\.streamMs\)/);
  });

  for (const [how, leave] of [
    [
      'read to its end',
      async (run: PrimedStream) => {
        for await (const _ of run);
      },
    ],
    [
      'left by its reader',
      async (run: PrimedStream) => {
        for await (const _ of run) break;
      },
    ],
  ] as const)
    it(`stops its timer once the stream is ${how}`, async () => {
      const { h, run, began } = await start(3);
      const reading = leave(run.result);
      await h.clock.drain(began + 10_000);
      await reading;
      // Nothing is left to fire: draining every timer leaves the clock where it was.
      await h.clock.drain();
      assert.equal(h.clock.now(), began + 10_000);
    });
});
