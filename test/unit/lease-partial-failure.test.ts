import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { utcDay } from '../../libs/metrics/src/spend.service';
import { redisRefusal } from '../../libs/redis/src/redis-refusal';
import { RedisAdmissionStore } from '../../libs/security/src/admission-store';
import { LeasedAdmissionStore } from '../../libs/security/src/lease-store';
import { limitKeys } from '../../libs/security/src/limit-keys';
import { UNIT } from '../support/limit-requests';
import { RedisServer } from '../support/redis-server';

const SERVER = process.env.TEST_REDIS_SERVER;

// redisauth34: a lease call is kept to be sent again when it fails, as its answer may have been lost, and its record
// makes a second run answer what the first did. But the record was written with the answer, at the end: a call Redis
// refused part-way (an ACL without HSET, the script's last write; Redis keeps what a script wrote before it failed)
// left none, and sent again it wrote its spend and counted its lease a second time.
describe(
  'a lease call Redis refuses part-way (a real redis-server, an ACL user without HSET)',
  { skip: !SERVER && 'TEST_REDIS_SERVER unset (run npm test)' },
  () => {
    let server: RedisServer;
    let admin: Redis;
    let client: Redis;
    before(async () => {
      server = await RedisServer.start(SERVER!);
      admin = new Redis(server.url);
      await admin.call('ACL', 'SETUSER', 'nohset', 'on', '>nohset-pw', '~*', '&*', '+@all', '-hset');
      client = new Redis(`redis://nohset:nohset-pw@127.0.0.1:${server.port}`);
    });
    after(async () => {
      client?.disconnect();
      admin?.disconnect();
      await server?.stop();
    });

    it('sent again, it does nothing more: its spend is written once, its lease counted once', async () => {
      const keyId = `partial-${randomBytes(4).toString('hex')}`;
      const store = new LeasedAdmissionStore(client, new RedisAdmissionStore(client), {
        replica: randomBytes(6).toString('hex'),
        leaseMs: 600_000,
        holdLapseMs: 600_000,
      });
      const spent = async () => Number((await admin.hget(`gateway:{${keyId}}:spend:${utcDay()}`, '_total')) ?? 0);
      const counted = async () => Number((await admin.get(limitKeys(keyId).rpm)) ?? 0);
      await store.settle({ keyId, spend: { model: 'm', usd: 3 * UNIT } }); // owed: written by the next lease call
      // The lease call writes the spend, counts a lease in the RPM window, then its HSET is refused (Redis 7 words a
      // NOPERM inside a script as an ERR).
      const error = await store.admit({ keyId, windowMs: 60_000, rpm: 1_000, tokens: 0 }).then(
        () => assert.fail('admitted'),
        (refused: unknown) => refused,
      );
      assert.match(String(error), /The user executing the script can't run this command/);
      assert.equal(redisRefusal(error)?.kind, 'misconfigured', 'told as the ACL it is, not as a script failing');
      assert.equal(await spent(), 3 * UNIT, 'the refused call wrote the spend');
      const leased = await counted();
      assert.ok(leased > 0, 'and counted its lease');
      await store.close(); // its last sync sends the failed call again first
      assert.equal(await spent(), 3 * UNIT, 'the spend written once');
      assert.equal(await counted(), leased, 'the lease counted once');
    });
  },
);
