import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ChatStream } from '@gateway/providers';
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
    const run = await h.executor.runStream(plan, new AbortController().signal, open);
    const reading = (async () => {
      for await (const _ of run.result);
    })();
    await h.clock.drain();
    await reading;
    assert.equal(h.latency.get(d.id, 'ttft'), 700);
  });
});
