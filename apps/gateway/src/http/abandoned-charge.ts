import type { FastifyRequest } from 'fastify';
import { costOf } from '@gateway/metrics';
import { GatewayError } from '@gateway/providers';
import type { Deployment } from '@gateway/router';
import type { AdmissionService } from '@gateway/security';
import { requestState } from './request-state';

/**
 * The gateway's own reasons to hang up on an attempt through its signal: its timeout (router.timeouts.attemptMs), the
 * run's deadline. The provider's `timeoutMs` hangs up in the transport instead (timedOut).
 */
const HANG_UPS = new Set(['upstream_timeout', 'deadline_exceeded']);

/**
 * `call`, and when the gateway hung up on it (`signal` aborted for a HANG_UPS reason, or the provider's `timeoutMs` ran
 * out: timedOut) after its request went
 * upstream, a charge to the request's key: the upstream had the whole prompt and may bill it, and the router may
 * send it again (retries, fallbacks), so a tenant's long requests are not free however often they time out.
 * Sent is what the transport says (CallContext.sent, called by `call` through the function it is given, which
 * passes it on to `sent`): a request still queued for one of the pool's connections is not. `call` is the attempt
 * as the executor awaits it: a stream's up to its first chunk (runStream), so one whose upstream sent its headers
 * and then nothing is charged too; a stream hung up on after its first chunk is billed as any served stream ended
 * early (its usage so far), not here. Billed is the prompt's estimate (`promptTokens`) at the deployment's price,
 * with no output (what it wrote before the hang-up is unknown), added to the key's spend as chargeEmbedding's is
 * and summed in the access line (`abandonedCostUsd`, an estimate). A client that left is not the gateway hanging up.
 */
export function chargedIfAbandoned<T>(
  call: (sent: () => void) => Promise<T>,
  signal: AbortSignal,
  sent: (() => void) | undefined,
  charge: { request: FastifyRequest; deployment: Deployment; promptTokens: number; admission: AdmissionService },
): Promise<T> {
  const note = new SentNote(sent);
  return call(note.sent).catch((error: unknown) => {
    if (note.went && (hungUp(signal) || timedOut(error))) chargeAbandoned(charge);
    throw error;
  });
}

/** Whether the gateway hung up on the attempt: its signal aborted for one of HANG_UPS. */
function hungUp(signal: AbortSignal): boolean {
  const reason: unknown = signal.aborted ? signal.reason : undefined;
  return reason instanceof GatewayError && HANG_UPS.has(reason.code ?? '');
}

/**
 * Whether the attempt ended on its provider's own `timeoutMs` (no headers, or no body chunk, in time): the
 * transport hung up on it as the route's timeout does (upstreamStatus `timeout`, which only that gives).
 */
function timedOut(error: unknown): boolean {
  return error instanceof GatewayError && error.upstreamStatus === 'timeout';
}

/**
 * Whether the transport wrote the request (`went`), from the `sent` it is given, which tells `passOn` too. An
 * object of its own: the transport holds `sent` as long as the request runs (a stream's to its end), and a closure
 * written in chargedIfAbandoned would hold its charge (the request) with it (V8: one context for a function's closures).
 */
class SentNote {
  went = false;

  constructor(private readonly passOn: (() => void) | undefined) {}

  readonly sent = (): void => {
    this.went = true;
    this.passOn?.();
  };
}

function chargeAbandoned({ request, deployment, promptTokens, admission }: Parameters<typeof chargedIfAbandoned>[3]): void {
  const { usd } = costOf({ prompt_tokens: promptTokens, completion_tokens: 0 }, deployment.config.price);
  const state = requestState(request);
  state.abandonedCostUsd = (state.abandonedCostUsd ?? 0) + usd;
  if (state.reservation) admission.charge(state.reservation, { model: state.model!, tokens: promptTokens, usd });
}
