import { Injectable } from '@nestjs/common';
import { deploymentKind, GatewayConfig } from '@gateway/config';
import { type ChatCompletionCreateParams, type EmbeddingCreateParams, GatewayError, type NativeRequest } from '@gateway/providers';
import { BreakerRegistry } from './breaker-registry';
import { type Eligible, eligibleDeployments, MAX_REQUEST_TOKENS } from './eligibility';
import { LatencyTracker } from './latency-tracker';
import { UsageShares } from './usage-shares';
import { type Deployment, ModelCatalog, type ModelGroup } from './model-catalog';
import { refusingDeployments } from './param-refusals';
import { profileChat, profileEmbeddings, type RequestProfile } from './request-profile';
import { preferDeclaring, STRATEGY_ORDER } from './strategies';
import { type TaskDecision, TaskRouter } from './task-rules';

/** The ordered deployments to try for one request, and how they were chosen. */
export interface Plan {
  group: ModelGroup;
  deployments: Deployment[];
  /** Deployments that could serve the request but stay out longer than the wait cap (Eligible.out): listed as skipped. */
  out?: Deployment[];
  profile: RequestProfile;
  /** Set when the client asked for a virtual model and a task rule picked the group. */
  route?: TaskDecision & { virtualModel: string };
  /** What the request already spent waiting for an identical one's answer (cache.coalesce): taken off its deadline. */
  waitedMs?: number;
}

/** A plan refused (no deployment of its group can serve the request): the group, and the task rule that picked it. */
export type Refusal = Pick<Plan, 'route'> & {
  group: string;
  /** The caller's permission refused the group: it is the request's in logs and metrics only, not told in its headers. */
  permission?: true;
};

/**
 * eligibleDeployments' refusals: the request is still that group's (and rule's) in its headers, logs and metrics;
 * and the permission's, in its logs and metrics.
 */
const refusals = new WeakMap<GatewayError, Refusal>();

/** The model group (and task rule) a plan was refused for, if `error` is such a refusal. */
export function refusalOf(error: unknown): Refusal | undefined {
  return error instanceof GatewayError ? refusals.get(error) : undefined;
}

/**
 * Checks that the caller may use the model group a request resolved to (its name as the client
 * sent it is the caller's to know); throws its refusal. Run before eligibility, so a caller
 * refused the model is told so whatever the health of its deployments (and learns nothing of it).
 */
export type ModelPermit = (group: string) => void;

/**
 * A group whose plan for a plain request (see `plainFor`) is all its deployments in their configured
 * order: while its deployments stay healthy (`generation`), such a request reuses `deployments`.
 */
interface Reusable {
  /** BreakerRegistry.generation when every deployment was last seen healthy; -1: not yet. */
  generation: number;
  deployments: readonly Deployment[];
  /** The smallest context window and output bound of its deployments: a request within both is plain. */
  window: number;
  maxOutput: number;
}

/** Turns a request into a plan: task rules, the caller's permission, then eligibility, then the group's strategy. */
@Injectable()
export class RouterService {
  private readonly taskRouters = new Map<string, TaskRouter>();
  /** Virtual models that can serve: one of their models has an enabled provider (else every request is a 404). */
  private readonly servingVirtualModels: string[];
  /** Replaceable so tests can make weighted and exploring choices reproducible. */
  random: () => number = Math.random;
  /** Groups under the priority strategy, by group: their reusable plan for plain requests. */
  private readonly reusable = new WeakMap<ModelGroup, Reusable | null>();

  constructor(
    private readonly config: GatewayConfig,
    private readonly catalog: ModelCatalog,
    private readonly breakers: BreakerRegistry,
    private readonly latency: LatencyTracker,
    private readonly shares: UsageShares,
  ) {
    for (const v of config.virtualModels) this.taskRouters.set(v.name, new TaskRouter(v));
    this.servingVirtualModels = [...this.taskRouters]
      .filter(([, router]) => router.targets.some((model) => catalog.serves(model)))
      .map(([name]) => name);
  }

  /** The virtual models clients can use (GET /v1/models lists them beside the groups that can serve). */
  virtualModelNames(): string[] {
    return this.servingVirtualModels;
  }

  /** Whether `name` is a virtual model; 404 when none of the models it routes to can serve, as ModelCatalog.resolve for a group. */
  isVirtualModel(name: string): boolean {
    const router = this.taskRouters.get(name);
    if (!router) return false;
    if (!this.servingVirtualModels.includes(name))
      throw GatewayError.modelNotFound(name, `is configured but none of the models it routes to can serve (${router.targets.join(', ')})`);
    return true;
  }

  /**
   * `native`: the request in a vendor's own protocol, when it came in one; it may confine the plan to that vendor's deployments.
   * `permit`: the caller's model permission (none for the gateway's own calls).
   */
  planChat(request: ChatCompletionCreateParams, task: string | undefined, native?: NativeRequest, permit?: ModelPermit): Plan {
    const profile = profileChat(request, native);
    const taskRouter = this.taskRouters.get(request.model);
    if (!taskRouter) return this.plan(this.resolve(request.model, permit), profile);
    const decision = taskRouter.decide(profile, task, (model) => !this.catalog.lacks(model, profile.needs));
    const route = { ...decision, virtualModel: request.model };
    return { ...this.plan(this.resolve(decision.model, permit), profile, route), route };
  }

  planEmbeddings(model: string, input: EmbeddingCreateParams['input'], permit?: ModelPermit): Plan {
    if (this.taskRouters.has(model)) throw GatewayError.badRequest(`${model} routes chat completions only.`, 'model');
    return this.plan(this.resolve(model, permit), profileEmbeddings(input));
  }

  /**
   * The group `model` names, once the caller may use it. A group none of whose providers is on is checked too before
   * its 404, which says why: a caller refused the model is told so and learns nothing of it (which providers are off).
   */
  private resolve(model: string, permit: ModelPermit | undefined): ModelGroup {
    let group: ModelGroup;
    try {
      group = this.catalog.resolve(model);
    } catch (err) {
      const found = permit && this.catalog.find(model);
      if (found) this.permitted(permit, found);
      throw err;
    }
    if (permit) this.permitted(permit, group);
    return group;
  }

  /** Throws the caller's refusal of `group`, marked as a permission's (Refusal). */
  private permitted(permit: ModelPermit, group: ModelGroup): void {
    try {
      permit(group.name);
    } catch (err) {
      if (err instanceof GatewayError) refusals.set(err, { group: group.name, permission: true });
      throw err;
    }
  }

  /**
   * `route`: the task rule that picked the group, which a refusal names too; not a refusal of the
   * caller's permission, which must not learn where a model it may not use would have gone.
   */
  private plan(group: ModelGroup, profile: RequestProfile, route?: Plan['route']): Plan {
    let eligible: Eligible;
    try {
      const reusable = this.plainFor(group, profile);
      if (reusable) {
        // Nothing about this request or the group's health can change eligibility or the order: the group as configured.
        const generation = this.breakers.generation;
        if (reusable.generation === generation) return { group, deployments: reusable.deployments as Deployment[], profile };
        if (this.breakers.allHealthy(reusable.deployments, Date.now())) {
          reusable.generation = generation;
          return { group, deployments: reusable.deployments as Deployment[], profile };
        }
      }
      eligible = eligibleDeployments(group, profile, this.breakers, Date.now());
    } catch (err) {
      if (err instanceof GatewayError) refusals.set(err, { group: group.name, route });
      throw err;
    }
    const order = STRATEGY_ORDER[group.config.strategy];
    const ordered = order(eligible.deployments, {
      profile,
      latency: this.latency,
      shares: this.shares,
      exploreRate: this.config.router.latency.exploreRate,
      random: this.random,
    });
    const deployments = preferDeclaring(ordered, profile.wants);
    return { group, deployments, ...(eligible.out.length && { out: eligible.out }), profile };
  }

  /**
   * The group's reusable plan when `profile` is a plain request for it: a chat request that needs,
   * prefers and is confined to nothing, that no deployment's adapter refuses while another's takes it, whose prompt and completion budget every deployment's window
   * holds and whose max_tokens every deployment can give; eligibility then keeps every healthy
   * deployment and the priority strategy keeps their order. Undefined otherwise.
   */
  private plainFor(group: ModelGroup, profile: RequestProfile): Reusable | undefined {
    let reusable = this.reusable.get(group);
    if (reusable === undefined) {
      const ds = group.deployments;
      reusable =
        group.config.strategy === 'priority' && ds.length > 0 && ds.every((d) => deploymentKind(d.config) === 'chat')
          ? {
              generation: -1,
              deployments: Object.freeze([...ds]),
              window: Math.min(...ds.map((d) => d.config.contextWindow ?? MAX_REQUEST_TOKENS)),
              maxOutput: Math.min(...ds.map((d) => d.config.maxOutputTokens ?? Infinity)),
            }
          : null;
      this.reusable.set(group, reusable);
    }
    if (!reusable) return undefined;
    const { needs, wants, onlyProvider, tokenIds, largestInput, maxTokens } = profile;
    if (needs.length || wants.length || onlyProvider || tokenIds || largestInput || refusingDeployments(group, profile)) return undefined;
    if (profile.promptTokens + (maxTokens ?? 0) > reusable.window || (maxTokens !== undefined && maxTokens > reusable.maxOutput))
      return undefined;
    return reusable;
  }
}
