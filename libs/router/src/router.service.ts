import { Injectable } from '@nestjs/common';
import { GatewayConfig } from '@gateway/config';
import { type ChatCompletionCreateParams, type EmbeddingCreateParams, GatewayError, type NativeRequest } from '@gateway/providers';
import { BreakerRegistry } from './breaker-registry';
import { type Eligible, eligibleDeployments } from './eligibility';
import { LatencyTracker } from './latency-tracker';
import { type Deployment, ModelCatalog, type ModelGroup } from './model-catalog';
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
export type Refusal = Pick<Plan, 'route'> & { group: string };

/** eligibleDeployments' refusals: the request is still that group's (and rule's) in its headers, logs and metrics. */
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

/** Turns a request into a plan: task rules, the caller's permission, then eligibility, then the group's strategy. */
@Injectable()
export class RouterService {
  private readonly taskRouters = new Map<string, TaskRouter>();
  /** Virtual models that can serve: one of their models has an enabled provider (else every request is a 404). */
  private readonly servingVirtualModels: string[];
  /** Replaceable so tests can make weighted and exploring choices reproducible. */
  random: () => number = Math.random;

  constructor(
    private readonly config: GatewayConfig,
    private readonly catalog: ModelCatalog,
    private readonly breakers: BreakerRegistry,
    private readonly latency: LatencyTracker,
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
    if (!taskRouter) return this.plan(this.catalog.resolve(request.model), profile, permit);
    const decision = taskRouter.decide(profile, task);
    const route = { ...decision, virtualModel: request.model };
    return { ...this.plan(this.catalog.resolve(decision.model), profile, permit, route), route };
  }

  planEmbeddings(model: string, input: EmbeddingCreateParams['input'], permit?: ModelPermit): Plan {
    if (this.taskRouters.has(model)) throw GatewayError.badRequest(`${model} routes chat completions only.`, 'model');
    return this.plan(this.catalog.resolve(model), profileEmbeddings(input), permit);
  }

  /** `route`: the task rule that picked the group, which a refusal names too. */
  private plan(group: ModelGroup, profile: RequestProfile, permit: ModelPermit | undefined, route?: Plan['route']): Plan {
    let eligible: Eligible;
    try {
      permit?.(group.name);
      eligible = eligibleDeployments(group, profile, this.breakers, Date.now());
    } catch (err) {
      if (err instanceof GatewayError) refusals.set(err, { group: group.name, route });
      throw err;
    }
    const order = STRATEGY_ORDER[group.config.strategy];
    const ordered = order(eligible.deployments, {
      profile,
      latency: this.latency,
      exploreRate: this.config.router.latency.exploreRate,
      random: this.random,
    });
    const deployments = preferDeclaring(ordered, profile.wants);
    return { group, deployments, ...(eligible.out.length && { out: eligible.out }), profile };
  }
}
