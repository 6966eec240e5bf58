import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type Server, type Socket, connect } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { configWith, GatewayProcess } from '../support/gateway';
import { RedisServer } from '../support/redis-server';

const SERVER = process.env.TEST_REDIS_SERVER;
const REDIS_URL = process.env.TEST_REDIS_URL;

/** Starts with `env`, expecting exit 78 and one line, not JSON, matching `line`. */
async function refusedToStart(env: Record<string, string>, line: RegExp): Promise<void> {
  const gateway = await GatewayProcess.start(configWith(), { expectExit: true, env });
  if (gateway.exitCode === null) await gateway.stop();
  assert.equal(await gateway.waitForExit(), 78, gateway.rawOutput.join('\n'));
  const notJson = gateway.rawOutput.filter((l) => !l.startsWith('{'));
  assert.equal(notJson.length, 1, `one line, no stack trace:\n${gateway.rawOutput.join('\n')}`);
  assert.match(notJson[0], line);
}

/** A TCP proxy to `target` that refuses connections until `open()`: a Redis down when the gateway starts. */
async function lateProxy(target: URL): Promise<{ url: string; open(): void; close(): void }> {
  let open = false;
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    if (!open) return void client.destroy();
    const upstream = connect(Number(target.port), target.hostname);
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('error', () => undefined).on('close', () => (client.destroy(), upstream.destroy()));
    }
    client.pipe(upstream).pipe(client);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const url = new URL(target);
  url.port = String((server.address() as { port: number }).port);
  return {
    url: url.toString(),
    open: () => (open = true),
    close: () => {
      for (const s of sockets) s.destroy();
      server.close();
    },
  };
}

/**
 * REDIS_CLUSTER not matching the Redis REDIS_URL names (a move to a cluster rolled out with one replica's flag
 * forgotten, or the flag left on): the replica served, ready, with limits and budgets failing open (MOVED on most
 * keys, or no slot map at all), logging only "Redis unavailable" (change30 D3). It is now a config error: exit 78
 * when Redis answers at start-up, else /ready fails with the same line once Redis connects.
 */
describe(
  'REDIS_CLUSTER that does not match the server',
  { skip: (!SERVER || !REDIS_URL) && 'TEST_REDIS_SERVER or TEST_REDIS_URL unset (run npm test)' },
  () => {
    // A cluster-enabled node of its own, not the shared test Cluster, which redis-cluster.e2e (run beside this
    // file, in name order) takes down and pauses on purpose: INFO cluster is all the check reads.
    let node: RedisServer;
    let clusterUrl: string;
    before(async () => {
      node = await RedisServer.start(SERVER!, { cluster: true });
      clusterUrl = node.url;
    });
    after(() => node?.stop());

    it('a cluster node without REDIS_CLUSTER: exit 78 at start-up, naming REDIS_CLUSTER=true', async () => {
      await refusedToStart({ REDIS_URL: clusterUrl }, /^ai-gateway: REDIS_URL names a Redis Cluster node .*Set REDIS_CLUSTER=true/);
    });

    /**
     * recheck30b D4: the check read INFO cluster alone and refused a cluster of one shard, where no key is ever
     * MOVED and a plain client had worked (a managed cluster with one shard, Dragonfly's emulated cluster mode).
     */
    describe('the only shard of a cluster (every slot on one node), REDIS_CLUSTER unset', () => {
      let shard: RedisServer;
      let gateway: GatewayProcess | undefined;
      before(async () => {
        shard = await RedisServer.start(SERVER!, { cluster: true });
        const admin = new Redis(shard.url);
        await admin.call('CLUSTER', 'ADDSLOTSRANGE', '0', '16383');
        while (!/^cluster_state:ok/m.test(String(await admin.call('CLUSTER', 'INFO')))) await new Promise((r) => setTimeout(r, 50));
        admin.disconnect();
      });
      after(async () => {
        await gateway?.stop();
        await shard?.stop();
      });

      it('starts ready, warns to set REDIS_CLUSTER before resharding, and enforces limits through it', async () => {
        const master = 'master-key-for-the-sole-shard-test';
        gateway = await GatewayProcess.start(configWith(), { env: { REDIS_URL: shard.url, GATEWAY_MASTER_KEY: master } });
        assert.equal((await fetch(`${gateway.opsUrl}/ready`)).status, 200);
        const [warning] = await gateway.logged(/^REDIS_URL names the only shard of a Redis Cluster/);
        assert.equal(warning?.level, 40, 'a warning line');
        const created = await gateway.adminKeys(master, 'POST', '', { name: 'sole-shard', rpm: 2 });
        assert.equal(created.status, 201, JSON.stringify(created.body));
        const statuses: number[] = [];
        for (let i = 0; i < 3; i++) {
          const res = await fetch(`${gateway.url}/v1/chat/completions`, {
            method: 'POST',
            headers: { authorization: `Bearer ${created.body.key}`, 'content-type': 'application/json' },
            body: JSON.stringify({ model: 'mock-1', messages: [{ role: 'user', content: `hello ${i}` }] }),
          });
          statuses.push(res.status);
          await res.arrayBuffer();
        }
        assert.deepEqual(statuses, [200, 200, 429], 'keys and limits through the shard: rpm 2 admits two');
      });

      // recheck31b D1: once the cluster gained a shard (slots moved away), the slots there answered MOVED: limits
      // failed open, admin writes 500, /ready 200. The sole shard is asked again every 10 s.
      it('once the node no longer holds every slot, /ready fails with the cluster-mode error, which is logged', async () => {
        const admin = new Redis(shard.url);
        await admin.call('CLUSTER', 'DELSLOTSRANGE', '8192', '16383');
        admin.disconnect();
        const [line] = await gateway!.logged(/^REDIS_URL names a Redis Cluster node/);
        assert.equal(line?.level, 50, 'an error line');
        const ready = await fetch(`${gateway!.opsUrl}/ready`);
        assert.equal(ready.status, 503);
        assert.match(JSON.stringify(await ready.json()), /Set REDIS_CLUSTER=true/);
      });
    });

    it('REDIS_CLUSTER=true on a single Redis: exit 78 at start-up, saying to unset it', async () => {
      await refusedToStart(
        { REDIS_URL: REDIS_URL!, REDIS_CLUSTER: 'true' },
        /^ai-gateway: REDIS_CLUSTER=true .*not a cluster node.*Unset REDIS_CLUSTER/,
      );
    });

    // cluster34 D6: only REDIS_URL's first node was asked what it is; down, it hid the single Redis named next, and the
    // replica ran (limits failing open, /ready 200), logging only that Redis was unavailable.
    it('REDIS_CLUSTER=true, the first node named down and the next a single Redis: exit 78 the same', async () => {
      const down = new URL(REDIS_URL!);
      down.port = '1';
      await refusedToStart(
        { REDIS_URL: `${down},${REDIS_URL}`, REDIS_CLUSTER: 'true' },
        /^ai-gateway: REDIS_CLUSTER=true .*not a cluster node.*Unset REDIS_CLUSTER/,
      );
    });

    describe('Redis down at start-up, a cluster node once it comes up', () => {
      let proxy: Awaited<ReturnType<typeof lateProxy>>;
      let gateway: GatewayProcess | undefined;
      after(async () => {
        await gateway?.stop();
        proxy?.close();
      });

      it('starts as before; once connected, /ready fails with the error, which is logged', async () => {
        proxy = await lateProxy(new URL(clusterUrl));
        gateway = await GatewayProcess.start(configWith(), { env: { REDIS_URL: proxy.url } });
        assert.equal((await fetch(`${gateway.opsUrl}/ready`)).status, 200, 'ready without Redis, as documented');
        proxy.open();
        const [line] = await gateway.logged(/^REDIS_URL names a Redis Cluster node/);
        assert.equal(line?.level, 50, 'an error line');
        const ready = await fetch(`${gateway.opsUrl}/ready`);
        assert.equal(ready.status, 503);
        assert.match(JSON.stringify(await ready.json()), /Set REDIS_CLUSTER=true/);
      });
    });
  },
);
