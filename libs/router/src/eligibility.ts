import { deploymentKind } from '@gateway/config';
import { GatewayError } from '@gateway/providers';
import type { BreakerRegistry } from './breaker-registry';
import type { AccountTrouble } from './deployment-health';
import type { Deployment, ModelGroup } from './model-catalog';
import { refusingDeployments } from './param-refusals';
import type { RequestProfile } from './request-profile';

/** The window assumed for a deployment that declares none: no model holds more, so no request may ask for more. */
export const MAX_REQUEST_TOKENS = 2_097_152;

/** What eligibility leaves of a group for one request. */
export interface Eligible {
  /** The deployments that can serve it now or within the wait cap, in the group's order. */
  deployments: Deployment[];
  /** Those that could serve it but stay out (open breaker, cool-down) longer than the wait cap: the answer lists them as skipped. */
  out: Deployment[];
}

/**
 * Deployments of the group that can serve this request now: of the request's kind
 * (chat or embeddings), on the provider type the request is confined to if it is
 * (RequestProfile.onlyProvider), every needed capability is declared (a deployment that
 * declares none serves text chat only), the context window (or MAX_REQUEST_TOKENS) holds the
 * prompt plus the completion budget (embeddings: the largest input), it takes the request's
 * kind of input (token ids: not a text-only embedder), its adapter takes the request's parameters when another's
 * does (withoutRefusing), and its health lets requests through now or
 * within the wait cap. None left is an error that says why; so is a `max_tokens` above every one's
 * `maxOutputTokens`, before their health is looked at (as the window: none could serve it healthy). Of
 * those left, one whose `maxOutputTokens` is below the request's `max_tokens` is dropped when another
 * can give that many.
 */
export function eligibleDeployments(group: ModelGroup, profile: RequestProfile, breakers: BreakerRegistry, now: number): Eligible {
  const kind = profile.needs.includes('embeddings') ? 'embeddings' : 'chat';
  if (!group.deployments.some((d) => deploymentKind(d.config) === kind)) {
    const message =
      kind === 'chat'
        ? `${group.name} is an embeddings model: it does not serve chat completions (use /v1/embeddings).`
        : `${group.name} is a chat model: it does not create embeddings.`;
    throw GatewayError.badRequest(message, 'model', 'model_not_supported');
  }
  // Capabilities before the window: a request too long for the only deployments that have them is too long, not unsupported.
  const served = onProvider(group, profile.onlyProvider);
  const capable = served.filter((d) => profile.needs.every((n) => d.config.capabilities?.includes(n)));
  if (!capable.length) {
    throw GatewayError.badRequest(
      `No deployment of ${group.name} supports ${profile.needs.join(', ')} (its config declares no such capability).`,
      null,
      'unsupported_capability',
    );
  }
  // Embeddings: each input is embedded on its own, so the window holds the largest, not the sum.
  // No limit asked: the prompt alone must fit, the upstream decides (README, Routing: the output each use assumes).
  const needed = profile.largestInput?.tokens ?? profile.promptTokens + (profile.maxTokens ?? 0);
  const fits = capable.filter((d) => windowOf(d) >= needed);
  if (!fits.length) throw tooLong(group.name, profile, capable, capable.length < served.length);
  // Like a missing capability: a text-only embedder is passed over for token ids, so the next deployment answers.
  const takesInput = profile.tokenIds ? fits.filter((d) => !d.provider.embedsTextOnly) : fits;
  if (!takesInput.length) {
    throw GatewayError.badRequest(
      `No deployment of ${group.name} embeds token ids (${fits[0].provider.type} embeds text only); send strings.`,
      'input',
      'invalid_value',
    );
  }
  const takesParams = withoutRefusing(takesInput, refusingDeployments(group, profile));
  const maxTokens = profile.maxTokens;
  if (maxTokens && !takesParams.some((d) => writes(d, maxTokens))) throw overOutputCap(group.name, maxTokens, takesParams);
  // One that is back within the wait cap, or whose half-open probe may decide within it, stays in the plan:
  // the executor waits for it if nothing else answers.
  const usable = takesParams.filter((d) => breakers.get(d.id).servesWithin(now, breakers.waitCapMs));
  if (!usable.length) throw unavailable(group.name, healthWaits(takesParams, breakers, now), now);
  return { deployments: withRoomFor(usable, profile.maxTokens), out: takesParams.filter((d) => !usable.includes(d)) };
}

/**
 * The deployments whose adapter takes every parameter of the request (refusingDeployments), before their health is
 * looked at (as a capability: one that would refuse is no fallback for one cooling down). When none does, all of
 * them: the request goes as it came, and the first one's adapter refuses it as it always did (400
 * unsupported_parameter, naming the parameter).
 */
function withoutRefusing(deployments: Deployment[], refusing: ReadonlySet<Deployment> | undefined): Deployment[] {
  if (!refusing) return deployments;
  const taking = deployments.filter((d) => !refusing.has(d));
  return taking.length ? taking : deployments;
}

/**
 * The deployments whose `maxOutputTokens` (where set) allows `maxTokens`, when there is one; else all
 * of them (those that could give that many are out for their health): the request goes upstream as it
 * came (no adapter lowers max_tokens), and the upstream decides.
 */
function withRoomFor(deployments: Deployment[], maxTokens: number | undefined): Deployment[] {
  if (!maxTokens) return deployments;
  const roomy = deployments.filter((d) => writes(d, maxTokens));
  return roomy.length ? roomy : deployments;
}

/** Whether a deployment's `maxOutputTokens` (none: no bound known) allows a completion of `maxTokens`. */
function writes(d: Deployment, maxTokens: number): boolean {
  return (d.config.maxOutputTokens ?? Infinity) >= maxTokens;
}

/**
 * A `max_tokens` above every deployment's `maxOutputTokens`: a 400 before any upstream is asked, with the
 * figures (what was asked, the largest bound) each ingress words it with as its vendor does (output-cap.ts):
 * Claude Code, told in Anthropic's words, asks again with the bound. The request is not served with less
 * than it asked for (no adapter lowers max_tokens): a client that sets a budget may count on it.
 */
function overOutputCap(group: string, asked: number, deployments: Deployment[]): GatewayError {
  const cap = Math.max(...deployments.map((d) => d.config.maxOutputTokens!));
  // No parameter named: the client's API names its own (error-shapes.ts, messages/errors.ts), before this text.
  const message = `A completion budget of ${asked} tokens is more than any deployment of ${group} writes (at most ${cap}, its maxOutputTokens).`;
  return GatewayError.overOutputCap(message, { asked, cap });
}

function windowOf(d: Deployment): number {
  return d.config.contextWindow ?? MAX_REQUEST_TOKENS;
}

/**
 * A prompt (embeddings: an input) no capable deployment's context window holds: a 400 naming the param it is in.
 * `narrowed`: the capabilities the request needs left some deployments out. A chat prompt's figures (the
 * estimate, the completion budget, the largest window) let each ingress word it as its vendor does
 * (context-overflow.ts).
 */
function tooLong(group: string, profile: RequestProfile, capable: Deployment[], narrowed: boolean): GatewayError {
  const input = profile.largestInput;
  const window = Math.max(...capable.map(windowOf));
  const every = narrowed ? `every deployment of ${group} that supports ${profile.needs.join(', ')}` : `every deployment of ${group}`;
  const largest = `(the largest holds ${window} tokens)`;
  if (input) {
    // No ingress words an input's refusal with the window (as a chat prompt's figures are): the message names it.
    const at = input.param === 'input' ? '' : ` at ${input.param}`;
    const message = `The input${at} (about ${input.tokens} tokens) exceeds the context window of ${every} ${largest}.`;
    return GatewayError.badRequest(message, input.param, 'context_length_exceeded');
  }
  const which = narrowed ? `${every} ${largest}` : every;
  const message = `This request (about ${profile.promptTokens} prompt tokens plus ${profile.maxTokens ?? 0} for the completion) exceeds the context window of ${which}.`;
  return GatewayError.contextOverflow(message, 'messages', { prompt: profile.promptTokens, completion: profile.maxTokens, window });
}

/** The group's deployments on the provider type a request is confined to (all when it is not); none is a 400 naming the param. */
function onProvider(group: ModelGroup, only: RequestProfile['onlyProvider']): Deployment[] {
  if (!only) return group.deployments;
  const served = group.deployments.filter((d) => d.provider.type === only.type);
  if (!served.length) {
    const message = `${only.reason}; model ${group.name} routes to no '${only.type}' deployment.`;
    throw GatewayError.badRequest(message, only.param, 'unsupported_parameter');
  }
  return served;
}

/** Why one deployment cannot be asked now, as a refusal counts it. */
export interface Wait {
  /** When it may be asked again (Infinity: not known, a probe decides, or not for this request). */
  readyAt: number;
  /** Its wait is an upstream 429's Retry-After (a 503's or 529's is an outage). */
  rateLimited: boolean;
  /** Its wait is the cool-down after its upstream refused the gateway's account (DeploymentHealth.accountTrouble): what it said. */
  trouble?: AccountTrouble;
}

/** Each deployment's wait as its health says, for a request that asked none of them. */
export function healthWaits(deployments: Deployment[], breakers: BreakerRegistry, now: number): Wait[] {
  return deployments.map((d) => {
    const health = breakers.get(d.id);
    return { readyAt: health.readyAt(now), rateLimited: health.rateLimited(now), trouble: health.accountTrouble(now) };
  });
}

/**
 * 429 only when every deployment is waiting out its upstream's Retry-After, else 503; Retry-After says
 * when the first one is back (1 s when none says), at most `maxS` (the header and the message alike).
 */
export function unavailable(group: string, waits: Wait[], now: number, maxS = Infinity): GatewayError {
  const retryAfter = Math.min(firstBackS(waits, now), maxS);
  const trouble = waits.every((w) => w.trouble) && waits[0]?.trouble;
  if (trouble) return refusedAccount(group, trouble, retryAfter);
  return waits.every((w) => w.rateLimited) ? rateLimited(group, retryAfter) : coolingDown(group, retryAfter);
}

/** Whole seconds (at least 1) until the first of `waits` is back; 1 when none says. */
export function firstBackS(waits: Wait[], now: number): number {
  const earliest = Math.min(...waits.map((w) => w.readyAt));
  return Number.isFinite(earliest) ? Math.max(1, Math.ceil((earliest - now) / 1000)) : 1;
}

/** Every deployment is waiting out its upstream's Retry-After: the client should wait too. */
function rateLimited(group: string, retryAfter: number): GatewayError {
  const message = `Every deployment of ${group} is rate limited upstream; retry after ${retryAfter} s.`;
  return new GatewayError(429, message, 'rate_limit_error', 'rate_limit_exceeded', null, { 'retry-after': String(retryAfter) });
}

/**
 * Every deployment is out after its upstream refused the gateway's account (a rejected key, no credit left): what
 * that upstream said (its status and code, a 502 without Retry-After, which the SDKs are told not to retry), not
 * "try again shortly": no wait of the client's clears it. The deployment is asked again after its cool-down.
 */
function refusedAccount(group: string, trouble: AccountTrouble, backS: number): GatewayError {
  const message = `No deployment of ${group} can answer: ${trouble.message} It is asked again in ${backS} s.`;
  return new GatewayError(trouble.status, message, trouble.type, trouble.code).from(trouble.upstreamStatus);
}

function coolingDown(group: string, retryAfter: number): GatewayError {
  const message = `Every deployment of ${group} is cooling down after failures; try again shortly.`;
  return new GatewayError(503, message, 'server_error', 'no_healthy_deployment', null, { 'retry-after': String(retryAfter) });
}
