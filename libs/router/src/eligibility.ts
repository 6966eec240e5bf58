import { deploymentKind } from '@gateway/config';
import { GatewayError } from '@gateway/providers';
import type { BreakerRegistry } from './breaker-registry';
import type { Deployment, ModelGroup } from './model-catalog';
import type { RequestProfile } from './request-profile';

/**
 * Deployments of the group that can serve this request now: of the request's kind
 * (chat or embeddings), the context window holds the prompt plus the completion
 * budget, every needed capability is declared (a deployment that declares none
 * serves text chat only), and the breaker lets requests through. None left is an
 * error that says why.
 */
export function eligibleDeployments(group: ModelGroup, profile: RequestProfile, breakers: BreakerRegistry, now: number): Deployment[] {
  const kind = profile.needs.includes('embeddings') ? 'embeddings' : 'chat';
  if (!group.deployments.some((d) => deploymentKind(d.config) === kind)) {
    const message =
      kind === 'chat'
        ? `${group.name} is an embeddings model: it does not serve chat completions (use /v1/embeddings).`
        : `${group.name} is a chat model: it does not create embeddings.`;
    throw GatewayError.badRequest(message, 'model', 'model_not_supported');
  }
  const fits = group.deployments.filter(
    (d) => !d.config.contextWindow || d.config.contextWindow >= profile.promptTokens + (profile.maxTokens ?? 0),
  );
  if (!fits.length) {
    throw GatewayError.badRequest(
      `This request (about ${profile.promptTokens} prompt tokens plus ${profile.maxTokens ?? 0} for the completion) exceeds the context window of every deployment of ${group.name}.`,
      'messages',
      'context_length_exceeded',
    );
  }
  const capable = fits.filter((d) => profile.needs.every((n) => d.config.capabilities?.includes(n)));
  if (!capable.length) {
    throw GatewayError.badRequest(
      `No deployment of ${group.name} supports ${profile.needs.join(', ')} (its config declares no such capability).`,
      null,
      'unsupported_capability',
    );
  }
  const open = capable.filter((d) => breakers.get(d.id).wouldAllow(now));
  if (!open.length) {
    const closed = capable.map((d) => breakers.get(d.id));
    const retryAfter = Math.max(1, Math.ceil((Math.min(...closed.map((b) => b.openUntil)) - now) / 1000));
    throw closed.every((b) => b.openedBy === 'rate_limit') ? rateLimited(group.name, retryAfter) : coolingDown(group.name, retryAfter);
  }
  return open;
}

/** Every deployment is waiting out its upstream's Retry-After: the client should wait too. */
function rateLimited(group: string, retryAfter: number): GatewayError {
  const message = `Every deployment of ${group} is rate limited upstream; retry after ${retryAfter} s.`;
  return new GatewayError(429, message, 'rate_limit_error', 'rate_limit_exceeded', null, { 'retry-after': String(retryAfter) });
}

export function coolingDown(group: string, retryAfter: number): GatewayError {
  const message = `Every deployment of ${group} is cooling down after failures; try again shortly.`;
  return new GatewayError(503, message, 'server_error', 'no_healthy_deployment', null, { 'retry-after': String(retryAfter) });
}
