import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type OpenAI from 'openai';
import { apiError } from '../support/chat';
import { FakeVendors } from '../support/fake-vendors';
import { configWith, GatewayProcess } from '../support/gateway';

const REVOKED_KEY = 'AIza-revoked-secret-31';
const hi = [{ role: 'user' as const, content: 'hi' }];

// Found by an independent check: Gemini answers a bad, revoked or deleted API key with
// `400 INVALID_ARGUMENT`, reason API_KEY_INVALID (the fake answers a wrong key so). The client got
// that 400 as its own mistake, a group with another deployment did not fall back, and the
// deployment was never cooled down. README Routing: the next deployment, else a 502.
describe("Gemini refusing the gateway's API key is the deployment's trouble, not the client's", () => {
  const vendors = new FakeVendors();
  let gateway: GatewayProcess;
  let client: OpenAI;
  before(async () => {
    const [oa, , gem] = await vendors.start();
    const revoked = { ...gem, name: 'gem-revoked', apiKeyEnv: 'REVOKED_GEM_KEY' };
    const gemini = (model: string, capabilities?: string[]) => ({ provider: 'gem-revoked', model, capabilities });
    gateway = await GatewayProcess.start(
      configWith({
        providers: [oa, revoked],
        models: [
          { name: 'with-fallback', deployments: [gemini('gemini-echo'), { provider: 'oa', model: 'gpt-fallback' }] },
          // One group per case: each its own deployment, so none is cooling down after another case.
          { name: 'gemini-only', deployments: [gemini('gemini-echo')] },
          { name: 'gemini-only-stream', deployments: [gemini('gemini-echo')] },
          { name: 'gemini-embed', deployments: [gemini('gemini-embedding-001', ['embeddings'])] },
        ],
      }),
      { env: { REVOKED_GEM_KEY: REVOKED_KEY } },
    );
    client = gateway.client();
  });
  after(async () => {
    await gateway?.stop();
    await vendors.stop();
  });

  it('a group with another deployment answers from it', async () => {
    const res = await client.chat.completions.create({ model: 'with-fallback', messages: hi });
    assert.equal(res.model, 'gpt-fallback');
    // Cooled down: the next request does not try the refused key again.
    const asked = vendors.gemini.received.length;
    await client.chat.completions.create({ model: 'with-fallback', messages: hi });
    assert.equal(vendors.gemini.received.length, asked);
  });

  for (const stream of [false, true]) {
    it(`a Gemini-only group answers 502 upstream_auth_failed, without the key${stream ? ', streamed' : ''}`, async () => {
      const model = stream ? 'gemini-only-stream' : 'gemini-only';
      const err = await apiError(client.chat.completions.create({ model, messages: hi, stream }));
      assert.equal(err.status, 502);
      assert.equal(err.type, 'upstream_error');
      assert.equal(err.code, 'upstream_auth_failed');
      assert.match(err.message, /rejected the gateway's API key/);
      assert.doesNotMatch(err.message, /AIza-revoked/);
    });
  }

  it('embeddings take the same path: 502 upstream_auth_failed', async () => {
    const err = await apiError(client.embeddings.create({ model: 'gemini-embed', input: 'x' }));
    assert.equal(err.status, 502);
    assert.equal(err.code, 'upstream_auth_failed');
    assert.match(err.message, /rejected the gateway's API key/);
  });
});
