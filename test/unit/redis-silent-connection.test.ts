import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Logger } from '@nestjs/common';
import { parseConfig } from '@gateway/config';
import { Redis } from 'ioredis';
import { RedisService, Subscription } from '@gateway/redis';
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

// replica29 defect 1: a subscriber connection lost and re-subscribed by ioredis without a word, its replica kept
// what it had cached on the strength of announcements it could no longer hear.
describe('a subscriber connection', { skip: !REDIS_URL && 'TEST_REDIS_URL unset (run npm test)' }, () => {
  const CHANNEL = `test:subscription:${process.pid}`;
  let proxy: FaultProxy;
  let redis: RedisService;
  let direct: Redis;
  const heard: string[] = [];
  let subscriptions = 0;
  let subscription: Subscription;
  before(async () => {
    Logger.overrideLogger(false);
    proxy = await FaultProxy.start(Number(new URL(REDIS_URL!).port));
    redis = new RedisService(parseConfig({ providers: [{ name: 'mock', type: 'mock' }], models: [] }, { REDIS_URL: proxy.url }));
    direct = new Redis(REDIS_URL!);
    subscription = redis.subscribe(CHANNEL, { onMessage: (message) => heard.push(message), onSubscribed: () => subscriptions++ })!;
    assert.ok(await eventually(async () => subscription.live), 'subscribed');
    assert.equal(subscriptions, 1);
  });
  after(async () => {
    proxy?.release();
    await redis?.onApplicationShutdown();
    direct?.disconnect();
    await proxy?.stop();
  });

  it('cut, subscribes again on a new connection and says so', async () => {
    proxy.sever(false); // this process' connections only (CLIENT KILL TYPE pubsub would cut other tests' too)
    assert.ok(await eventually(async () => subscriptions === 2), 'subscribed again, and told');
    assert.ok(subscription.live);
    await direct.publish(CHANNEL, 'after the kill');
    assert.ok(await eventually(async () => heard.includes('after the kill')), 'hears the channel again');
  });

  it('gone silent, is replaced by the watchdog, subscribes again and says so', async () => {
    const before = subscriptions;
    proxy.hold(); // the open connections pass nothing any more; new ones would
    assert.ok(await eventually(async () => subscriptions === before + 1), 'subscribed again, and told');
    assert.ok(subscription.live);
    await direct.publish(CHANNEL, 'after the silence');
    assert.ok(await eventually(async () => heard.includes('after the silence')), 'hears the channel again');
  });
});

// recheck30 D3: a SUBSCRIBE Redis refuses (an ACL without the channel) was tried again at the reconnect pace, and
// each replica opened about 1.5 authenticated connections a second for as long as the ACL stayed.
describe('a subscription Redis refuses', { skip: !REDIS_URL && 'TEST_REDIS_URL unset (run npm test)' }, () => {
  const USER = `no-channels-${process.pid}`;
  let admin: Redis;
  let subscription: Subscription | undefined;
  before(async () => {
    admin = new Redis(REDIS_URL!);
    await admin.acl('SETUSER', USER, 'on', '>no-channels-password', '~*', '+@all', 'resetchannels');
  });
  after(async () => {
    subscription?.close();
    await admin.acl('DELUSER', USER);
    admin.disconnect();
  });

  it('is warned once and tried again after a long pause, not at the reconnect pace', async () => {
    const url = new URL(REDIS_URL!);
    url.username = USER;
    url.password = 'no-channels-password';
    let opened = 0;
    const warnings: string[] = [];
    subscription = new Subscription(
      'test:refused',
      () => (opened++, new Redis(url.toString(), { retryStrategy: () => null })),
      () => 20, // the reconnect pace: 50 tries in the second below
      { onMessage: () => undefined, onSubscribed: () => assert.fail('subscribed without the channel') },
      (message) => warnings.push(message),
      () => undefined,
    );
    assert.ok(await eventually(async () => warnings.length === 1), 'the refusal is warned');
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    assert.equal(opened, 1, 'one connection in the second after the refusal');
    assert.equal(warnings.length, 1);
    assert.equal(subscription.live, false);
  });
});
