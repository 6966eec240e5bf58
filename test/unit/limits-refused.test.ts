import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { Redis } from 'ioredis';
import type { GatewayConfig } from '../../libs/config/src';
import { connectRedis, type RedisClient } from '../../libs/redis/src/redis.service';
import { RedisAdmissionStore } from '../../libs/security/src/admission-store';
import { assertExactLimits, limitedRequest, LimitTally } from '../support/limit-requests';
import { RedisServer } from '../support/redis-server';

const REDIS_SERVER = process.env.TEST_REDIS_SERVER;

/**
 * What Redis can be while a wave's calls reach it: writable, full (maxmemory under noeviction: every write
 * answers OOM), or a read-only replica (a failover: READONLY), of a master it cannot reach, so it keeps its data.
 */
const STATES = ['writable', 'full', 'replica'] as const;
type State = (typeof STATES)[number];

const request = limitedRequest(1);
const scenario = fc.array(
  fc.record({
    /** Redis' state when the wave is sent, and the one it is put in while the wave's calls are on their way. */
    before: fc.constantFrom(...STATES),
    during: fc.constantFrom(...STATES),
    wave: fc.array(request, { minLength: 1, maxLength: 6 }),
    /** The part of the requests in flight that finishes in the same turn as the wave's admissions (rounded up). */
    finish: fc.double({ min: 0, max: 1, noNaN: true }),
  }),
  { minLength: 2, maxLength: 5 },
);
type Scenario = typeof scenario extends fc.Arbitrary<infer T> ? T : never;
type Request = Scenario[number]['wave'][number];

describe(
  'limits while Redis refuses writes (fast-check, fixed seed)',
  { skip: !REDIS_SERVER && 'TEST_REDIS_SERVER unset (run npm test)' },
  () => {
    let redis: RedisServer;
    let admin: Redis;
    let client: RedisClient;
    before(async () => {
      redis = await RedisServer.start(REDIS_SERVER!);
      admin = new Redis(redis.url);
      client = connectRedis({ redisUrl: redis.url, redis: { cluster: false } } as GatewayConfig);
      client.on('error', () => undefined);
      if (client.status !== 'ready') await new Promise((resolve) => client.once('ready', resolve));
    });
    after(async () => {
      client?.disconnect();
      admin?.disconnect();
      await redis?.stop();
    });

    /** Redis as `state` says. Port 1: a master nobody serves, so the replica never syncs (and never drops its data). */
    const put = async (state: State) => {
      await admin.config('SET', 'maxmemory', state === 'full' ? '1' : '0');
      if (state === 'replica') await admin.replicaof('127.0.0.1', 1);
      else await admin.replicaof('NO', 'ONE');
    };
    /** Admissions refused by a full or read-only Redis, and settlements sent to one, over all runs: both must be many. */
    let refusedAdmissions = 0;
    let refusedSettlements = 0;

    async function run(s: Scenario) {
      const keyId = `refused-${randomBytes(6).toString('hex')}`;
      const store = new RedisAdmissionStore(client);
      const refusals = (error: Error) => /^(OOM|READONLY) /.test(error.message);
      const tally = new LimitTally(keyId, { rpm: 1_000, tpm: 100_000, budgetUnits: 100_000 });
      const inFlight: { q: Request; member: string }[] = [];
      const settling: Promise<void>[] = [];
      const admit = async (q: Request) => {
        const { input, member } = tally.admission(q);
        try {
          if ((await store.admit(input)).refused) return;
          tally.admitted();
          inFlight.push({ q, member });
        } catch (error) {
          // Refused with its call: counted nothing (the request is answered by the failure policy, not settled).
          assert.ok(refusals(error as Error), (error as Error).message);
          refusedAdmissions += 1;
        }
      };
      const settle = ({ q, member }: { q: Request; member: string }) => store.settle(tally.settlement(q, member));
      for (const { before, during, wave, finish } of s) {
        await put(before);
        // Admissions and settlements of one turn share script calls; the state changes on another connection
        // meanwhile, so it lands before, between or after them.
        const done = inFlight.splice(0, Math.ceil(inFlight.length * finish));
        if (before !== 'writable') refusedSettlements += done.length;
        const admissions = wave.map(admit);
        settling.push(...done.map(settle));
        const changed = put(during);
        await Promise.all(admissions);
        await changed;
      }
      // Writable again: what was refused is sent again, once.
      await put('writable');
      settling.push(...inFlight.splice(0).map(settle));
      const settled = await Promise.allSettled(settling);
      await store.close();
      await assertExactLimits(admin, keyId, settled, tally.expected);
    }

    it('a settlement refused by a full or read-only Redis is sent again once it takes writes, and counted once', async () => {
      await fc.assert(fc.asyncProperty(scenario, run), { seed: 20261207, numRuns: 20, endOnFailure: true });
      assert.ok(
        refusedAdmissions >= 10 && refusedSettlements >= 10,
        `${refusedAdmissions} admissions, ${refusedSettlements} settlements refused`,
      );
    });
  },
);
