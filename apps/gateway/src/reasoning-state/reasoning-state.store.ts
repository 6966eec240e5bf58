import { Injectable, Logger } from '@nestjs/common';
import { Counter } from 'prom-client';
import { GatewayConfig, type ProviderType } from '@gateway/config';
import { MetricsService } from '@gateway/metrics';
import type { ReasoningMemory } from '@gateway/providers';
import { REASONING_KEY_PREFIX, type RedisClient, RedisService, withinBudget } from '@gateway/redis';
import { MemoryBackend } from '../stores/memory-backend';
import { TenantBoundedWrites } from './tenant-bounded-writes';

/** A Redis call that takes longer is given up: the request goes on without the state (Anthropic's floor, Gemini's placeholder). */
const REDIS_BUDGET_MS = 50;
const WARN_EVERY_MS = 30_000;
/**
 * Every key is `gw:reasoning:{<tenant>}:<vendor>:<call id>` (and the tenant's bookkeeping, TenantBoundedWrites): the
 * tenant is the hash tag, so one MGET serves a request, and one script a write, on Redis Cluster.
 */
const PREFIX = REASONING_KEY_PREFIX;

/** A Redis value as the JSON it was written as; undefined for anything else (the call then has no state). */
function parsed(json: string): unknown {
  try {
    return JSON.parse(json);
  } catch {
    return undefined;
  }
}

/**
 * The reasoning state the gateway returned with tool calls (ReasoningMemory), per tenant: in
 * process, bounded in entries and memory, the tenant holding the most giving its least recently used first (memory-backend.ts); with Redis, also there with
 * the same TTL, so a tool loop whose next request reaches another replica keeps it, bounded per
 * tenant (TenantBoundedWrites): a client cannot make the gateway store without bound. A state over
 * maxEntryBytes is kept nowhere. Redis is fail-open: a slow or failed call leaves the request as it
 * would be without the state. A tenant reads only what its own requests were answered (the tenant is
 * in every key).
 */
@Injectable()
export class ReasoningStateStore {
  private readonly memory: MemoryBackend | undefined;
  private readonly redis: RedisClient | undefined;
  private readonly writes: TenantBoundedWrites | undefined;
  private readonly ttlSeconds: number;
  private readonly maxEntryBytes: number;
  private readonly dropped: Counter<'reason'>;
  private readonly logger = new Logger('ReasoningState');
  private lastWarning = 0;

  constructor(config: GatewayConfig, redis: RedisService, metrics: MetricsService) {
    const { maxEntries, maxMemoryMb, ttlSeconds, maxEntryBytes, tenantMaxEntries, tenantMaxMemoryMb } = config.router.reasoningState;
    this.ttlSeconds = ttlSeconds;
    this.maxEntryBytes = maxEntryBytes;
    this.dropped = new Counter({
      name: 'gateway_reasoning_state_dropped_total',
      help: 'Kept reasoning states dropped: too_large (over maxEntryBytes, not kept), tenant_bound (a tenant`s oldest in Redis, past its bounds)',
      labelNames: ['reason'],
      registers: [metrics.registry],
    });
    if (!maxEntries) return;
    this.memory = new MemoryBackend(maxMemoryMb * 1024 * 1024, Date.now, maxEntries);
    this.redis = redis.client;
    if (this.redis)
      this.writes = new TenantBoundedWrites(this.redis, PREFIX, {
        ttlSeconds,
        maxEntries: tenantMaxEntries,
        maxBytes: tenantMaxMemoryMb * 1024 * 1024,
      });
  }

  /** The tenant's memory, for a request's upstream calls (CallContext.reasoning); undefined when the feature is off. */
  forTenant(tenant: string): ReasoningMemory | undefined {
    if (!this.memory) return undefined;
    return {
      remember: (vendor, states) => void this.remember(tenant, vendor, states).catch((err: Error) => this.warn('write', err)),
      recall: (vendor, callIds) => this.recall(tenant, vendor, callIds),
    };
  }

  private async remember(tenant: string, vendor: ProviderType, states: ReadonlyMap<string, unknown>): Promise<void> {
    const writes: [id: string, json: string][] = [];
    for (const [callId, state] of states) {
      const json = JSON.stringify(state);
      // Kept nowhere: that turn goes on as without its state (Anthropic's floor, Gemini's placeholder).
      if (Buffer.byteLength(json) > this.maxEntryBytes) this.dropped.inc({ reason: 'too_large' });
      else writes.push([`${vendor}:${callId}`, json]);
    }
    for (const [id, json] of writes) await this.memory!.put(tenant, id, json, this.ttlSeconds);
    if (!this.writes || !writes.length) return;
    const dropped = await this.withinBudget(this.writes.write(tenant, writes), 'write');
    if (dropped) this.dropped.inc({ reason: 'tenant_bound' }, dropped);
  }

  private async recall(tenant: string, vendor: ProviderType, callIds: readonly string[]): Promise<ReadonlyMap<string, unknown>> {
    const found = new Map<string, unknown>();
    const missing: string[] = [];
    for (const callId of callIds) {
      const json = await this.memory!.get(tenant, `${vendor}:${callId}`);
      if (json === undefined) missing.push(callId);
      else found.set(callId, JSON.parse(json));
    }
    const writes = this.writes;
    if (!missing.length || !this.redis || !writes) return found;
    const keys = missing.map((callId) => writes.key(tenant, `${vendor}:${callId}`));
    const values = await this.withinBudget(this.redis.mget(keys), 'read');
    for (const [i, json] of (values ?? []).entries()) {
      const state = json === null ? undefined : parsed(json);
      if (state === undefined) continue;
      // Kept in process too: the rest of the tool loop on this replica reads it there.
      await this.memory!.put(tenant, `${vendor}:${missing[i]}`, json!, this.ttlSeconds);
      found.set(missing[i]!, state);
    }
    return found;
  }

  /** `work`'s answer, or undefined once it failed or took longer than REDIS_BUDGET_MS. */
  private async withinBudget<T>(work: Promise<T>, operation: string): Promise<T | undefined> {
    try {
      return await withinBudget(work, REDIS_BUDGET_MS);
    } catch (err) {
      this.warn(operation, err as Error);
      return undefined;
    }
  }

  /** At most one warning every WARN_EVERY_MS: an outage fails every tool turn, and Redis's own client reports it already. */
  private warn(operation: string, err: Error): void {
    const now = Date.now();
    if (now - this.lastWarning < WARN_EVERY_MS) return;
    this.lastWarning = now;
    this.logger.warn(`reasoning state ${operation} in Redis failed, going on without it: ${err.message}`);
  }
}
