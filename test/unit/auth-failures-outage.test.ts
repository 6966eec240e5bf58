import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { parseConfig } from '@gateway/config';
import { MetricsService, SpendService } from '@gateway/metrics';
import { RedisService } from '../../libs/redis/src/redis.service';
import { LimitsService } from '../../libs/security/src/limits.service';
import { eventually } from '../support/eventually';
import { RedisServer } from '../support/redis-server';

const SERVER = process.env.TEST_REDIS_SERVER;
const LIMIT = 3;

// redisauth34: with Redis down, counting a failed authentication failed and was let through (one warning): an
// address guessed keys without limit, the master key on the admin API above all, which is checked in process.
describe(
  'failed authentications while Redis is down (a real redis-server stopped mid-test)',
  { skip: !SERVER && 'TEST_REDIS_SERVER unset (run npm test)' },
  () => {
    let server: RedisServer;
    let redis: RedisService;
    let limits: LimitsService;
    before(async () => {
      server = await RedisServer.start(SERVER!);
      const config = parseConfig(
        {
          providers: [{ name: 'mock', type: 'mock' }],
          models: [{ name: 'm', deployments: [{ provider: 'mock', model: 'm' }] }],
          security: { ipFailuresPerMinute: LIMIT },
        },
        { REDIS_URL: server.url },
      );
      redis = new RedisService(config);
      limits = new LimitsService(config, redis, new MetricsService(), new SpendService(redis));
      await redis.onApplicationBootstrap();
    });
    after(async () => {
      await redis?.onApplicationShutdown();
      await server?.stop();
    });

    it('are held per address by this replica alone, as RPM and TPM are: past the limit, 429 (and the admin API blocks)', async () => {
      await limits.failedAuth('192.0.2.1', 'v1'); // counted in Redis
      assert.equal(await redis.client!.get('gateway:authfail:v1:{192.0.2.1}'), '1');
      await server.stop();
      assert.ok(await eventually(async () => redis.client!.status !== 'ready'), 'the gateway saw Redis go');
      for (const [ip, plane] of [
        ['192.0.2.2', 'v1'],
        ['192.0.2.3', 'admin'],
      ] as const) {
        for (let i = 0; i < LIMIT; i++) await limits.failedAuth(ip, plane);
        await assert.rejects(limits.failedAuth(ip, plane), { status: 429, code: 'rate_limit_exceeded' }, `${plane}: guess ${LIMIT + 1}`);
      }
      assert.throws(() => limits.checkBlocked('192.0.2.3'), { status: 429 }, 'the admin API refuses the address, the master key too');
      assert.doesNotThrow(() => limits.checkBlocked('192.0.2.2'), '/v1 blocks no address');
    });
  },
);
