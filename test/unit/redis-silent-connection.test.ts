import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Logger } from '@nestjs/common';
import { parseConfig } from '@gateway/config';
import { RedisService } from '@gateway/redis';
import { eventually } from '../support/eventually';
import { FaultProxy } from '../support/fault-proxy';

const REDIS_URL = process.env.TEST_REDIS_URL;

// Found by an independent check: a connection that went silent without closing (a lost NAT entry,
// an address moved in a failover) was kept, every command waiting out its timeout (limits unchecked,
// cache off), while a new connection to the same Redis would have worked.
describe('a silent Redis connection', { skip: !REDIS_URL && 'TEST_REDIS_URL unset (run npm test)' }, () => {
  let proxy: FaultProxy;
  let redis: RedisService;
  before(async () => {
    Logger.overrideLogger(false);
    proxy = await FaultProxy.start(Number(new URL(REDIS_URL!).port));
    redis = new RedisService(parseConfig({ providers: [{ name: 'mock', type: 'mock' }], models: [] }, { REDIS_URL: proxy.url }));
    assert.ok(await eventually(() => redis.ping(1_000)), 'connected through the proxy');
  });
  after(async () => {
    await redis?.onApplicationShutdown();
    await proxy?.stop();
  });

  it('is replaced by a new one', async () => {
    proxy.hold(); // the open connection passes nothing any more; a new one would
    assert.equal(await redis.ping(1_000), false, 'the held connection does not answer');
    assert.ok(await eventually(() => redis.ping(1_000)), 'a new connection answers');
  });
});
