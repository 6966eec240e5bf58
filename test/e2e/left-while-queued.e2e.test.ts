import assert from 'node:assert/strict';
import { request as httpRequest, type ServerResponse } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { eventually } from '../support/eventually';
import { sleep } from '../support/fake-upstream';
import { configWith, GatewayProcess } from '../support/gateway';
import { ThreeVendorUpstream, type Vendor } from '../support/three-vendor-upstream';

// Found by an independent check: a JSON answer whose client left kept its attempt running, to be billed
// (Executor.runWhole), also while the attempt only waited for one of the provider's pool connections: nothing
// was sent, yet it went upstream once a connection freed (28 of 30 departed clients' requests, with 2
// connections), and 300 of them to a hung upstream held all 256 connections for 120 s. Each vendor's transport,
// chat and embeddings: with one connection held by a request, the client of a request queued behind it leaves;
// the upstream never gets that one, nor is the connection closed for it, and the held one, whose client left
// too, is answered and billed.

const PRICE = { input: 1000, output: 2000 };
const USAGE = { prompt_tokens: 5, completion_tokens: 3, total_tokens: 8 };

/** A whole answer of each vendor's wire format, for a chat model or an embedding one (`embed`). */
const ANSWER: Record<Vendor, (model: string) => object> = {
  oa: (model) =>
    model === 'embed'
      ? {
          object: 'list',
          model,
          data: [{ object: 'embedding', index: 0, embedding: [0.1, 0.2] }],
          usage: { prompt_tokens: 5, total_tokens: 5 },
        }
      : {
          id: 'chatcmpl-1',
          object: 'chat.completion',
          created: 1,
          model,
          choices: [{ index: 0, message: { role: 'assistant', content: 'ok' }, finish_reason: 'stop' }],
          usage: USAGE,
        },
  ant: (model) => ({
    id: 'msg_1',
    type: 'message',
    role: 'assistant',
    model,
    content: [{ type: 'text', text: 'ok' }],
    stop_reason: 'end_turn',
    stop_sequence: null,
    usage: { input_tokens: 5, output_tokens: 3 },
  }),
  gem: (model) =>
    model === 'embed'
      ? { embeddings: [{ values: [0.1, 0.2] }] }
      : {
          candidates: [{ index: 0, content: { role: 'model', parts: [{ text: 'ok' }] }, finishReason: 'STOP' }],
          usageMetadata: { promptTokenCount: 5, candidatesTokenCount: 3, totalTokenCount: 8 },
          modelVersion: model,
        },
};

/** What a case sends: a chat request or an embedding one, marked with `tag` (what the upstream is checked for). */
function route(kind: 'chat' | 'embed', vendor: Vendor, tag: string) {
  return kind === 'chat'
    ? { path: '/v1/chat/completions', body: { model: `${vendor}-chat`, max_tokens: 5, messages: [{ role: 'user', content: tag }] } }
    : { path: '/v1/embeddings', body: { model: `${vendor}-embed`, input: tag } };
}

/** Sends a request and does not wait for it: `leave()` closes its connection. */
function send(gateway: GatewayProcess, reqId: string, { path, body }: { path: string; body: object }) {
  const req = httpRequest(`${gateway.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-request-id': reqId },
  });
  const answered = new Promise<number | undefined>((done) => {
    req.on('response', (res) => {
      res.resume();
      res.on('end', () => done(res.statusCode)).on('error', () => done(undefined));
    });
    req.on('error', () => done(undefined));
  });
  req.end(JSON.stringify(body));
  return { leave: () => req.destroy(), answered };
}

describe('a JSON request whose client left while it waited for a pool connection is not sent upstream; one sent is billed', () => {
  /** Requests the upstream received, in order: their body, and the connection each came on. */
  const received: { body: string; socket: unknown }[] = [];
  /** Answers held back until `release()`. */
  let held: (() => void)[] = [];
  let holding = true;
  const upstream = new ThreeVendorUpstream((vendor: Vendor, model: string, res: ServerResponse, body: string) => {
    received.push({ body, socket: res.socket });
    const answer = () => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(ANSWER[vendor](model)));
    };
    if (holding) held.push(answer);
    else answer();
  });
  const release = () => {
    holding = false;
    for (const answer of held) answer();
    held = [];
  };
  let gateway: GatewayProcess;

  before(async () => {
    await upstream.start();
    // One connection a provider: a request sent on it holds it, the next waits in the pool's queue.
    const providers = upstream.providers().map((p) => ({ ...p, maxConnections: 1 }));
    const models = (['oa', 'ant', 'gem'] as const).flatMap((vendor) => [
      { name: `${vendor}-chat`, deployments: [{ provider: vendor, model: 'chat', price: PRICE }] },
      ...(vendor === 'ant'
        ? []
        : [{ name: `${vendor}-embed`, deployments: [{ provider: vendor, model: 'embed', capabilities: ['embeddings'], price: PRICE }] }]),
    ]);
    const router = { retry: { attemptsPerDeployment: 1 } };
    gateway = await GatewayProcess.start(configWith({ providers, models, router }), { env: { FAKE_KEY: 'fake-upstream-key' } });
  });
  after(async () => {
    await gateway?.stop();
    await upstream.stop();
  });

  /** The request's access line. */
  async function line(reqId: string) {
    const [found] = await gateway.logged('request', { where: (l) => l.reqId === reqId, timeoutMs: 10_000 });
    assert.ok(found, `${reqId}: no access line`);
    return found as { status: number; attempts?: number; costUsd?: number };
  }

  const cases = [
    ['oa', 'chat'],
    ['ant', 'chat'],
    ['gem', 'chat'],
    ['oa', 'embed'],
    ['gem', 'embed'],
  ] as const;
  for (const [vendor, kind] of cases) {
    it(`${vendor}, ${kind}`, async () => {
      holding = true;
      const id = `${vendor}-${kind}`;
      const tags = { sent: `sent-${id}`, queued: `queued-${id}`, after: `after-${id}` };
      const got = (tag: string) => received.find((r) => r.body.includes(tag));

      try {
        const sent = send(gateway, tags.sent, route(kind, vendor, tags.sent));
        assert.ok(await eventually(async () => got(tags.sent) !== undefined), 'the first request holds the connection');
        const queued = send(gateway, tags.queued, route(kind, vendor, tags.queued));
        // Time for it to reach the pool's queue; its access line below says that it did (an attempt made).
        await sleep(500);
        sent.leave();
        queued.leave();

        const left = await line(tags.queued);
        assert.equal(left.status, 499);
        assert.equal(left.attempts, 1, `its attempt had started (it waited for the connection): ${JSON.stringify(left)}`);
        assert.ok(!left.costUsd, `nothing charged: ${JSON.stringify(left)}`);

        release();
        const billed = await line(tags.sent);
        assert.equal(billed.status, 499);
        assert.ok((billed.costUsd ?? 0) > 0, `the request sent before its client left is billed: ${JSON.stringify(billed)}`);

        // The pool's queue is first in, first out: once this one is answered, one queued before it would have gone.
        assert.equal(await send(gateway, tags.after, route(kind, vendor, tags.after)).answered, 200);
        assert.equal(got(tags.queued), undefined, 'the upstream never received the request whose client left while it was queued');
        // Dropped without closing the connection it was given: the next request came on the first one's.
        assert.ok(got(tags.after)!.socket === got(tags.sent)!.socket, 'the connection was kept');
      } finally {
        // A failure leaves no answer held: the provider's one connection is the next case's.
        release();
      }
    });
  }
});
