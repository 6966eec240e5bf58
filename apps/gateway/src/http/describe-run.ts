import type { FastifyReply } from 'fastify';
import type { Attempted, Plan } from '@gateway/router';
import type { RequestState } from './request-state';

/**
 * Response headers saying how the request was served (group, deployment, provider,
 * attempts, why earlier attempts failed, the task rule), also kept for the access log.
 */
export function describeRun(reply: FastifyReply, state: RequestState, plan: Plan, run: Attempted<unknown>): void {
  const d = run.deployment;
  state.provider = d.provider.name;
  state.deployment = d.id;
  state.upstreamModel = d.upstreamModel;
  state.attempts = run.attempts;
  reply.header('x-gateway-model-group', plan.group.name);
  reply.header('x-gateway-deployment', d.id);
  reply.header('x-gateway-provider', d.provider.name);
  reply.header('x-gateway-upstream-model', d.upstreamModel);
  reply.header('x-gateway-attempts', String(run.attempts));
  if (run.failures.length) {
    const fallbacks = run.failures.map((f) => `${f.deployment}=${f.reason}`).join(', ');
    state.fallbacks = fallbacks;
    reply.header('x-gateway-fallbacks', fallbacks);
  }
  if (plan.route) {
    state.route = `${plan.route.virtualModel}:${plan.route.rule}`;
    reply.header('x-gateway-route', `${plan.route.virtualModel}; rule=${plan.route.rule}`);
  }
}
