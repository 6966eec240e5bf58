import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import OpenAI from 'openai';
import { apiError } from '../support/chat';
import { FakeOpenAI } from '../support/fake-openai';
import { configWith, GatewayProcess } from '../support/gateway';

const REDIS_URL = process.env.TEST_REDIS_URL;
/** The tenant of requests without a gateway key (none is configured). */
const TENANT = 'anonymous';

/**
 * Found as a doubtful point by an independent check: a response a later one continued was only hidden by its DELETE,
 * and nothing deleted it when its continuations were deleted too, so deleting every response of a conversation left
 * all but one stored (prompts and answers included) until the TTL. Now each record counts the records that continue
 * it, and the last one's delete takes the hidden ones it held with it. A chain of five with a fork at the third,
 * deleted in several orders through the official SDK: after each delete the deleted ones are gone and the others'
 * conversations whole; after the last, the tenant holds nothing (Redis read directly).
 */
const STORES: { name: string; url?: string; skip?: string | false }[] = [
  { name: 'in process' },
  { name: 'Redis', url: REDIS_URL, skip: !REDIS_URL && 'TEST_REDIS_URL unset' },
  // Not on the shared Redis Cluster: redis-cluster.e2e, which runs beside this file (files run two at a time, in
  // name order), takes that cluster down and pauses its nodes on purpose, and this file's requests then found no
  // store (3 of 3 CI runs). The scripts run on a Cluster in test/unit/responses-chain-erase.test.ts.
];

/** r1 → r2 → r3 → r4 → r5, and f continuing r3 too (created before r4). */
const TURNS = [
  { name: 'r1', after: undefined },
  { name: 'r2', after: 'r1' },
  { name: 'r3', after: 'r2' },
  { name: 'f', after: 'r3' },
  { name: 'r4', after: 'r3' },
  { name: 'r5', after: 'r4' },
] as const;
type Name = (typeof TURNS)[number]['name'];

const ORDERS: Record<string, Name[]> = {
  'oldest first': ['r1', 'r2', 'r3', 'f', 'r4', 'r5'],
  'newest first': ['r5', 'r4', 'f', 'r3', 'r2', 'r1'],
  'fork first': ['f', 'r1', 'r2', 'r3', 'r4', 'r5'],
  'from the middle': ['r3', 'r5', 'r1', 'f', 'r2', 'r4'],
};

/** The inputs of a response's conversation, its own last. */
const path = (name: Name): string[] => {
  const turn = TURNS.find((t) => t.name === name)!;
  return [...(turn.after ? path(turn.after) : []), `turn ${name}`];
};

for (const store of STORES) {
  describe(`deleting every response of a conversation deletes its data (${store.name})`, { skip: store.skip }, () => {
    const upstream = new FakeOpenAI();
    const prefix = `erase-${randomBytes(4).toString('hex')}:`;
    const tenantKey = (id: string) => `${prefix}{${TENANT}}:${id}`;
    let redis: Redis | undefined;
    let gateway: GatewayProcess;
    let client: OpenAI;

    before(async () => {
      const url = await upstream.start();
      if (store.url) redis = new Redis(store.url);
      gateway = await GatewayProcess.start(
        configWith({
          providers: [{ name: 'fake', type: 'openai-compatible', baseUrl: `${url}/v1`, apiKeyEnv: 'FAKE_KEY' }],
          models: [{ name: 'echo', deployments: [{ provider: 'fake', model: 'ok' }] }],
          responses: { keyPrefix: prefix },
        }),
        {
          env: {
            FAKE_KEY: 'sk-fake',
            ...(store.url && { REDIS_URL: store.url }),
          },
        },
      );
      client = gateway.client();
    });
    after(async () => {
      await gateway?.stop();
      await upstream.stop();
      redis?.disconnect();
    });

    /** A stored response is shown and its conversation whole: its input items, and what a continuation of it sends upstream. */
    const assertWhole = async (name: Name, id: string) => {
      assert.equal((await client.responses.retrieve(id)).id, id, `GET ${name}`);
      const items = await client.responses.inputItems.list(id, { order: 'asc', limit: 100 });
      const said = (role: string) =>
        items.data.flatMap((item) =>
          item.type === 'message' && item.role === role ? item.content.map((part) => ('text' in part ? part.text : '')) : [],
        );
      assert.deepEqual(said('user'), path(name), `${name}'s input items`);
      assert.equal(said('assistant').length, path(name).length - 1, `${name}'s input items`);
      const probe = await client.responses.create({ model: 'echo', input: 'and now?', previous_response_id: id });
      const sent = (upstream.last().body.messages as { role: string; content: string }[]).filter((m) => m.role === 'user');
      assert.deepEqual(
        sent.map((m) => m.content),
        [...path(name), 'and now?'],
        `a continuation of ${name} sends its conversation`,
      );
      await client.responses.delete(probe.id);
    };

    const assertGone = async (name: Name, id: string) => {
      assert.equal((await apiError(client.responses.retrieve(id))).status, 404, `GET ${name}`);
      assert.equal((await apiError(client.responses.inputItems.list(id))).status, 404, `input_items of ${name}`);
      const continued = await apiError(client.responses.create({ model: 'echo', input: 'x', previous_response_id: id }));
      assert.equal(continued.code, 'previous_response_not_found', `continuing ${name}`);
      assert.equal((await apiError(client.responses.delete(id))).status, 404, `DELETE ${name} again`);
    };

    /** What the tenant holds in Redis: its records among `ids`, and its counts. */
    const held = async (ids: string[]) => {
      const records = await Promise.all(ids.map((id) => redis!.exists(tenantKey(id))));
      return {
        records: records.reduce((a, b) => a + b, 0),
        bytes: Number((await redis!.get(tenantKey('~bytes'))) ?? 0),
        sizes: await redis!.hlen(tenantKey('~sizes')),
        expiries: await redis!.zcard(tenantKey('~expiries')),
        continuations: await redis!.hlen(tenantKey('~children')),
      };
    };

    for (const [order, deletes] of Object.entries(ORDERS)) {
      it(`deleted ${order}: nothing left at the end, every conversation still held whole until then`, async () => {
        const ids = {} as Record<Name, string>;
        for (const turn of TURNS) {
          const previous_response_id = turn.after && ids[turn.after];
          ids[turn.name] = (await client.responses.create({ model: 'echo', input: `turn ${turn.name}`, previous_response_id })).id;
        }
        if (redis) assert.equal((await held(Object.values(ids))).records, TURNS.length);
        const deleted = new Set<Name>();
        for (const name of deletes) {
          await client.responses.delete(ids[name]);
          deleted.add(name);
          for (const turn of TURNS) {
            if (deleted.has(turn.name)) await assertGone(turn.name, ids[turn.name]);
            else await assertWhole(turn.name, ids[turn.name]);
          }
        }
        if (redis) assert.deepEqual(await held(Object.values(ids)), { records: 0, bytes: 0, sizes: 0, expiries: 0, continuations: 0 });
      });
    }
  });
}
