import 'reflect-metadata';
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { hasExpired, type KeyRecord } from '../../libs/security/src/key-record';
import { hashKey } from '../../libs/security/src/key-store.service';
import { keyStoreOn } from '../support/key-store';

// Raised by a rolling-upgrade check (upgrade24 D1, D2, D3, D5): a replica of the last release (bc224d9) shares the
// Redis for minutes during a `helm upgrade`, and alone after a rollback. It cannot be changed, so what this release
// writes must make it fail closed, and what it announces must be enough for this release's replicas.

const REDIS_URL = process.env.TEST_REDIS_URL;
const CHANNEL = 'gateway:keys:changed';

/** What bc224d9 does with the record under a presented secret's hash: the key itself, refused if revoked or expired. */
function acceptedByEarlierRelease(raw: string | null): boolean {
  const record = raw ? (JSON.parse(raw) as KeyRecord) : undefined;
  return !!record && !record.revoked && !hasExpired(record, Date.now());
}

describe(
  'grace rotations with replicas of the earlier release on the same Redis',
  { skip: !REDIS_URL && 'TEST_REDIS_URL unset (run npm test)' },
  () => {
    // A long key cache: a record dropped in these tests was dropped by an announcement, never by its age.
    const replica = keyStoreOn(REDIS_URL!, { keyCacheMs: 600_000 });
    const { store } = replica;
    /** The earlier release's replica: plain reads, writes and announcements, as bc224d9 makes them. */
    const old = new Redis(REDIS_URL!);
    before(() => replica.start());
    after(async () => {
      old.disconnect();
      await replica.stop();
    });

    /**
     * Resolves once the store's subscriber has handled every announcement sent so far: a marker published after
     * them reaches its connection after them, and its handler ran before this one, added after it, is called.
     * Published again until heard: one sent before the subscriber has subscribed reaches nobody.
     */
    async function drained(): Promise<void> {
      const subscriber = (store as unknown as { subscriber: { connection: Redis } }).subscriber.connection;
      const marker = `drain-${Math.random()}`;
      let heard = false;
      const onMessage = (_channel: string, message: string) => {
        heard ||= message === marker;
      };
      subscriber.on('message', onMessage);
      try {
        while (!heard) {
          await old.publish(CHANNEL, marker);
          await new Promise((r) => setTimeout(r, 20));
        }
      } finally {
        subscriber.off('message', onMessage);
      }
    }

    /** A key rotated with a grace period on this release; the store has the old secret cached, as in traffic. */
    async function inGrace(name: string) {
      const { key: first, record } = await store.create({ name });
      const { key: second } = await store.rotate(record.id, () => undefined, 600_000);
      await drained();
      const graced = await store.lookup(first);
      assert.deepEqual([graced?.id, graced?.revoked, typeof graced?.graceUntil], [record.id, undefined, 'string'], 'in its grace here');
      assert.ok(!(store.lookup(first) instanceof Promise), 'the old secret is cached');
      return { first, second, id: record.id };
    }

    it('the old secret is refused by an earlier-release reader from the rotation on, and served by this release as the key now', async () => {
      const { first, second, id } = await inGrace('marker');
      assert.equal(acceptedByEarlierRelease(await old.get(`gateway:key:${hashKey(first)}`)), false, 'the marker reads as refused');
      assert.equal(acceptedByEarlierRelease(await old.get(`gateway:key:${hashKey(second)}`)), true, 'the new secret works there');
      await store.update(id, (r) => ({ ...r, rpm: 7 }));
      assert.equal((await store.lookup(first))?.rpm, 7, 'here the old secret follows a PATCH');
    });

    it('the current record holds no link an earlier release would echo, nor a previousSecretUntil its own rotation would keep', async () => {
      const { second, id } = await inGrace('fields');
      const hash = hashKey(second);
      const raw = JSON.parse((await old.get(`gateway:key:${hash}`))!) as Record<string, unknown>;
      assert.deepEqual([raw.previousHash, raw.previousSecretUntil], [undefined, undefined], JSON.stringify(raw));
      assert.equal(typeof (await store.get(id))?.previousSecretUntil, 'string', 'this release shows the grace');
      // The earlier release's rotation, as bc224d9 makes it: the record moved as it is, a revoked marker, the id moved.
      const third = hashKey('third-secret-of-' + id);
      await old.set(`gateway:key:${third}`, JSON.stringify({ ...raw, rotatedAt: new Date().toISOString() }));
      await old.set(`gateway:key:${hash}`, JSON.stringify({ ...raw, revoked: true, rotatedTo: third }));
      await old.set(`gateway:keyid:${id}`, third);
      assert.equal((await store.get(id))?.previousSecretUntil, undefined, 'the secret before it is dead: no grace shown');
    });

    const revoke = (record: Record<string, unknown>) => ({ ...record, revoked: true });
    for (const [change, write, announced] of [
      ['revocation announced by the current hash', revoke, 'hash'],
      ['revocation announced by key id', revoke, 'id'],
      [
        'PATCH announced by the current hash',
        (record: Record<string, unknown>) => ({ ...record, expiresAt: new Date(Date.now() - 1000).toISOString() }),
        'hash',
      ],
    ] as const) {
      it(`a ${change} alone, as the earlier release announces it, drops the old secret's cached record`, async () => {
        const { first, second, id } = await inGrace(change);
        const hash = hashKey(second);
        await old.set(`gateway:key:${hash}`, JSON.stringify(write(JSON.parse((await old.get(`gateway:key:${hash}`))!))));
        await old.publish(CHANNEL, announced === 'hash' ? hash : `revoked:${id}`);
        await drained();
        const now = await store.lookup(first);
        assert.ok(now && (now.revoked || hasExpired(now, Date.now())), `the old secret is refused at once: ${JSON.stringify(now)}`);
      });
    }
  },
);
