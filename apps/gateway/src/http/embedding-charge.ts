import type { FastifyRequest } from 'fastify';
import type { EmbeddingCall } from '@gateway/cache';
import { genAiProviderName, type MetricsService } from '@gateway/metrics';
import type { AdmissionService } from '@gateway/security';
import { bill } from './accounting';
import { requestState, tenantOf } from './request-state';

/**
 * Bills a priced embedding call the semantic cache made for `request` (cache.semantic.embeddingModel)
 * to the request's key, as an embeddings request of its own would be: usage checked (else estimated)
 * and priced by the answering deployment, counted in the GenAI metrics and `gateway_cost_usd_total`
 * under the embedding model group, added to the key's spend (budgets), and summed in the request's
 * access line (`embeddingCostUsd`).
 */
export function chargeEmbedding(request: FastifyRequest, call: EmbeddingCall, metrics: MetricsService, admission: AdmissionService): void {
  const d = call.deployment;
  const { usage, costUsd } = bill({
    deployment: d.id,
    price: d.config.price,
    usage: call.usage,
    promptEstimate: call.promptTokens,
    embeddings: true,
    usageLimits: { prompt: call.promptTokensAtMost },
  })!;
  metrics.recordCompletion({
    operation: 'embeddings',
    genAiProvider: genAiProviderName(d.provider),
    provider: d.provider.name,
    requestModel: call.model,
    responseModel: d.upstreamModel,
    key: tenantOf(request),
    inputTokens: usage.prompt_tokens,
    outputTokens: 0,
    costUsd,
    webSearches: 0,
    seconds: call.elapsedMs / 1000,
  });
  const state = requestState(request);
  if (state.reservation) admission.charge(state.reservation, { model: call.model, tokens: usage.prompt_tokens, usd: costUsd });
  state.embeddingCostUsd = (state.embeddingCostUsd ?? 0) + costUsd;
}
