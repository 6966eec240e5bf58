import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import OpenAI from 'openai';
import { configWith, GatewayProcess } from '../support/gateway';
import { ThreeVendorUpstream, type Vendor, VENDORS } from '../support/three-vendor-upstream';

// Found by an independent check: an upstream's 400 whose `error.message` was 50 KB reached the client as the raw
// text of its JSON, cut at the error body's read cap (`{"error":{"message":"bad xxx…`, 500 characters of it from an
// OpenAI-format upstream, 16 KB from Anthropic), while Gemini's went out whole; a 5 KB one was parsed. Each vendor's
// error, short or long, streamed or not: the client gets the message, cut at 2,000 characters and marked past them.

/** What ends a message the gateway cut (libs/providers/src/error-body.ts). */
const CUT = ' … [cut]';
const MAX_MESSAGE_CHARS = 2_000;
const KEY = 'fake-upstream-key';

/** The upstream's message, by the model asked for. */
const MESSAGES: Record<string, string> = {
  short: 'bad ' + 'x'.repeat(10),
  long: 'bad ' + 'x'.repeat(50_000),
  // Past 2,000 characters, within the read cap.
  medium: 'bad ' + 'x'.repeat(5_000),
  // The provider's key (some upstreams repeat it) across the 2,000th character.
  keyed: 'k'.repeat(1_990) + KEY + 'x'.repeat(100),
};

/** Each vendor's error body for a 400 with `message`. */
const BODY: Record<Vendor, (message: string) => object> = {
  oa: (message) => ({ error: { message, type: 'invalid_request_error', param: 'messages', code: 'bad' } }),
  ant: (message) => ({ type: 'error', error: { type: 'invalid_request_error', message } }),
  gem: (message) => ({ error: { code: 400, message, status: 'INVALID_ARGUMENT' } }),
};

/** The three wire formats: each a 400 with the message the model names. */
function fakeUpstream(): ThreeVendorUpstream {
  return new ThreeVendorUpstream((vendor, model, res) => {
    res.writeHead(400, { 'content-type': 'application/json' });
    res.end(JSON.stringify(BODY[vendor](MESSAGES[model])));
  });
}

describe("an upstream's error message reaches the client whatever its length, cut and marked past 2,000 characters", () => {
  const upstream = fakeUpstream();
  let gateway: GatewayProcess;

  before(async () => {
    await upstream.start();
    const providers = upstream.providers();
    const models = VENDORS.flatMap((vendor) =>
      Object.keys(MESSAGES).map((message) => ({ name: `${vendor}-${message}`, deployments: [{ provider: vendor, model: message }] })),
    );
    const router = { retry: { attemptsPerDeployment: 1, backoffMs: 1, maxBackoffMs: 1, retryAfterCapMs: 0 } };
    gateway = await GatewayProcess.start(configWith({ providers, models, router }), { env: { FAKE_KEY: KEY } });
  });
  after(async () => {
    await gateway?.stop();
    await upstream.stop();
  });

  /** The error the client gets for the vendor's 400 with the named message. */
  async function clientError(vendor: Vendor, message: string, stream: boolean) {
    const err = await gateway
      .client()
      .chat.completions.create({ model: `${vendor}-${message}`, stream, messages: [{ role: 'user', content: 'hi' }] })
      .then(
        () => assert.fail('answered'),
        (e: InstanceType<typeof OpenAI.APIError>) => e,
      );
    assert.equal(err.status, 400);
    return (err.error as { message: string }).message;
  }

  for (const vendor of VENDORS) {
    for (const stream of [false, true]) {
      const how = stream ? 'streamed' : 'not streamed';
      it(`${vendor}, ${how}: a short message whole`, async () => {
        assert.equal(await clientError(vendor, 'short', stream), MESSAGES.short);
      });

      it(`${vendor}, ${how}: a 50 KB message (a body past the read cap) as its first 2,000 characters, marked`, async () => {
        assert.equal(await clientError(vendor, 'long', stream), MESSAGES.long.slice(0, MAX_MESSAGE_CHARS) + CUT);
      });

      it(`${vendor}, ${how}: a 5 KB message (a body within the read cap) cut at 2,000 characters, marked`, async () => {
        assert.equal(await clientError(vendor, 'medium', stream), MESSAGES.medium.slice(0, MAX_MESSAGE_CHARS) + CUT);
      });

      it(`${vendor}, ${how}: the provider's key across the cut is taken out before the cut, no part of it left`, async () => {
        const hidden = MESSAGES.keyed.replace(KEY, '[provider key]');
        assert.equal(await clientError(vendor, 'keyed', stream), hidden.slice(0, MAX_MESSAGE_CHARS) + CUT);
      });
    }
  }
});
