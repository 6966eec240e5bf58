import type { EventEmitter } from 'node:events';
import { Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { Cluster, Redis, type RedisOptions, ReplyError } from 'ioredis';
import { GatewayConfig, readTlsCa, redisUrls } from '@gateway/config';
import { Subscription, type SubscriptionHandlers } from './subscription';
import { AccessCheck, type AccessProblem, accessProbes } from './access';
import { connectionError } from './connection-error';
import { addressOf, mastersOf } from './masters';
import { clusterEnabled, clusterModeMismatch, SOLE_SHARD_WARNING, soleShard } from './cluster-mode';
import { type Eviction, evictionOf } from './eviction';
import { BREAKER_KEY_PREFIX, REASONING_KEY_PREFIX } from './key-prefixes';
import { withinBudget } from './within-budget';
import { WriterPool } from './writer-pool';

/** How often the access check runs again while connected: an ACL changed under a running replica is found within this. */
const ACCESS_CHECK_MS = 10_000;
/** How often a cluster's sole shard used as a single Redis is asked whether it still holds every slot (watchSoleShard). */
const SOLE_SHARD_CHECK_MS = 10_000;
/** Far above a healthy Redis round trip (well under a millisecond on the same network). */
const COMMAND_TIMEOUT_MS = 500;

/** A single Redis or a Redis Cluster: the commands the gateway uses are the same on both. */
export type RedisClient = Redis | Cluster;

// Commands fail fast while disconnected instead of queueing behind a dead server,
// and a server that is connected but does not answer (frozen, partitioned) fails
// them after COMMAND_TIMEOUT_MS, so limits fail open instead of hanging requests.
// Commands a dropped connection left unanswered are not sent again on the next one:
// their callers were already answered (a timeout), and a late second run would count
// twice what nobody waits for any more.
const CONNECTION: RedisOptions = {
  commandTimeout: COMMAND_TIMEOUT_MS,
  maxRetriesPerRequest: 1,
  connectTimeout: 2_000,
  autoResendUnfulfilledCommands: false,
};
/**
 * A connection whose PINGs all time out this many times in a row, one a second, is replaced: a
 * socket that went silent without closing (a lost NAT or firewall entry, an address moved in a
 * failover) is otherwise kept until the kernel gives up on it, about 15 minutes, every command
 * waiting out its timeout meanwhile (limits unchecked, cache off) while a new connection would work.
 */
const SILENT_PINGS = 3;
const WATCH_EVERY_MS = 1_000;
/**
 * A node that did not confirm a PUBLISH is tried again every PUBLISH_RETRY_EVERY_MS for this long
 * (a pause shorter than a failover's detection, a connection being replaced) before the publish is
 * reported unconfirmed there: an admin change then answers at most this much later.
 */
const PUBLISH_CONFIRM_MS = 2_000;
const PUBLISH_RETRY_EVERY_MS = 100;
/**
 * How long a durable write (see `unreplicated`) waits for a replica to acknowledge it: WAIT 1 this
 * many ms. A healthy replica acknowledges within a round trip; one lagging or unreachable delays the
 * admin call by this much, and the write is then reported unreplicated, not refused.
 */
const REPLICA_WAIT_MS = 1_000;
/** ioredis's error for a command not answered within its commandTimeout. */
const TIMED_OUT = 'Command timed out';
/** How soon a failed start-up task (see `whenReady`) runs again. */
const START_UP_RETRY_MS = 1_000;
const retry = (times: number) => Math.min(times * 200, 2_000);
/** Start-up waits this long at most for the first connection (the connect timeout). */
const FIRST_CONNECT_WAIT_MS = CONNECTION.connectTimeout!;

/**
 * A Redis Cluster's slot map is read again this often, whatever else happened: a pool that lost
 * the connection to a slot's owner (see `watch`) or a map left stale by a run of failovers mends
 * itself within this time instead of waiting for a MOVED that may never come. One CLUSTER SLOTS.
 */
const SLOTS_REFRESH_MS = 5_000;
/**
 * A multi-key script whose slot is migrating gets TRYAGAIN until the migration ends (its keys are
 * not all on one node, or some do not exist yet, as the admission scripts' call records never do):
 * ioredis would retry every 100 ms until the command's timeout, each request waiting ~500 ms
 * before its limits fail open. Retried at once instead, the command gives up after
 * `maxRedirections` (16) round trips, a few milliseconds, and still passes a split that lasts
 * only as long as a batch of keys is in flight.
 */
const TRYAGAIN_RETRY_MS = 0;

/**
 * The client for `config.redisUrl`. A cluster is discovered from the first of its nodes that
 * answers (keys then live on the node owning their hash slot, so every multi-key command and
 * script must keep its keys in one slot). `rediss://` verifies the server against
 * `redis.tlsCaFile` when set, else the system CAs.
 */
export function connectRedis(config: GatewayConfig): RedisClient {
  const urls = redisUrls(config.redisUrl!).map((url) => new URL(url));
  const url = urls[0]; // several share the scheme and credentials (checked by the config)
  const tls = tlsOf(config, url);
  if (!config.redis.cluster) return new Redis(config.redisUrl!, { ...CONNECTION, enableOfflineQueue: false, retryStrategy: retry, tls });
  const seeds = urls.map((seed) => ({ host: seed.hostname, port: Number(seed.port || 6379) }));
  return new Cluster(seeds, {
    enableOfflineQueue: false,
    clusterRetryStrategy: retry,
    slotsRefreshInterval: SLOTS_REFRESH_MS,
    retryDelayOnTryAgain: TRYAGAIN_RETRY_MS,
    redisOptions: {
      ...CONNECTION,
      username: decodeURIComponent(url.username) || undefined,
      password: decodeURIComponent(url.password) || undefined,
      tls,
    },
  });
}

function tlsOf(config: GatewayConfig, url: URL) {
  return url.protocol === 'rediss:' ? { ca: config.redis.tlsCaFile ? readTlsCa(config.redis.tlsCaFile) : undefined } : undefined;
}

/**
 * Whether the first of REDIS_URL's nodes that answers is a cluster node (INFO cluster), asked over plain connections
 * of its own, one node after another: a first node that is down hid a plain Redis named next (cluster34 D6).
 */
async function seedClusterEnabled(config: GatewayConfig): Promise<boolean> {
  let failure: unknown;
  for (const url of redisUrls(config.redisUrl!)) {
    const node = new Redis(url, { ...CONNECTION, lazyConnect: true, retryStrategy: () => null, tls: tlsOf(config, new URL(url)) });
    node.on('error', () => undefined); // the cluster client already reports outages
    try {
      return await clusterEnabled(node);
    } catch (error) {
      failure = error;
    } finally {
      node.disconnect();
    }
  }
  throw failure;
}

/**
 * False when a command given to `client` now would fail without being sent (it is
 * not connected and does not queue commands until it is): such a failure leaves no
 * doubt about whether the command ran.
 */
export function sendsNow(client: RedisClient): boolean {
  return client.status === 'ready' || client.options.enableOfflineQueue !== false;
}

/**
 * Redis answered the command with an error (a failing script, a wrong type, OOM): the answer
 * is not lost, so sending the command again cannot be told apart from running it twice.
 */
export function isReplyError(error: unknown): boolean {
  return error instanceof ReplyError;
}

/** What `publishToAll` did: subscribers reached, and nodes that did not confirm it (0 on a single Redis that answered). */
export interface Published {
  receivers: number;
  unconfirmed: number;
}

/** The cluster pool's connection to `node`'s address now (a replaced one is a new object), if it has one. */
function sameNode(cluster: Cluster, node: Redis): Redis | undefined {
  return cluster.nodes('all').find((other) => other.options.host === node.options.host && other.options.port === node.options.port);
}

const ignore = () => undefined;

/** The pool's connections to the masters holding `keys` (each once), by the slot map the cluster knows now. */
async function nodesOf(cluster: Cluster, keys: string[]): Promise<Redis[]> {
  const slots = await Promise.all(keys.map((key) => cluster.cluster('KEYSLOT', key) as Promise<number>));
  const owners = new Set(slots.map((slot) => cluster.slots[slot]?.[0]).filter((owner) => owner !== undefined));
  return cluster.nodes('master').filter((node) => owners.has(addressOf(node)));
}

/** The `cluster_state` CLUSTER INFO reports (`ok`, `fail`). */
function clusterState(info: string): string {
  return /^cluster_state:(\w+)/m.exec(info)?.[1] ?? 'unknown';
}

/**
 * ioredis listens for one 'error' on each socket. A TLS socket that failed (a server
 * certificate the gateway does not trust) can emit a second one after it, the server's
 * alert, which Node would throw as an uncaught exception, stopping the process. Once a
 * socket has failed, ioredis has reported it and reconnects on a new one: later errors
 * on the old socket say nothing new and are dropped.
 */
export function absorbLateSocketErrors(client: RedisClient): void {
  const absorb = (socket: EventEmitter | undefined) => {
    if (socket && !socket.listeners('error').includes(ignore)) socket.on('error', ignore);
  };
  if (client instanceof Cluster) client.on('node error', () => client.nodes().forEach((node) => absorb(node.stream)));
  else client.on('error', () => absorb(client.stream));
}

/**
 * The shared Redis connection, present only when REDIS_URL is set. Features that use
 * Redis must work (or fail open, as each documents) when `client` is undefined or down.
 */
@Injectable()
export class RedisService implements OnApplicationBootstrap, OnApplicationShutdown {
  readonly client: RedisClient | undefined;
  private readonly logger = new Logger('Redis');
  /** The connections of durable writes (`durably`): one to each write while it runs. */
  private readonly writers = new WriterPool(() => this.openWriter());
  /** Durable-write connections a command of which timed out (see `unreplicated`): not used again. */
  private readonly spoiled = new WeakSet<RedisClient>();
  /** Set once Redis refused ROLE or WAIT (see `unreplicated`): said once. */
  private replicationUnknown = false;
  /** Every channel subscribed (`subscribe`): their connections are watched as the shared one's are. */
  private readonly subscriptions = new Set<Subscription>();
  /**
   * Set while REDIS_CLUSTER does not match the server REDIS_URL names (`watchClusterMode`): the error to act on.
   * /ready fails on it, and start-up exits 78 with it when it is known by then.
   */
  clusterMismatch: string | undefined;
  /** The cluster-mode check running or last run, which start-up waits for (`onApplicationBootstrap`). */
  private clusterModeCheck: Promise<void> | undefined;
  private soleShardWarned = false;
  /** Whether Redis refuses this replica's password, user or ACL (AccessCheck); undefined without Redis. */
  private readonly access: AccessCheck | undefined;
  /** The access check running or last run, which start-up waits for (`onApplicationBootstrap`). */
  private accessCheck: Promise<void> | undefined;

  constructor(config: GatewayConfig) {
    if (!config.redisUrl) return;
    this.client = connectRedis(config);
    const client = this.client;
    absorbLateSocketErrors(client);
    const tls = new URL(redisUrls(config.redisUrl)[0]).protocol === 'rediss:';
    const prefixes = ['gateway:', BREAKER_KEY_PREFIX, REASONING_KEY_PREFIX, config.responses.keyPrefix, config.messages.threads.keyPrefix];
    if (config.cache.enabled) prefixes.push(config.cache.redis.keyPrefix);
    const access = new AccessCheck(accessProbes(prefixes), this.logger, () => [...this.subscriptions].every((s) => s.subscribedOnce));
    this.access = access;
    // ioredis emits 'error' on every failed reconnect; without a listener Node would crash.
    let warned = false;
    client.on('error', (err: Error) => {
      // A cluster's error names the last node's (a refused AUTH) beneath its own.
      access.note('the connection', (err as { lastNodeError?: Error }).lastNodeError ?? err);
      if (!warned) this.logger.warn(`Redis unavailable: ${connectionError(err, tls)}`);
      warned = true;
    });
    client.on('ready', () => {
      if (warned) this.logger.log('Redis connection restored');
      warned = false;
      access.note('the connection');
      this.accessCheck = access.run(client);
    });
    const checkAccess = setInterval(() => {
      if (client.status === 'ready') this.accessCheck = access.run(client);
    }, ACCESS_CHECK_MS).unref();
    client.once('end', () => clearInterval(checkAccess));
    this.watchClusterMode(config, client);
    // A cluster's node connection does not reconnect (ioredis' pool ends it and drops the node): once
    // it has ended, the slot map is read again, which opens a new one to every owner the pool lacks.
    const replacing = client instanceof Cluster ? (node: Redis) => node.once('end', () => client.refreshSlotsCache()) : () => undefined;
    const watch = setInterval(() => {
      for (const node of client instanceof Cluster ? client.nodes('all') : [client]) this.watch(node, replacing);
      // A subscriber gone silent misses every announcement until replaced (its subscription then says so).
      for (const subscription of this.subscriptions) if (subscription.connection) this.watch(subscription.connection, ignore);
    }, WATCH_EVERY_MS).unref();
    client.once('end', () => clearInterval(watch));
  }

  /**
   * Checks, each time Redis connects, that REDIS_CLUSTER matches what REDIS_URL names (INFO cluster), not at
   * start-up only: Redis may be down then. A single-Redis client asks on its own connection once it is ready. A
   * cluster client that cannot connect (every failed slot-map read is an 'error') asks REDIS_URL's nodes
   * (seedClusterEnabled), one check at a time; once it is ready, it has read a slot map, so the server is a cluster.
   */
  private watchClusterMode(config: GatewayConfig, client: RedisClient): void {
    const check = (ask: () => Promise<boolean>) => {
      this.clusterModeCheck = ask().then(
        (enabled) => this.setClusterMismatch(clusterModeMismatch(config.redis.cluster, enabled)),
        // Not answered (Redis went away, an ACL refusing INFO): nothing is known; the next connection asks again.
        (err: Error) => this.logger.debug(`Redis cluster-mode check not answered: ${err.message}`),
      );
    };
    if (!(client instanceof Cluster)) return void client.on('ready', () => check(() => this.splitsKeys(client)));
    let asking = false;
    client.on('ready', () => this.setClusterMismatch(undefined));
    client.on('error', () => {
      if (asking || this.clusterMismatch || client.status === 'ready') return;
      asking = true;
      check(() => seedClusterEnabled(config).finally(() => (asking = false)));
    });
  }

  /** Whether a plain client on `client` would be answered MOVED: a cluster node, unless the cluster's sole shard (warned). */
  private async splitsKeys(client: Redis): Promise<boolean> {
    if (!(await clusterEnabled(client))) return false;
    if (!(await soleShard(client))) return true;
    if (!this.soleShardWarned) {
      this.logger.warn(SOLE_SHARD_WARNING);
      this.watchSoleShard(client);
    }
    this.soleShardWarned = true;
    return false;
  }

  /**
   * Asks every SOLE_SHARD_CHECK_MS whether the sole shard still holds every slot: once the cluster gains a shard, a
   * plain client gets MOVED for the slots moved away, and limits, budgets and keys there fail open (recheck31b D1).
   * Then it is the cluster-mode mismatch it would have been at start-up (logged, /ready 503).
   */
  private watchSoleShard(client: Redis): void {
    let asking = false;
    const timer = setInterval(() => {
      if (asking || client.status !== 'ready') return;
      asking = true;
      soleShard(client)
        .then((sole) => sole || this.setClusterMismatch(clusterModeMismatch(false, true)))
        .catch(() => undefined)
        .finally(() => (asking = false));
    }, SOLE_SHARD_CHECK_MS).unref();
    client.once('end', () => clearInterval(timer));
  }

  /** Redis refusing this replica's password, user or ACL, if it does (AccessCheck): logged, and /ready fails while `blocking`. */
  get misconfigured(): AccessProblem | undefined {
    return this.access?.problem;
  }

  private setClusterMismatch(mismatch: string | undefined): void {
    if (mismatch && mismatch !== this.clusterMismatch) this.logger.error(mismatch);
    this.clusterMismatch = mismatch;
  }

  private readonly silentPings = new WeakMap<Redis, number>();

  /** One PING on `node`'s connection; the SILENT_PINGS-th timeout in a row replaces the connection (`replacing` first). */
  private watch(node: Redis, replacing: (node: Redis) => void): void {
    if (node.status !== 'ready') return void this.silentPings.delete(node);
    node.ping().then(
      () => this.silentPings.delete(node),
      () => {
        const silent = (this.silentPings.get(node) ?? 0) + 1;
        this.silentPings.set(node, silent);
        if (silent < SILENT_PINGS || node.status !== 'ready') return;
        this.silentPings.delete(node);
        this.logger.warn(`Redis connection to ${addressOf(node)} answered no PING for ${silent} s: reconnecting`);
        replacing(node);
        node.disconnect(true);
      },
    );
  }

  /**
   * Runs `work` once `client` is connected: now, or at its first connection however
   * late Redis comes up (a gateway may start while Redis is down). A failed run (a
   * command timing out on a starved machine, a connection lost mid-way) is retried
   * every START_UP_RETRY_MS until it succeeds or the client is closed.
   */
  whenReady(client: RedisClient, work: () => Promise<unknown>): void {
    let failures = 0;
    const attempt = () => {
      if (client.status === 'end') return;
      if (client.status !== 'ready') return void client.once('ready', attempt);
      work().then(
        () => failures && this.logger.log(`Redis start-up task succeeded after ${failures} failed attempt(s)`),
        (err: Error) => {
          if (!failures++) this.logger.warn(`Redis start-up task failed, retrying: ${err.message}`);
          setTimeout(attempt, START_UP_RETRY_MS).unref();
        },
      );
    };
    attempt();
  }

  /**
   * A dedicated subscriber connection for `channel` (pub/sub needs its own; on a cluster, to any one node, as
   * `publishToAll` publishes on every node). Lost, it is opened again and subscribes, then `onSubscribed` runs:
   * what was published meanwhile was missed (Subscription). Closed with `close()`.
   */
  subscribe(channel: string, handlers: SubscriptionHandlers): Subscription | undefined {
    const client = this.client;
    if (!client) return undefined;
    // Not reconnected by ioredis (which re-subscribed without telling anyone): Subscription opens a new one.
    const own = { retryStrategy: () => null, autoResubscribe: false };
    const open = (): Redis | undefined => {
      let connection: Redis | undefined;
      if (!(client instanceof Cluster)) connection = client.duplicate(own);
      else {
        const nodes = client.nodes('all');
        const node = nodes[Math.floor(Math.random() * nodes.length)];
        // The pool's nodes connect lazily; this one is used at once.
        if (node) connection = new Redis({ ...node.options, ...own, lazyConnect: false, enableOfflineQueue: false });
      }
      if (connection) absorbLateSocketErrors(connection);
      return connection;
    };
    const subscription = new Subscription(
      channel,
      open,
      retry,
      handlers,
      (message) => this.logger.warn(message),
      (error) => this.access?.note(`SUBSCRIBE ${channel}`, error),
    );
    this.subscriptions.add(subscription);
    return subscription;
  }

  /**
   * PUBLISH that Redis has sent to every subscriber of `channel` when it resolves. A node writes a
   * PUBLISH's answer before the messages to its subscribers (in the same pass, but a publisher
   * may act on the answer in between): a PING answered after it means the pass is over. On a
   * Redis Cluster a node sends it only to its own subscribers, those of other nodes get it over
   * the cluster bus later, and each subscriber sits on any node (see `subscribe`): so it goes to
   * every node, and subscribers get it once per node (their handlers must be idempotent). A node
   * that fails is tried again until PUBLISH_CONFIRM_MS have passed (a node paused for a moment, a
   * connection being replaced); one that never confirms is warned of and counted in `unconfirmed`
   * (its subscribers hear of it over the bus, later, or not while it stays away), and the publish
   * fails only when every node does. `receivers`: how many subscribers it reached, each node
   * counting only its own, so the sum over the nodes counts each subscriber once.
   */
  async publishToAll(channel: string, message: string): Promise<Published> {
    const client = this.client;
    if (!client) return { receivers: 0, unconfirmed: 0 };
    const nodes = client instanceof Cluster ? client.nodes('all') : [client];
    const giveUpAt = Date.now() + PUBLISH_CONFIRM_MS;
    const confirm = async (node: Redis): Promise<number> => {
      for (;;) {
        try {
          const receivers = await node.publish(channel, message);
          await node.ping();
          return receivers;
        } catch (error) {
          if (Date.now() + PUBLISH_RETRY_EVERY_MS >= giveUpAt || client.status === 'end') throw error;
          await new Promise((resolve) => setTimeout(resolve, PUBLISH_RETRY_EVERY_MS));
          // The watchdog may have replaced this node's connection meanwhile: the pool's current one.
          if (client instanceof Cluster) node = sameNode(client, node) ?? node;
        }
      }
    };
    const results = await Promise.allSettled(nodes.map(confirm));
    const failed = results.filter((result) => result.status === 'rejected');
    if (failed.length === nodes.length) throw failed[0]?.reason ?? new Error('Redis: no node to publish to');
    if (failed.length) {
      const reason = (failed[0].reason as Error)?.message;
      this.logger.warn(
        `PUBLISH ${channel} not confirmed by ${failed.length} of ${nodes.length} cluster nodes within ${PUBLISH_CONFIRM_MS} ms (${reason})`,
      );
    }
    const receivers = results.reduce((sum, result) => sum + (result.status === 'fulfilled' ? result.value : 0), 0);
    return { receivers, unconfirmed: failed.length };
  }

  /** How many nodes `publishToAll` publishes to now: a cluster's every node, else 1 (0 without Redis). */
  nodeCount(): number {
    const client = this.client;
    return client instanceof Cluster ? client.nodes('all').length : client ? 1 : 0;
  }

  /** Each master's eviction state (evictionOf) by its address; those that do not answer within `timeoutMs` are left out. */
  async evictions(timeoutMs: number): Promise<[string, Eviction][]> {
    const client = this.client;
    if (!client) return [];
    const nodes = mastersOf(client);
    const states = await Promise.all(nodes.map((node) => withinBudget(evictionOf(node), timeoutMs).catch(() => undefined)));
    return nodes.flatMap((node, i) => (states[i] ? [[addressOf(node), states[i]] as [string, Eviction]] : []));
  }

  /** True when Redis is configured and can serve within the timeout (`status`). */
  async ping(timeoutMs: number): Promise<boolean> {
    return (await this.status(timeoutMs)).reachable;
  }

  /**
   * Whether Redis can serve, asked within `timeoutMs`: a single Redis answers PING; a cluster's every
   * master answers CLUSTER INFO with `cluster_state:ok` (`cluster`: that state, or the first other one).
   * PING alone said a cluster was reachable while it was down: its nodes answer PING then, and
   * CLUSTERDOWN to every command on a key (a slot without an owner, a majority of masters lost).
   */
  async status(timeoutMs: number): Promise<{ reachable: boolean; cluster?: string }> {
    const client = this.client;
    if (!client) return { reachable: false };
    if (!(client instanceof Cluster)) {
      const pong = await withinBudget(client.ping(), timeoutMs).catch(() => undefined);
      return { reachable: pong === 'PONG' };
    }
    const masters = client.nodes('master');
    if (!masters.length) return { reachable: false };
    const states = await withinBudget(Promise.all(masters.map((node) => node.cluster('INFO').then(clusterState))), timeoutMs).catch(
      () => undefined,
    );
    if (!states) return { reachable: false };
    const cluster = states.find((state) => state !== 'ok') ?? 'ok';
    return { reachable: cluster === 'ok', cluster };
  }

  /**
   * Start-up (before the port opens) waits for the first connection, until it is ready, fails,
   * or FIRST_CONNECT_WAIT_MS passed: a replica that opened its port first answered its first
   * requests 503 redis_unavailable (key lookups, the admin API) on a loaded machine, where a
   * moment later it would have served them (seen in CI). A Redis that refuses or does not
   * answer is not waited for longer: the gateway starts without it, as it runs without it.
   */
  async onApplicationBootstrap(): Promise<void> {
    const client = this.client;
    if (!client) return;
    if (client.status !== 'ready') {
      await new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(timer);
          client.off('ready', done).off('error', done);
          resolve();
        };
        const timer = setTimeout(done, FIRST_CONNECT_WAIT_MS);
        client.once('ready', done).once('error', done);
      });
    }
    // The check that connection started, so that a REDIS_CLUSTER mismatch stops start-up (main.ts) rather than
    // only failing /ready; one not answered in time is left to do that.
    if (this.clusterModeCheck) await withinBudget(this.clusterModeCheck, FIRST_CONNECT_WAIT_MS).catch(() => undefined);
    // And the access check, so that a replica Redis refuses is not ready once its port opens.
    if (this.accessCheck) await withinBudget(this.accessCheck, FIRST_CONNECT_WAIT_MS).catch(() => undefined);
  }

  async onApplicationShutdown(): Promise<void> {
    this.writers.close();
    for (const subscription of this.subscriptions) subscription.close();
    const client = this.client;
    if (!client) return;
    // A cluster client that has read its slots and awaits the answer to its ready check when asked to quit turns
    // ready once that answer comes (ioredis), and starts its slot refresh timer, which then runs for ever: its
    // process did not exit. Disconnecting stops the timer.
    client.once('ready', () => client.disconnect());
    await client.quit().catch(() => client.disconnect());
  }

  /**
   * Runs `write` on a connection of its own (on a cluster, a pool of its own) for writes that must survive a
   * failover right after them (admin key changes), then `unreplicated` waits on it with WAIT: WAIT blocks its
   * connection and counts only that connection's writes, so each write has one to itself for its duration
   * (WriterPool), and neither the shared one's traffic nor another write queues behind a lagging replica.
   */
  async durably<T>(write: (writer: RedisClient) => Promise<T>): Promise<T> {
    if (!this.client) throw new Error('Redis is not configured');
    const writer = await this.writers.take();
    try {
      return await write(writer);
    } catch (error) {
      if (error instanceof Error && error.message === TIMED_OUT) this.spoiled.add(writer);
      throw error;
    } finally {
      // One with a command timed out may have it still waiting there (a WAIT): not handed to the next write.
      this.writers.give(writer, !this.spoiled.has(writer));
    }
  }

  private openWriter(): Promise<RedisClient> {
    const client = this.client!;
    return new Promise<RedisClient>((resolve, reject) => {
      // Its commands may wait for a replica: a timeout past the WAIT's own.
      const commandTimeout = REPLICA_WAIT_MS + COMMAND_TIMEOUT_MS;
      const writer =
        client instanceof Cluster ? client.duplicate([], { redisOptions: { commandTimeout } }) : client.duplicate({ commandTimeout });
      writer.on('error', () => undefined); // the shared client already reports outages
      absorbLateSocketErrors(writer);
      // Not left reconnecting in the background: the next write opens another.
      const timer = setTimeout(() => {
        writer.disconnect();
        reject(new Error("Connection is closed: the durable writer's did not open"));
      }, FIRST_CONNECT_WAIT_MS);
      writer.once('ready', () => (clearTimeout(timer), resolve(writer)));
    });
  }

  /**
   * After writes of `keys` on `writer` (in `durably`): how many of the nodes holding them had no replica
   * acknowledge them (WAIT 1) within REPLICA_WAIT_MS. A node without replicas counts none (nothing
   * to wait for), nor does a single Redis without one, nor one that refuses ROLE or WAIT (warned once); a node
   * that does not answer counts one.
   */
  async unreplicated(writer: RedisClient, keys: string[]): Promise<number> {
    const nodes = writer instanceof Cluster ? await nodesOf(writer, keys) : [writer];
    const lagging = await Promise.all(
      nodes.map(async (node) => {
        try {
          const [, , replicas] = (await node.call('ROLE')) as [string, unknown, unknown[] | undefined];
          if (!Array.isArray(replicas) || !replicas.length) return false;
          return (await node.call('WAIT', 1, REPLICA_WAIT_MS)) === 0;
        } catch (error) {
          // Refused (a managed Redis or an ACL that blocks ROLE or WAIT): nothing can be waited for there.
          if (!isReplyError(error)) {
            this.spoiled.add(writer); // timed out: its WAIT may still block the connection
            return true;
          }
          if (!this.replicationUnknown)
            this.logger.warn(`Redis refused ROLE or WAIT (${(error as Error).message}): admin changes are not waited for replication`);
          this.replicationUnknown = true;
          return false;
        }
      }),
    );
    return lagging.filter(Boolean).length;
  }
}
