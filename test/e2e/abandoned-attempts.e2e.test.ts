import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type OpenAI from 'openai';
import { eventually } from '../support/eventually';
import { FakeOpenAI } from '../support/fake-openai';
import { configWith, GatewayProcess } from '../support/gateway';

const KEY = 'abandoned-key-0123456789abcdef';
const MASTER = 'abandoned-master-key-0123456789abcdef';
/** USD per million tokens: $0.001 a prompt token. */
const PRICE = { input: 1000, output: 1000 };

/**
 * Found by an independent security check (sec30, defect 3): an attempt the gateway hung up on at
 * router.timeouts.attemptMs, once its request had gone upstream with the whole prompt, was billed $0, and
 * the router then sent the same prompt again (retries, fallbacks): 6 upstream calls, the key charged nothing.
 */
describe('attempts the gateway hangs up on once sent are billed their prompt estimate to the key', () => {
  const upstream = new FakeOpenAI();
  let gateway: GatewayProcess;
  let client: OpenAI;

  before(async () => {
    const baseUrl = await upstream.start();
    gateway = await GatewayProcess.start(
      configWith({
        providers: [{ name: 'oa', type: 'openai-compatible', baseUrl, apiKeyEnv: 'FAKE_KEY' }],
        models: [
          { name: 'hanging', deployments: [{ provider: 'oa', model: 'hang', price: PRICE }] },
          { name: 'fine', deployments: [{ provider: 'oa', model: 'ok', price: PRICE }] },
        ],
        router: { retry: { attemptsPerDeployment: 2, backoffMs: 10, maxBackoffMs: 20 }, timeouts: { attemptMs: 300, deadlineMs: 10_000 } },
        security: { keys: [{ id: 'tenant', keyEnv: 'TENANT_KEY', budget: { usd: 100, period: 'daily' } }] },
      }),
      { env: { FAKE_KEY: 'sk-fake', TENANT_KEY: KEY, GATEWAY_MASTER_KEY: MASTER } },
    );
    client = gateway.client({ apiKey: KEY });
  });
  after(async () => {
    await gateway?.stop();
    await upstream.stop();
  });

  const line = async (id: string | null) => (await gateway.logged('request', { where: (l) => l.reqId === id }))[0];
  const spent = async () => {
    const res = await fetch(`${gateway.opsUrl}/admin/keys/tenant/usage`, { headers: { authorization: `Bearer ${MASTER}` } });
    return ((await res.json()) as { spendUsd: { today: { _total?: number } } }).spendUsd.today._total ?? 0;
  };
  const prompt = 'word '.repeat(800);
  /** Whole prompt tokens a cost stands for at PRICE.input. */
  const tokensOf = (usd: number) => Math.round((usd * 1e6) / PRICE.input);

  it('a whole answer and a stream: each attempt sent and hung up on is charged, as the access line says', async () => {
    let charged = 0;
    for (const stream of [false, true]) {
      const before = upstream.received.length;
      const failed = await client.chat.completions.create({ model: 'hanging', stream, messages: [{ role: 'user', content: prompt }] }).then(
        () => undefined,
        (e: { status?: number; headers?: Headers }) => e,
      );
      assert.equal(failed?.status, 504, `stream=${stream}`);
      assert.equal(upstream.received.length - before, 2, 'both attempts went upstream');
      const logged = await line(failed.headers!.get('x-request-id'));
      const usd = logged.abandonedCostUsd as number;
      // Two attempts, each the prompt's estimate (some hundreds of tokens) at the input price.
      const tokens = tokensOf(usd);
      assert.ok(tokens % 2 === 0 && tokens / 2 > 100, `stream=${stream}: ${usd}`);
      charged += usd;
    }
    assert.ok(await eventually(async () => Math.abs((await spent()) - charged) < 1e-9), `spent ${await spent()} of ${charged}`);
  });

  it('an attempt that answered is billed as before, with nothing abandoned', async () => {
    const { response } = await client.chat.completions
      .create({ model: 'fine', messages: [{ role: 'user', content: 'hi' }] })
      .withResponse();
    const logged = await line(response.headers.get('x-request-id'));
    assert.equal(logged.abandonedCostUsd, undefined);
    assert.ok((logged.costUsd as number) > 0);
  });
});
