import { Injectable } from '@nestjs/common';
import type { DeploymentConfig, ProviderType } from '@gateway/config';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { dearestCompletionPrice, dearestPromptPrice } from '@gateway/metrics';
import { GatewayError } from '@gateway/providers';
import type { ModelPermit, Plan } from '@gateway/router';
import { type KeyRecord, mayUseModel } from './key-record';
import { type Admitted, type Demand, LimitsService, type LimitsLeft, type Reservation, type Usage } from './limits.service';
import { rateHeadersOf } from './rate-headers';

/** Tokens reserved for the completion when neither the request nor the deployment bounds it (README, Routing: why others assume others). */
const DEFAULT_COMPLETION_RESERVE = 256;

/**
 * The most output per choice a budgeted key's request without a limit is sent as its limit, on a deployment
 * that declares no `maxOutputTokens`: the smallest output cap of current chat models (gpt-3.5-turbo's), so
 * that no upstream refuses it as over its model's cap (a 400 that does not fail over). A budget that pays for
 * more sends no limit there: the answer is not cut, and may pass the budget by what it costs (README, Budgets).
 */
const BUDGETED_OUTPUT = 4096;

/**
 * Checks a request against its key before any upstream call: the model is allowed (403
 * otherwise; while planning, through `permit`), then, once planned, RPM, TPM and budget in
 * one atomic step (429 when over), reserving the request's worst case until it settles with
 * actual usage. The answer tells the key's limits in the headers of the request's protocol.
 */
@Injectable()
export class AdmissionService {
  constructor(private readonly limits: LimitsService) {}

  /**
   * The key's model permission, for the router to check on the group `requestedModel` resolved
   * to before it looks at the group's health (RouterService.planChat): a model the key may never
   * use is a 403, not a 503 "try again shortly" while that model's deployments cool down.
   */
  permit(request: FastifyRequest, requestedModel: string): ModelPermit {
    return (group) => {
      const key = request.gatewayKey;
      if (key) allowModel(key, requestedModel, group);
    };
  }

  /**
   * `protocol`: the request's own when not OpenAI's (NativeRequest.protocol). The reservation
   * itself when the limits decide in process (a lease's share), else its promise; for the caller
   * to await either way (a refusal may then be thrown at once), and to settle when the response
   * closes (request-hooks.ts). A response that closed first (its client left while the admission
   * was decided, or before it began) has had its close: the reservation is given back here, with
   * nothing spent, and the request ends as the client's (499); kept, nothing would ever settle it,
   * and its hold and tokens in flight would stay (a lease re-synced every second, for ever).
   */
  admit(
    request: FastifyRequest,
    reply: FastifyReply,
    plan: Plan,
    protocol?: ProviderType,
  ): Reservation | undefined | Promise<Reservation | undefined> {
    const key = request.gatewayKey;
    if (!key) return undefined;
    const body = request.body as { max_completion_tokens?: unknown } | undefined;
    const lever = levers(request, body, plan.profile.choices);
    const demandFor = (left: LimitsLeft): Demand => ({ ...worstCase(plan, left), levers: lever });
    // Only a request without an output limit is sized by what is left: it may be sized anew from what Redis reports.
    const resize = plan.profile.maxTokens === undefined ? demandFor : undefined;
    const admitted = this.limits.admit(key, demandFor(this.limits.limitsLeft(key)), rateHeadersOf(protocol), resize);
    return admitted instanceof Promise ? admitted.then((a) => this.taken(reply, a)) : this.taken(reply, admitted);
  }

  /** The admission's reservation for a response still open (admit); else settled now, and the client's leaving thrown. */
  private taken(reply: FastifyReply, admitted: Admitted): Reservation {
    if (reply.raw.closed) {
      this.limits.settle(admitted.reservation, undefined);
      throw GatewayError.clientClosed();
    }
    return withHeaders(reply, admitted);
  }

  /**
   * A token count (the Messages API's count_tokens, the Responses API's input_tokens), its model
   * permitted while planning (permit): the count is a request against the key's RPM, since it may call
   * the vendor with the gateway's key; not against TPM or the budget, as counting uses no tokens
   * and costs nothing. Settled at once: the count holds nothing while it runs, and a lease's place in
   * flight kept for it would keep the lease synced for ever. `protocol` as for admit.
   */
  async admitTokenCount(request: FastifyRequest, reply: FastifyReply, protocol?: ProviderType): Promise<void> {
    const key = request.gatewayKey;
    if (!key) return;
    const admitted = await this.limits.admitFree(key, rateHeadersOf(protocol));
    this.limits.settle(admitted.reservation, undefined);
    withHeaders(reply, admitted);
  }

  /** Settles a reservation with what the request really used (nothing when no upstream answered). */
  settle(reservation: Reservation, usage: Usage | undefined): void {
    this.limits.settle(reservation, usage);
  }

  /** Spend of the request beyond its answer (LimitsService.charge), under its key. */
  charge(reservation: Reservation, usage: Usage): void {
    this.limits.charge(reservation.keyId, usage);
  }
}

/** Puts the admission's rate-limit headers on the answer; its reservation. */
function withHeaders(reply: FastifyReply, { reservation, headers }: Admitted): Reservation {
  // for-in, not Object.entries: no array a header.
  for (const name in headers) reply.header(name, headers[name]);
  return reservation;
}

/** 403 unless the key may use the model, by the name the client sent or the group it resolved to. */
function allowModel(key: KeyRecord, requestedModel: string, group: string): void {
  if (!mayUseModel(key, requestedModel, group)) {
    throw new GatewayError(
      403,
      `This API key may not use the model \`${requestedModel}\`.`,
      'permission_error',
      'model_not_allowed',
      'model',
    );
  }
}

/** What a refusal tells the client to lower (Demand.levers): the fields of its own API. */
function levers(request: FastifyRequest, body: { max_completion_tokens?: unknown } | undefined, choices: number): string {
  // An embedding has no output to bound: its inputs are all it costs.
  if (request.routeOptions.url === '/v1/embeddings') return 'the number or length of the inputs';
  const field =
    request.routeOptions.url === '/v1/responses'
      ? 'max_output_tokens'
      : body?.max_completion_tokens !== undefined
        ? 'max_completion_tokens'
        : 'max_tokens';
  return choices > 1 ? `${field} or n` : field;
}

/**
 * Tokens and USD the request can use at most: the prompt estimate plus its
 * completion budget (`max_tokens`, else the deployment's `maxOutputTokens`, else
 * 256, at most what `left` pays for: see budgetedOutput and tpmOutput) for each of its `n` choices, and
 * the web searches it may run, priced at the dearest deployment it may be sent to.
 * The prompt is priced as if all of it were written to the dearest cache, since only
 * the answer says what was. `outputCaps`: the outputs capped by what is left, by deployment id.
 */
function worstCase(plan: Plan, left: LimitsLeft): Demand {
  const { promptTokens: prompt, webSearches = 0, choices, maxTokens } = plan.profile;
  const tpmCap = maxTokens === undefined ? tpmOutput(left.tokens, prompt, choices) : undefined;
  let tokens = 0;
  let usd = 0;
  let outputCaps: Map<string, number> | undefined;
  for (const d of plan.deployments) {
    const price = d.config.price;
    const fast = mayBeFast(d, plan.profile);
    const promptUsd = price ? (prompt * dearestPromptPrice(price, fast)) / 1e6 + (webSearches * (price.webSearch ?? 0)) / 1000 : 0;
    const budgeted = maxTokens === undefined ? budgetedOutput(d.config, left.usd, promptUsd, choices, fast) : undefined;
    const uncapped = budgeted ?? d.config.maxOutputTokens ?? DEFAULT_COMPLETION_RESERVE;
    // One rule for both limits: the output a hold or a reservation covers is the output sent upstream.
    const capped = tpmCap !== undefined && tpmCap < uncapped ? tpmCap : budgeted;
    if (capped !== undefined) (outputCaps ??= new Map()).set(d.id, capped);
    const completion = choices * (maxTokens ?? capped ?? uncapped);
    tokens = Math.max(tokens, prompt + completion);
    if (price) usd = Math.max(usd, promptUsd + (completion * dearestCompletionPrice(price, fast)) / 1e6);
  }
  return { tokens, usd, ...(webSearches > 0 && { webSearches }), ...(outputCaps && { outputCaps }) };
}

/**
 * The output per choice a request that sets no limit is reserved for against the TPM, and sent (Reservation.outputCaps)
 * when less than it would be: what the window left (`tokensLeft`: the whole TPM until a refusal reports the window's
 * use) holds after the prompt, at least a token (a prompt alone over the limit is then refused as too large). Reserved
 * at the deployment's `maxOutputTokens`, such a request could never pass a smaller TPM; capped at the whole TPM and not
 * sent, it was refused for a window once the window had any use (race33 D3), or ran past what it reserved.
 */
function tpmOutput(tokensLeft: number | undefined, prompt: number, choices: number): number | undefined {
  return tokensLeft === undefined ? undefined : Math.max(1, Math.floor((tokensLeft - prompt) / choices));
}

/**
 * Whether `d`'s answer may be billed at `tiers.fast`: Anthropic serves fast mode only to a request asking for it
 * (`speed: "fast"`, which only a Messages body carries), so its other requests are not held at fast rates
 * (recheck31a: a key with $0.01 left was refused a request fast mode could not serve). Another vendor's answer
 * names its tier (OpenAI's `fast`, its priority processing renamed), whatever the request asked: held at all.
 */
function mayBeFast(d: Plan['deployments'][number], profile: Plan['profile']): boolean {
  return d.provider.type !== 'anthropic' || profile.fastMode === true;
}

/**
 * The output per choice a request that sets no limit is held for and sent (Reservation.outputCaps) when its key
 * has a budget and the deployment prices output: what the budget left (`budgetLeft`, after the prompt's
 * `promptUsd`) pays for, at most the deployment's `maxOutputTokens` (without one: only when it is under BUDGETED_OUTPUT), at least a token (a
 * request whose prompt alone is more than is left is then refused as over budget). Unsent, the 256 tokens held
 * bounded nothing: a $0.05 key spent $2 in one answer. As the TPM reservation holds no more than the window left
 * (tpmOutput), a hold is at most the budget left; the request may then wait for others to settle.
 */
function budgetedOutput(
  config: DeploymentConfig,
  budgetLeft: number | undefined,
  promptUsd: number,
  choices: number,
  fast: boolean,
): number | undefined {
  const outputPrice = config.price && dearestCompletionPrice(config.price, fast);
  if (budgetLeft === undefined || !outputPrice) return undefined;
  const affordable = Math.floor(((budgetLeft - promptUsd) * 1e6) / outputPrice / choices);
  if (config.maxOutputTokens === undefined && affordable >= BUDGETED_OUTPUT) return undefined;
  return Math.max(1, Math.min(config.maxOutputTokens ?? BUDGETED_OUTPUT, affordable));
}
