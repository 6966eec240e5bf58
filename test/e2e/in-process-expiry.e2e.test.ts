import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { eventually } from '../support/eventually';
import { configWith, GatewayProcess } from '../support/gateway';

const THREADS_BETA = 'message-threads-2026-08-12';
const KEYS = { a: 'in-process-expiry-key-a-0123456789', b: 'in-process-expiry-key-b-0123456789' };
const MASTER = 'in-process-expiry-master-0123456789';

/**
 * Found by an independent check (state28): without Redis, the stored responses and message threads dropped an
 * expired entry only when it was read, so key b's expired ones kept their room and share, and key a's live ones
 * were evicted in their stead (GET 404, thread_not_found); DELETE of an expired response answered deleted.
 */
describe('in-process stores (no Redis): expired entries make room before live ones go', () => {
  let gw: GatewayProcess;

  before(async () => {
    const config = configWith({
      security: {
        keys: [
          { id: 'a', keyEnv: 'KEY_A' },
          { id: 'b', keyEnv: 'KEY_B' },
        ],
      },
      responses: { ttlSeconds: 1, maxMemoryMb: 1 },
      messages: { threads: { ttlSeconds: 1, maxMemoryMb: 1 } },
    });
    gw = await GatewayProcess.start(config, { env: { GATEWAY_MASTER_KEY: MASTER, KEY_A: KEYS.a, KEY_B: KEYS.b } });
  });

  after(async () => {
    await gw?.stop();
  });

  const call = async (key: string, method: string, path: string, body?: object) => {
    const headers = { authorization: `Bearer ${key}`, 'content-type': 'application/json', 'anthropic-beta': THREADS_BETA };
    const res = await fetch(`${gw.url}${path}`, { method, headers, body: body && JSON.stringify(body) });
    return { status: res.status, body: (await res.json()) as { id: string; error?: { message: string } } };
  };
  const respond = async (key: string, input: string) => (await call(key, 'POST', '/v1/responses', { model: 'mock-1', input })).body.id;
  const thread = (key: string, content: string, previous?: string) =>
    call(key, 'POST', '/v1/messages', {
      model: 'mock-1',
      max_tokens: 20,
      thread: previous ? { type: 'continue', previous_message_id: previous } : { type: 'create' },
      messages: [{ role: 'user', content }],
    });
  // About 240 KB each as the stores count it (a character beyond Latin-1: two bytes a character, with its echo or
  // items): key b's two fill half the 1 MB store, key a's three fit once b's have gone.
  const response = (tag: string) => `${tag} \u2019${'a'.repeat(60_000)}`;
  const turn = (tag: string) => `${tag} \u2019${'a'.repeat(120_000)}`;

  it('key a`s live responses and threads stay; an expired response is not found for DELETE', async () => {
    const expiring: string[] = [];
    for (const tag of ['b1', 'b2']) {
      await respond(KEYS.b, response(tag));
      const created = await thread(KEYS.b, turn(tag));
      assert.equal(created.status, 200);
      expiring.push(created.body.id);
    }
    const doomed = await respond(KEYS.b, 'deleted after its TTL');
    // Created last, with the same TTL: once it is gone, so are the others (not read meanwhile).
    const probe = await respond(KEYS.b, 'probe');
    assert.ok(await eventually(async () => (await call(KEYS.b, 'GET', `/v1/responses/${probe}`)).status === 404));
    assert.equal((await call(KEYS.b, 'DELETE', `/v1/responses/${doomed}`)).status, 404, 'expired: not found, as GET has it');
    // The refusal names the TTL configured, not Anthropic's 5 minutes.
    const gone = await thread(KEYS.b, 'again', expiring[0]);
    assert.equal(gone.status, 404);
    assert.match(gone.body.error!.message, /threads expire 1 second after their last response/);
    // Not only an expiry: a thread refused over its key's bound is not found either (a doubtful point of an independent check).
    assert.match(gone.body.error!.message, /not kept when its key's threads are at their bound/);

    const responses: string[] = [];
    const threads: string[] = [];
    for (const tag of ['a1', 'a2', 'a3']) {
      responses.push(await respond(KEYS.a, response(tag)));
      threads.push((await thread(KEYS.a, turn(tag))).body.id);
    }
    assert.equal((await call(KEYS.a, 'GET', `/v1/responses/${responses[0]}`)).status, 200, 'key a`s oldest response is kept');
    const continued = await thread(KEYS.a, 'and then?', threads[0]);
    assert.equal(continued.status, 200, `key a's oldest thread is kept: ${continued.body.error?.message}`);
  });
});
