import { Injectable, Logger } from '@nestjs/common';
import { GatewayConfig, type ProviderType } from '@gateway/config';
import type { ReasoningMemory } from '@gateway/providers';
import { type RedisClient, RedisService, withinBudget } from '@gateway/redis';
import { MemoryBackend } from '../stores/memory-backend';

/** A Redis call that takes longer is given up: the request goes on without the state (Anthropic's floor, Gemini's placeholder). */
const REDIS_BUDGET_MS = 50;
const WARN_EVERY_MS = 30_000;
/** Every key is `gw:reasoning:{<tenant>}:<vendor>:<call id>`: the tenant is the hash tag, so one MGET serves a request on Redis Cluster. */
const PREFIX = 'gw:reasoning:';

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
 * process, bounded in entries and memory, least recently used first; with Redis, also there with
 * the same TTL, so a tool loop whose next request reaches another replica keeps it. Redis is
 * fail-open: a slow or failed call leaves the request as it would be without the state.
 * A tenant reads only what its own requests were answered (the tenant is in every key).
 */
@Injectable()
export class ReasoningStateStore {
  private readonly memory: MemoryBackend | undefined;
  private readonly redis: RedisClient | undefined;
  private readonly ttlSeconds: number;
  private readonly logger = new Logger('ReasoningState');
  private lastWarning = 0;

  constructor(config: GatewayConfig, redis: RedisService) {
    const { maxEntries, maxMemoryMb, ttlSeconds } = config.router.reasoningState;
    this.ttlSeconds = ttlSeconds;
    if (!maxEntries) return;
    this.memory = new MemoryBackend(maxMemoryMb * 1024 * 1024, Date.now, maxEntries);
    this.redis = redis.client;
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
    const writes = [...states].map(([callId, state]) => [`${vendor}:${callId}`, JSON.stringify(state)] as const);
    for (const [id, json] of writes) await this.memory!.put(tenant, id, json, this.ttlSeconds);
    if (!this.redis) return;
    const pipeline = this.redis.pipeline();
    for (const [id, json] of writes) pipeline.set(`${PREFIX}{${tenant}}:${id}`, json, 'EX', this.ttlSeconds);
    const failed = await this.withinBudget(pipeline.exec(), 'write').then((results) => results?.find(([err]) => err)?.[0]);
    if (failed) this.warn('write', failed);
  }

  private async recall(tenant: string, vendor: ProviderType, callIds: readonly string[]): Promise<ReadonlyMap<string, unknown>> {
    const found = new Map<string, unknown>();
    const missing: string[] = [];
    for (const callId of callIds) {
      const json = await this.memory!.get(tenant, `${vendor}:${callId}`);
      if (json === undefined) missing.push(callId);
      else found.set(callId, JSON.parse(json));
    }
    if (!missing.length || !this.redis) return found;
    const values = await this.withinBudget(this.redis.mget(missing.map((callId) => `${PREFIX}{${tenant}}:${vendor}:${callId}`)), 'read');
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
