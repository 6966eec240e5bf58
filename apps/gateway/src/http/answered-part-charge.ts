import type { FastifyRequest } from 'fastify';
import type { MetricsService } from '@gateway/metrics';
import type { AnsweredPart } from '@gateway/providers';
import type { Deployment } from '@gateway/router';
import type { AdmissionService } from '@gateway/security';
import { bill } from './accounting';
import { requestState, tenantOf } from './request-state';

/**
 * Charges `request`'s key for the upstream calls of an embeddings attempt on `d` that failed though some of its calls
 * were answered (CallContext.answeredInPart: a Gemini request's batches answered before another failed): the vendor
 * bills them, and a retry sends them again. Their usage is checked (else estimated) as an answer's would be, against
 * `promptTokensAtMost` (the request's inputs' bound), at the deployment's price: added to the key's spend (budgets)
 * and gateway_cost_usd_total at once, its tokens to the key's TPM window when the request settles (request-hooks),
 * and summed in the access line (`failedAttemptCostUsd`). No operation of the GenAI metrics: the request's outcome is.
 */
export function chargeAnsweredPart(
  request: FastifyRequest,
  d: Deployment,
  part: AnsweredPart,
  promptTokensAtMost: number | undefined,
  metrics: MetricsService,
  admission: AdmissionService,
): void {
  const { usage, costUsd } = bill({
    deployment: d.id,
    price: d.config.price,
    usage: part.usage,
    promptEstimate: part.promptTokens,
    embeddings: true,
    usageLimits: { prompt: promptTokensAtMost },
  })!;
  const state = requestState(request);
  metrics.recordCost(d.provider.name, state.model!, tenantOf(request), costUsd);
  if (state.reservation) admission.charge(state.reservation, { model: state.model!, tokens: usage.prompt_tokens, usd: costUsd });
  state.failedAttemptTokens = (state.failedAttemptTokens ?? 0) + usage.prompt_tokens;
  state.failedAttemptCostUsd = (state.failedAttemptCostUsd ?? 0) + costUsd;
}
