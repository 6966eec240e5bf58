import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type OpenAI from 'openai';
import { eventually } from '../support/eventually';
import { FakeVendors } from '../support/fake-vendors';
import { configWith, GatewayProcess } from '../support/gateway';

const KEY = 'embed-batch-key-0123456789abcdef';
const MASTER = 'embed-batch-master-0123456789abcdef';
/** USD per million tokens: $0.001 an input token. */
const PRICE = { input: 1000 };

/**
 * Found by an independent check (api32 D2): a Gemini /v1/embeddings request goes as batchEmbedContents calls of 100
 * inputs, 4 at a time. When one failed, the batches Google had answered (embedded, and billed) were dropped and the
 * key charged $0 (no spend, no TPM, no gateway_cost_usd_total), while the retry sent every batch again.
 */
describe('Gemini embeddings: the batches answered in an attempt that failed are charged to the key', () => {
  const vendors = new FakeVendors();
  let gateway: GatewayProcess;
  let client: OpenAI;

  before(async () => {
    const providers = await vendors.start();
    gateway = await GatewayProcess.start(
      configWith({
        providers,
        models: [
          { name: 'gem', deployments: [{ provider: 'gem', model: 'gemini-embedding-001', capabilities: ['embeddings'], price: PRICE }] },
        ],
        router: { retry: { attemptsPerDeployment: 2, backoffMs: 10, maxBackoffMs: 20 } },
        // A key of its own: its TPM window starts with this test's request and lasts a minute.
        security: { keys: [{ id: 'tenant', keyEnv: 'TENANT_KEY', tpm: 1_000_000, budget: { usd: 100, period: 'daily' } }] },
      }),
      { env: { ...vendors.env, TENANT_KEY: KEY, GATEWAY_MASTER_KEY: MASTER } },
    );
    client = gateway.client({ apiKey: KEY });
  });
  after(async () => {
    await gateway?.stop();
    await vendors.stop();
  });

  const usage = async () => (await gateway.adminKeys(MASTER, 'GET', '/tenant/usage')).body;
  const spent = async () => ((await usage()).spendUsd.today._total as number | undefined) ?? 0;
  const costMetric = () => gateway.metric('gateway_cost_usd_total', 'provider="gem",model="gem",key="tenant"');
  /** The gateway's estimate of these inputs (a text of n characters: ceil(n / 4) tokens), as it bills Gemini's. */
  const estimate = (inputs: string[]) => inputs.reduce((sum, text) => sum + Math.ceil(text.length / 4), 0);
  /** Sends `inputs` through the SDK, which gets `status`; the batches that went upstream and the request's access line. */
  const failing = async (inputs: string[], status: number) => {
    const before = vendors.gemini.received.length;
    const failed = await client.embeddings.create({ model: 'gem', input: inputs }).then(
      () => undefined,
      (e: { status?: number; headers?: Headers }) => e,
    );
    assert.equal(failed?.status, status);
    const batches = vendors.gemini.received
      .slice(before)
      .map((r) => (r.body.requests as { content: { parts: { text: string }[] } }[]).map((q) => q.content.parts[0].text));
    const [line] = await gateway.logged('request', { where: (l) => l.reqId === failed.headers!.get('x-request-id') });
    return { batches, line };
  };

  it('the third of three batches fails (503) in both attempts: the two answered in each are charged, to spend, TPM and the cost metric', async () => {
    const inputs = Array.from({ length: 250 }, (_, i) => (i === 230 ? 'embed-error-UNAVAILABLE' : 'x'.repeat(i + 1)));
    const [spentBefore, costBefore] = [await spent(), await costMetric()];
    const { batches, line } = await failing(inputs, 503);
    // Each attempt: batches of 100, 100 and 50, all in flight at once (4 at a time), the last refused.
    assert.equal(batches.length, 6, 'two attempts of three batches');
    const answered = batches.filter((b) => !b.includes('embed-error-UNAVAILABLE'));
    assert.equal(answered.length, 4);
    const tokens = answered.reduce((sum, b) => sum + estimate(b), 0);
    assert.equal(tokens, 2 * estimate(inputs.slice(0, 200)));
    const usd = (tokens * PRICE.input) / 1e6;
    assert.ok(Math.abs((line.failedAttemptCostUsd as number) - usd) < 1e-9, `access line ${JSON.stringify(line)}, expected ${usd}`);
    assert.ok(
      await eventually(async () => Math.abs((await spent()) - spentBefore - usd) < 1e-9),
      `spent ${await spent()}, expected ${usd}`,
    );
    assert.ok(Math.abs((await costMetric()) - costBefore - usd) < 1e-9, `gateway_cost_usd_total ${await costMetric()}`);
    // The TPM window counts the answered batches once the request settled.
    assert.ok(await eventually(async () => (await usage()).currentMinute.tokens === tokens), `TPM ${(await usage()).currentMinute.tokens}`);
  });

  it('a batch failing with a 400 (not retried): no batch starts after it, and those still running when it failed are charged', async () => {
    // 7 batches; the first is refused: the 3 sent with it run to their answers, the other 3 are never sent.
    const inputs = Array.from({ length: 700 }, (_, i) => (i === 5 ? 'embed-error-INVALID_ARGUMENT' : `text ${i}`));
    const { batches, line } = await failing(inputs, 400);
    assert.equal(batches.length, 4, 'the 4 in flight at once, no more');
    const tokens = batches.filter((b) => !b.includes('embed-error-INVALID_ARGUMENT')).reduce((sum, b) => sum + estimate(b), 0);
    assert.equal(tokens, estimate(inputs.slice(100, 400)));
    assert.ok(Math.abs((line.failedAttemptCostUsd as number) - (tokens * PRICE.input) / 1e6) < 1e-9, JSON.stringify(line));
  });

  it('a request whose batches are all answered is billed as before, with nothing charged for a failed attempt', async () => {
    const inputs = Array.from({ length: 150 }, (_, i) => `ok ${i}`);
    const { data, response } = await client.embeddings.create({ model: 'gem', input: inputs }).withResponse();
    assert.equal(data.data.length, 150);
    const [line] = await gateway.logged('request', { where: (l) => l.reqId === response.headers.get('x-request-id') });
    assert.equal(line.failedAttemptCostUsd, undefined);
    assert.ok(Math.abs((line.costUsd as number) - (estimate(inputs) * PRICE.input) / 1e6) < 1e-9, JSON.stringify(line));
  });
});
