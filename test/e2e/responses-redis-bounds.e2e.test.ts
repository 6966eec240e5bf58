import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import type OpenAI from 'openai';
import { apiError } from '../support/chat';
import { configWith, GatewayProcess } from '../support/gateway';
import { RedisServer } from '../support/redis-server';

const SERVER = process.env.TEST_REDIS_SERVER;
const skip = !SERVER && 'TEST_REDIS_SERVER unset (run npm test)';
const KEYS = {
  CHAIN_KEY: 'chain-secret-key-value-0123',
  FULL_KEY: 'full-secret-key-value-01234',
  OTHER_KEY: 'other-secret-key-value-0123',
};
const TTL = 120;
/** 10 KB of new input a turn, as the leak28 check sent. */
const TURN = 'word '.repeat(2000);

/**
 * What stored responses take in Redis (leak28 defects 2 and 3): a previous_response_id chain grows
 * linearly with the conversation (each record keeps only what it adds and a link back; before, each
 * kept the whole conversation twice and a chain grew with the square of its turns), and one key's
 * stored responses are bounded (responses.tenantMaxMemoryMb): past it answers are served, not stored.
 */
describe('stored responses in Redis: linear chains, a bound per key', { skip }, () => {
  let redis: RedisServer;
  let probe: Redis;
  let gateway: GatewayProcess;
  const as = (key: string): OpenAI => gateway.client({ apiKey: key });
  const recordKey = (tenant: string, id: string) => `gw:resp:{${tenant}}:${id}`;

  /** The bytes Redis gives a tenant's stored responses (MEMORY USAGE of each of its keys). */
  const tenantBytes = async (tenant: string): Promise<number> => {
    let total = 0;
    for (const key of await probe.keys(`gw:resp:{${tenant}}:*`)) total += Number(await probe.call('MEMORY', 'USAGE', key, 'SAMPLES', '0'));
    return total;
  };

  before(async () => {
    redis = await RedisServer.start(SERVER!);
    probe = new Redis(redis.url);
    const config = configWith({
      security: {
        keys: [
          { id: 'chain', keyEnv: 'CHAIN_KEY' },
          { id: 'full', keyEnv: 'FULL_KEY' },
          { id: 'other', keyEnv: 'OTHER_KEY' },
        ],
      },
      responses: { ttlSeconds: TTL, tenantMaxMemoryMb: 1 },
    });
    // With a master key set, requests must carry one of the keys: each is its own tenant.
    gateway = await GatewayProcess.start(config, {
      env: { REDIS_URL: redis.url, GATEWAY_MASTER_KEY: 'bounds-master-key-0123456789', ...KEYS },
    });
  });

  after(async () => {
    await gateway?.stop();
    probe?.disconnect();
    await redis?.stop();
  });

  // Seen failing before the fix: 15 turns took 2.78 MB, 30 turns 10.7 MB (ratio 3.85, 357 KB a turn).
  it('a previous_response_id chain takes Redis bytes linear in its turns, and is continued whole', async () => {
    const client = as(KEYS.CHAIN_KEY);
    const N = 15;
    const at: number[] = [];
    let previous: string | undefined;
    for (let turn = 1; turn <= 2 * N; turn++) {
      const res = await client.responses.create({
        model: 'mock',
        input: `${turn} ${TURN}`,
        ...(previous ? { previous_response_id: previous } : {}),
      });
      previous = res.id;
      if (turn === N || turn === 2 * N) at.push(await tenantBytes('chain'));
    }
    const [atN, at2N] = at as [number, number];
    const ratio = at2N / atN;
    console.log(
      `Redis: ${atN} B after ${N} turns, ${at2N} B after ${2 * N} (ratio ${ratio.toFixed(2)}, ${Math.round(at2N / (2 * N))} B a turn)`,
    );
    assert.ok(ratio < 2.5, `doubling the turns multiplied the bytes by ${ratio.toFixed(2)}: not linear`);
    assert.ok(at2N / (2 * N) < 1.5 * TURN.length, `${Math.round(at2N / (2 * N))} B a turn of ${TURN.length} B of input`);

    // The whole conversation is rebuilt from the links: every turn's input is listed, and the model is sent it.
    const items = [];
    for await (const item of client.responses.inputItems.list(previous!, { order: 'asc', limit: 100 })) items.push(item);
    const inputs = items.filter((item) => item.type === 'message' && item.role === 'user');
    assert.equal(inputs.length, 2 * N);
    assert.equal(new Set(items.map((item) => item.id)).size, items.length, 'every id once');
    const next = await client.responses.create({ model: 'mock', input: 'last', previous_response_id: previous });
    assert.ok(next.usage!.input_tokens > (2 * N * TURN.length) / 8, `input tokens ${next.usage!.input_tokens}`);
    // An item the list shows resolves as a reference.
    const referenced = await client.responses.create({ model: 'mock', input: [{ type: 'item_reference', id: inputs[0]!.id }] });
    assert.equal(referenced.status, 'completed');
  });

  // Seen failing before the fix: a continuation left the TTL of the responses before it as it was.
  it('a continuation restarts the TTL of the responses it links back to', async () => {
    const client = as(KEYS.CHAIN_KEY);
    const first = await client.responses.create({ model: 'mock', input: 'first' });
    const second = await client.responses.create({ model: 'mock', input: 'second', previous_response_id: first.id });
    await probe.expire(recordKey('chain', first.id), 5);
    await probe.expire(recordKey('chain', second.id), 5);
    const third = await client.responses.create({ model: 'mock', input: 'third', previous_response_id: second.id });
    for (const id of [first.id, second.id, third.id]) {
      const ttl = await probe.ttl(recordKey('chain', id));
      assert.ok(ttl > TTL - 10, `${id}: ttl ${ttl}`);
    }
  });

  it('a chain begun before the upgrade (a record holding its whole conversation) is continued', async () => {
    const client = as(KEYS.CHAIN_KEY);
    const first = await client.responses.create({ model: 'mock', input: 'My name is Zed.' });
    // As the gateway stored every response before links: the whole conversation as chat messages and items, `{` first.
    const legacy = {
      response: first,
      messages: [
        { role: 'user', content: 'Earlier: I live in Oslo.' },
        { role: 'assistant', content: 'Noted.' },
        { role: 'user', content: 'My name is Zed.' },
        { role: 'assistant', content: first.output_text },
      ],
      items: [
        {
          id: 'msg_client_1',
          type: 'message',
          role: 'user',
          status: 'completed',
          content: [{ type: 'input_text', text: 'Earlier: I live in Oslo.' }],
        },
        {
          id: 'msg_client_2',
          type: 'message',
          role: 'assistant',
          status: 'completed',
          content: [{ type: 'output_text', text: 'Noted.', annotations: [] }],
        },
        {
          id: 'msg_client_3',
          type: 'message',
          role: 'user',
          status: 'completed',
          content: [{ type: 'input_text', text: 'My name is Zed.' }],
        },
      ],
    };
    await probe.set(recordKey('chain', first.id), JSON.stringify(legacy), 'EX', TTL);
    const next = await client.responses.create({ model: 'mock', input: 'Where do I live?', previous_response_id: first.id });
    const alone = await client.responses.create({ model: 'mock', input: 'Where do I live?', store: false });
    assert.ok(next.usage!.input_tokens > alone.usage!.input_tokens + 10, 'the earlier messages were sent');
    const then = await client.responses.create({ model: 'mock', input: 'Again?', previous_response_id: next.id });
    const items = [];
    for await (const item of client.responses.inputItems.list(then.id, { order: 'asc' })) items.push(item);
    const texts = items.map((item) => item.type === 'message' && item.content.map((part) => ('text' in part ? part.text : '')).join(''));
    assert.deepEqual(texts, [
      'Earlier: I live in Oslo.',
      'Noted.',
      'My name is Zed.',
      first.output_text,
      'Where do I live?',
      next.output_text,
      'Again?',
    ]);
    assert.deepEqual(
      items.slice(0, 3).map((item) => item.id),
      ['msg_client_1', 'msg_client_2', 'msg_client_3'],
    );
  });

  // Seen failing before the fix: every one of the six 300 KB inputs was stored (no header, no bound).
  it('a key past tenantMaxMemoryMb is served but not stored, and says so; other keys are not affected', async () => {
    const big = 'x'.repeat(300 * 1024);
    const stored: string[] = [];
    const header: (string | null)[] = [];
    for (let i = 0; i < 6; i++) {
      const { data, response } = await as(KEYS.FULL_KEY)
        .responses.create({ model: 'mock', input: `${i} ${big}` })
        .withResponse();
      assert.equal(data.status, 'completed');
      header.push(response.headers.get('x-gateway-response-stored'));
      stored.push(data.id);
    }
    // A record keeps its input once, ~300 KB: three fit in 1 MiB.
    const kept = header.indexOf('false');
    assert.ok(kept >= 2 && kept <= 4, `kept ${kept}`);
    assert.deepEqual(header, [...Array(kept).fill('true'), ...Array(6 - kept).fill('false')]);
    const held = Number(await probe.get('gw:resp:{full}:~bytes'));
    assert.ok(held <= 1024 * 1024 && held > 1024 * 1024 - held / kept, `${held} B held`);
    assert.equal(await probe.exists(recordKey('full', stored[kept]!)), 0);
    assert.equal((await apiError(as(KEYS.FULL_KEY).responses.retrieve(stored[kept]!))).status, 404);
    const err = await apiError(as(KEYS.FULL_KEY).responses.create({ model: 'mock', input: 'x', previous_response_id: stored[kept]! }));
    assert.equal(err.code, 'previous_response_not_found');

    // A stream says it on its last event, its headers being gone by then.
    const stream = await as(KEYS.FULL_KEY).responses.create({ model: 'mock', input: `s ${big}`, stream: true });
    let last: Record<string, unknown> | undefined;
    for await (const event of stream) last = event as unknown as Record<string, unknown>;
    assert.deepEqual([last?.type, last?.gateway_stored], ['response.completed', false]);

    // Another key stores as before; a deleted response gives its room back.
    const other = await as(KEYS.OTHER_KEY).responses.create({ model: 'mock', input: big }).withResponse();
    assert.equal(other.response.headers.get('x-gateway-response-stored'), 'true');
    await as(KEYS.FULL_KEY).responses.delete(stored[0]!);
    const again = await as(KEYS.FULL_KEY)
      .responses.create({ model: 'mock', input: `again ${big}` })
      .withResponse();
    assert.equal(again.response.headers.get('x-gateway-response-stored'), 'true');
  });
});
