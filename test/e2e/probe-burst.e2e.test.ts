import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { metric } from '../support/cache';
import { eventually } from '../support/eventually';
import { configWith, gatewayWithFakeUpstream } from '../support/gateway';

const BURST = 8;
const messages = [{ role: 'user' as const, content: 'are you back?' }];

// Found by an independent check: while the half-open probe was in flight, the requests beside it got an
// immediate 503 no_healthy_deployment, so a recovered one-deployment model answered a burst of 503s
// right after its cool-down.
describe('router: a burst beside the half-open probe of a recovered one-deployment model', () => {
  const setup = gatewayWithFakeUpstream((baseUrl) =>
    configWith({
      providers: [{ name: 'fake', type: 'openai-compatible', baseUrl }],
      models: [{ name: 'lone', deployments: [{ provider: 'fake', model: 'held-lone' }] }],
      router: {
        retry: { attemptsPerDeployment: 1, retryAfterCapMs: 10_000 },
        timeouts: { attemptMs: 20_000, deadlineMs: 30_000 },
        breaker: { consecutiveFailures: 1, cooldownMs: 1_000 },
      },
    }),
  );
  const calls = () => setup.upstream.received.filter((r) => r.body.model === 'held-lone').length;

  it("waits for the probe's verdict: every request is answered, streamed or not", async () => {
    const client = setup.gateway.client();
    const failed = client.chat.completions.create({ model: 'lone', messages }).then(
      () => 200,
      (e: { status: number }) => e.status,
    );
    assert.ok(await eventually(async () => calls() === 1));
    setup.upstream.release('lone', 500);
    assert.equal(await failed, 502);
    setup.upstream.holdAgain('lone');
    const state = () => setup.gateway.metric('gateway_circuit_breaker_state', 'deployment="lone/0"');
    assert.equal(await state(), 2, 'the failure opened the breaker');
    assert.ok(await eventually(async () => (await state()) === 1), 'the cool-down is over: the next request probes');

    const burst = Array.from({ length: BURST }, async (_, i) => {
      if (i % 2) return (await client.chat.completions.create({ model: 'lone', messages })).choices[0].message.content;
      let text = '';
      for await (const chunk of await client.chat.completions.create({ model: 'lone', messages, stream: true })) {
        text += chunk.choices[0]?.delta.content ?? '';
      }
      return text;
    });
    const settled = Promise.allSettled(burst);
    // The probe is held upstream; the others are in the gateway, waiting for its verdict, not answered.
    assert.ok(
      await eventually(async () => calls() === 2 && (await metric(setup.gateway, 'gateway_inflight_requests')) === BURST),
      'one probe upstream, the rest waiting',
    );
    setup.upstream.release('lone');
    const answers = await settled;
    assert.deepEqual(
      answers.map((a) => (a.status === 'fulfilled' ? 'answered' : String((a.reason as { status?: number }).status))),
      Array(BURST).fill('answered'),
    );
    assert.ok(
      answers.every((a) => a.status === 'fulfilled' && a.value),
      'each with its text',
    );
    assert.equal(calls(), 1 + BURST, 'the probe, then each of the others once');
    assert.equal(await state(), 0);
  });
});
