import type { FastifyRequest } from 'fastify';
import { costOf } from '@gateway/metrics';
import { GatewayError } from '@gateway/providers';
import type { Deployment } from '@gateway/router';
import type { AdmissionService } from '@gateway/security';
import { requestState } from './request-state';

/** The gateway's own reasons to hang up on an attempt: its timeout (router.timeouts.attemptMs), the run's deadline. */
const HANG_UPS = new Set(['upstream_timeout', 'deadline_exceeded']);

/**
 * `call`, and when the gateway hung up on it (`signal` aborted for a HANG_UPS reason) after its request went
 * upstream (`wasSent`), a charge to the request's key: the upstream had the whole prompt and may bill it, and
 * the router may send it again (retries, fallbacks), so a tenant's long requests are not free however often
 * they time out. Billed is the prompt's estimate (`promptTokens`) at the deployment's price, with no output
 * (what it wrote before the hang-up is unknown), added to the key's spend as chargeEmbedding's is and summed
 * in the access line (`abandonedCostUsd`, an estimate). A client that left is not the gateway hanging up.
 */
export function chargedIfAbandoned<T>(
  call: Promise<T>,
  signal: AbortSignal,
  wasSent: () => boolean,
  charge: { request: FastifyRequest; deployment: Deployment; promptTokens: number; admission: AdmissionService },
): Promise<T> {
  return call.catch((error: unknown) => {
    const reason: unknown = signal.aborted ? signal.reason : undefined;
    if (reason instanceof GatewayError && HANG_UPS.has(reason.code ?? '') && wasSent()) chargeAbandoned(charge);
    throw error;
  });
}

function chargeAbandoned({ request, deployment, promptTokens, admission }: Parameters<typeof chargedIfAbandoned>[3]): void {
  const { usd } = costOf({ prompt_tokens: promptTokens, completion_tokens: 0 }, deployment.config.price);
  const state = requestState(request);
  state.abandonedCostUsd = (state.abandonedCostUsd ?? 0) + usd;
  if (state.reservation) admission.charge(state.reservation, { model: state.model!, tokens: promptTokens, usd });
}
