import type { FastifyReply } from 'fastify';
import type { DeploymentConfig } from '@gateway/config';
import { genAiProviderName } from '@gateway/metrics';
import { bodyText, type JsonResult } from '@gateway/providers';
import { type Attempted, failedRunOf, type Plan, type RunAttempts } from '@gateway/router';
import { deploymentFor } from '../pipeline/budget-output';
import { bill, formatUsd } from './accounting';
import { headerValue } from './header-value';
import type { RequestState } from './request-state';

/**
 * Runs a plan (`run`: the executor's promise) and says in the response headers how it went,
 * whether a deployment answered or the run failed: a client debugging a failure needs the
 * attempts and why each moved on as much as one reading an answer.
 */
export function describedRun<T>(reply: FastifyReply, state: RequestState, plan: Plan, run: Promise<Attempted<T>>): Promise<Attempted<T>> {
  // then(), not an async function: one promise on the request path, not two and their ticks.
  const described = run.then(
    (answered) => {
      describeRun(reply, state, plan, answered);
      return answered;
    },
    (err: unknown) => {
      const failed = failedRunOf(err);
      if (failed) describeAttempts(reply, state, plan, failed);
      if (failed?.lastTried) state.genAiProvider = genAiProviderName(failed.lastTried.provider);
      throw err;
    },
  );
  // A client that leaves mid-attempt ends the request before the run: its trace waits for the run's outcome.
  if (state.timeline) state.running = described.then(settled, settled);
  return described;
}

function settled(): void {}

/**
 * Response headers saying how the request was served (group, deployment, provider,
 * attempts, why earlier attempts failed, the task rule), also kept for the access log.
 * Values from config or the upstream go through headerValue(): the log keeps them as they are.
 */
function describeRun(reply: FastifyReply, state: RequestState, plan: Plan, run: Attempted<unknown>): void {
  const d = run.deployment;
  state.provider = d.provider.name;
  state.genAiProvider = genAiProviderName(d.provider);
  state.deployment = d.id;
  state.upstreamModel = d.upstreamModel;
  state.price = d.config.price;
  state.promptEstimate = plan.profile.promptTokens;
  state.embeddings = plan.profile.needs.includes('embeddings');
  // An embeddings deployment's window holds one input, not the request's prompt: its bound is the inputs' own.
  state.usageLimits = state.embeddings
    ? { prompt: plan.profile.promptTokensAtMost }
    : usageLimits(plan, deploymentFor(d, state.reservation, plan.profile.promptTokens));
  state.upstreamMs = run.elapsedMs;
  reply.header('x-gateway-deployment', d.id);
  reply.header('x-gateway-provider', d.provider.name);
  reply.header('x-gateway-upstream-model', headerValue(d.upstreamModel));
  describeAttempts(reply, state, plan, run);
}

/** What the request allows its answer (RequestState.usageLimits) on the deployment `config`, as it was sent (deploymentFor), where configured. */
function usageLimits(plan: Plan, config: DeploymentConfig): RequestState['usageLimits'] {
  const perChoice = plan.profile.maxTokens ?? config.maxOutputTokens;
  return { prompt: config.contextWindow, completion: perChoice === undefined ? undefined : perChoice * plan.profile.choices };
}

/** The group, the attempts, why failed ones moved on (on a failure: every one that could), the task rule. */
function describeAttempts(reply: FastifyReply, state: RequestState, plan: Plan, run: RunAttempts): void {
  state.attempts = run.attempts;
  reply.header('x-gateway-model-group', plan.group.name);
  reply.header('x-gateway-attempts', String(run.attempts));
  if (run.failures.length) {
    const fallbacks = run.failures.map((f) => `${f.deployment}=${f.reason}`).join(', ');
    state.fallbacks = fallbacks;
    reply.header('x-gateway-fallbacks', headerValue(fallbacks));
  }
  describeRoute(reply, state, plan.route);
}

/**
 * A request answered without any attempt: a plan refused before one (its group cannot serve the request), or a
 * cache hit (the group's cache answered). The group and the task rule that picked it: with a virtual model,
 * what else says which group answered.
 */
export function describeGroup(reply: FastifyReply, state: RequestState, served: Pick<Plan, 'route'> & { group: string }): void {
  state.model ??= served.group;
  reply.header('x-gateway-model-group', served.group);
  describeRoute(reply, state, served.route);
}

/** The task rule that fired, in `x-gateway-route` and the access log. */
function describeRoute(reply: FastifyReply, state: RequestState, route: Plan['route']): void {
  if (!route) return;
  state.taskRoute = `${route.virtualModel}:${route.rule}`;
  reply.header('x-gateway-route', headerValue(`${route.virtualModel}; rule=${route.rule}`));
}

/** Sends a complete JSON answer with its cost in `x-gateway-cost-usd` (estimated costs say so; a cache hit costs 0). */
export function sendJson(reply: FastifyReply, state: RequestState, result: JsonResult): void {
  state.usage = result.usage;
  state.promptEstimate = result.billedPromptEstimate ?? state.promptEstimate;
  if (state.keepBody) state.responseBody = bodyText(result.body);
  const b = bill(state);
  if (b) reply.header('x-gateway-cost-usd', b.estimated ? `${formatUsd(b.costUsd)}; estimated` : formatUsd(b.costUsd));
  else if (state.cache?.startsWith('hit')) reply.header('x-gateway-cost-usd', '0');
  reply.code(200).type('application/json').send(result.body);
}
