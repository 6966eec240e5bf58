import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { configWith, GatewayProcess } from '../support/gateway';
import { RedisServer } from '../support/redis-server';

const REDIS_SERVER = process.env.TEST_REDIS_SERVER;
const MASTER = 'stopped-replica-master-key-0123456789';
const KEYS = { tokens: 'stopped-tokens-key-0123456789', budget: 'stopped-budget-key-0123456789' };
/** Five completion tokens at $20,000 per million, free input: $0.10 a request (max_tokens 5). */
const METERED = { provider: 'mock', model: 'metered', price: { input: 0, output: 20_000 } };

const chat = (gateway: GatewayProcess, key: string) =>
  fetch(`${gateway.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'metered', max_tokens: 5, messages: [{ role: 'user', content: 'hello' }] }),
  });

// Found by an independent check: after a replica died holding a lease (TPM tokens, a budget's USD), the survivor's
// 429s said "Requests in flight reserve/hold ... Retry shortly", Retry-After: 1, for the rest of the TPM window or
// the whole hold lapse (61 min), though nothing in flight would come back before then. Here replica B takes a
// lease of each key and is killed with nothing in flight; replica A then serves each key until what B leased is
// all that stands in the way. Bounded: at most 400 requests a key.
describe(
  "a replica that stopped holding a lease: the survivor's 429 says when what it leased comes back",
  { skip: !REDIS_SERVER && 'TEST_REDIS_SERVER unset (run npm test)' },
  () => {
    let server: RedisServer;
    let a: GatewayProcess;
    let b: GatewayProcess;
    before(async () => {
      server = await RedisServer.start(REDIS_SERVER!);
      const config = configWith({
        models: [{ name: 'metered', deployments: [METERED] }],
        security: {
          limitLeaseMs: 1_000,
          keys: [
            // A lease takes at most 1/16 of what is left, and at least 8 requests' worth: room for 128 and more.
            { id: 'tokens', keyEnv: 'TOKENS_KEY', tpm: 2_000 },
            { id: 'budget', keyEnv: 'BUDGET_KEY', budget: { usd: 13.05, period: 'daily' } },
          ],
        },
      });
      const env = { REDIS_URL: server.url, GATEWAY_MASTER_KEY: MASTER, TOKENS_KEY: KEYS.tokens, BUDGET_KEY: KEYS.budget };
      [a, b] = await Promise.all([GatewayProcess.start(config, { env }), GatewayProcess.start(config, { env })]);
      for (const key of Object.values(KEYS)) for (let i = 0; i < 3; i++) assert.equal((await chat(b, key)).status, 200);
      await b.stop('SIGKILL');
    });
    after(async () => {
      await a?.stop();
      await b?.stop();
      await server?.stop();
    });

    /** A's answers to `key`, one after the other, until a 429 that `done` accepts (or 400 requests); the 429s. */
    async function refusals(key: string, done: (retryAfter: number, message: string) => boolean) {
      const seen: { retryAfter: number; message: string; reset?: string }[] = [];
      for (let i = 0; i < 400; i++) {
        const res = await chat(a, key);
        if (res.status === 200) continue;
        assert.equal(res.status, 429);
        const message = ((await res.json()) as { error: { message: string } }).error.message;
        const retryAfter = Number(res.headers.get('retry-after'));
        seen.push({ retryAfter, message, reset: res.headers.get('x-ratelimit-reset-tokens') ?? undefined });
        if (done(retryAfter, message)) break;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      return seen;
    }

    it("TPM: the stopped replica's leased tokens come back when the window ends, and the 429 says so", async () => {
      const seen = await refusals(KEYS.tokens, (retryAfter) => retryAfter > 1);
      const last = seen.at(-1);
      assert.ok(last && last.retryAfter > 1, `429s seen: ${JSON.stringify(seen.slice(-3))}`);
      assert.match(last.message, /A gateway replica that stopped leased \d+ of this key's 2000 tokens per minute/);
      assert.match(last.message, new RegExp(`when the window ends, in ${last.retryAfter} s`));
      assert.equal(last.reset?.endsWith('1s'), false, `x-ratelimit-reset-tokens ${last.reset}`);
    });

    it("budget: the stopped replica's holds are charged when they lapse, and the 429 names that and the reset", async () => {
      const seen = await refusals(KEYS.budget, (retryAfter) => retryAfter > 1);
      const last = seen.at(-1);
      assert.ok(last && last.retryAfter > 1, `429s seen: ${JSON.stringify(seen.slice(-3))}`);
      assert.match(last.message, /^Holds of a gateway replica that stopped \(\$[\d.]+, not renewed for 3 lease periods\)/);
      assert.match(last.message, /lapse at \d{4}-\d\d-\d\dT[\d:]+Z and are then charged as spent/);
      assert.match(last.message, new RegExp(`not before the budget resets at .* \\(in ${last.retryAfter} s\\)`));
    });
  },
);
