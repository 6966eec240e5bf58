import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Logger } from '@nestjs/common';
import { Cluster, Redis } from 'ioredis';
import { parseConfig } from '@gateway/config';
import { RedisService } from '@gateway/redis';
import { eventually } from '../support/eventually';

const CLUSTER_URL = process.env.TEST_REDIS_CLUSTER_URL;

/** The gateway's Redis client for `url` (one node, or several comma-separated) with REDIS_CLUSTER=true. */
const connect = (url: string) =>
  new RedisService(parseConfig({ providers: [{ name: 'mock', type: 'mock' }], models: [] }, { REDIS_URL: url, REDIS_CLUSTER: 'true' }));

/** Found by an independent check of the gateway on a Redis Cluster (3 masters, started by npm test). */
describe('the Redis Cluster client', { skip: !CLUSTER_URL && 'TEST_REDIS_CLUSTER_URL unset (run npm test)' }, () => {
  const { port, password } = new URL(CLUSTER_URL!);
  let redis: RedisService;
  let admin: Cluster;
  /** A plain connection to the master on `nodePort`, for the commands a test sends that node alone. */
  const node = (nodePort: number) => new Redis({ host: '127.0.0.1', port: nodePort, password, lazyConnect: false });
  const masterPorts = () => admin.nodes('master').map((n) => n.options.port!);

  before(async () => {
    Logger.overrideLogger(false);
    admin = new Cluster([{ host: '127.0.0.1', port: Number(port) }], { redisOptions: { password } });
    await new Promise((ready) => admin.once('ready', ready));
    redis = connect(CLUSTER_URL!);
    assert.ok(await eventually(() => redis.ping(1_000)), 'connected');
  });
  after(async () => {
    await redis?.onApplicationShutdown();
    admin?.disconnect();
  });

  // A gateway whose one REDIS_URL node was down never used the healthy rest of the cluster.
  it('finds the cluster through a later seed node while the first is down', async () => {
    const down = `redis://:${password}@127.0.0.1:1`;
    const seeded = connect(`${down},${CLUSTER_URL}`);
    try {
      assert.ok(await eventually(() => seeded.ping(1_000)), 'connected through the second seed');
      assert.equal(await seeded.client!.set('seeded-check', '1'), 'OK');
    } finally {
      await seeded.onApplicationShutdown();
    }
  });

  // Every admission script declares a call record that does not exist yet: while its slot migrates,
  // Redis answers TRYAGAIN, and ioredis retried every 100 ms until the 500 ms command timeout, so each
  // request of that key waited ~550 ms before its limits failed open.
  it('gives up a script refused TRYAGAIN while its slot migrates at once, not at its timeout', async () => {
    const [kept, fresh] = ['{tryagain-check}:kept', '{tryagain-check}:fresh'];
    await redis.client!.set(kept, '1');
    const slot = Number(await admin.cluster('KEYSLOT', kept));
    const owners = await admin.cluster('SLOTS');
    const owner = owners.find(([from, to]) => from <= slot && slot <= to)![2];
    const targetPort = masterPorts().find((p) => p !== owner[1])!;
    const [source, target] = [node(owner[1]), node(targetPort)];
    const [sourceId, targetId] = await Promise.all([source.cluster('MYID'), target.cluster('MYID')]);
    try {
      await target.cluster('SETSLOT', slot, 'IMPORTING', sourceId as string);
      await source.cluster('SETSLOT', slot, 'MIGRATING', targetId as string);
      const refused = await redis.client!.eval("return redis.call('GET', KEYS[1])", 2, kept, fresh).then(
        () => undefined,
        (error: Error) => error.message,
      );
      // Retried at once (TRYAGAIN on the source, MOVED from the others) until ioredis' redirection
      // budget is used up: not "Command timed out" after the whole command timeout.
      assert.match(refused ?? 'answered', /^Too many Cluster redirections/);
    } finally {
      await Promise.all([source.cluster('SETSLOT', slot, 'STABLE'), target.cluster('SETSLOT', slot, 'STABLE')]);
      source.disconnect();
      target.disconnect();
      await redis.client!.del(kept);
    }
  });

  // The watchdog replaces a silent node connection by disconnecting it; a cluster's node connection does
  // not reconnect (ioredis' pool drops the node), so the pool lacked that slot owner until a MOVED, and
  // a PUBLISH to every node skipped it.
  it('gets a new connection to a node whose connection the watchdog dropped', async () => {
    const paused = masterPorts()[0];
    const connectionTo = () => (redis.client as Cluster).nodes('all').find((n) => n.options.port === paused);
    const before = connectionTo();
    assert.ok(before, 'the pool holds the node');
    const pauser = node(paused);
    try {
      // Every command waits, the cluster bus runs on (no failover): the watchdog's PINGs go unanswered.
      await pauser.client('PAUSE', 4_000, 'ALL');
      assert.ok(await eventually(async () => before.status === 'end'), 'the watchdog dropped the silent connection');
      assert.ok(
        await eventually(async () => {
          const now = connectionTo();
          return now !== undefined && now !== before && (await now.ping().catch(() => '')) === 'PONG';
        }),
        'a new connection to the node is in the pool',
      );
    } finally {
      pauser.disconnect();
    }
  });
});
