import { Injectable } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { ProviderType } from '@gateway/config';
import { genAiProviderName } from '@gateway/metrics';
import type { ChatCompletionCreateParams, NativeRequest } from '@gateway/providers';
import { asGatewayError, endAttempt, RouterService, startAttempt } from '@gateway/router';
import { AdmissionService } from '@gateway/security';
import { clientSignal } from '../http/client-signal';
import { attemptStarted, requestState, upstreamHeaders } from '../http/request-state';

/**
 * The prompt tokens of a chat request, for the token-count endpoints (the Messages API's
 * count_tokens, the Responses API's input_tokens): the first deployment's own count when its
 * vendor offers one (Anthropic), else (or when that call fails) the router's estimate, about four
 * characters a token. The `x-gateway-token-count` header says which. The key is checked as for
 * a request: its models, and its RPM (AdmissionService.admitTokenCount), answered in the headers
 * of the caller's protocol.
 */
@Injectable()
export class TokenCounter {
  constructor(
    private readonly router: RouterService,
    private readonly admission: AdmissionService,
  ) {}

  async count(
    request: FastifyRequest,
    reply: FastifyReply,
    chat: ChatCompletionCreateParams,
    protocol: ProviderType,
    native?: NativeRequest,
  ): Promise<number> {
    const plan = this.router.planChat(chat, undefined, native, this.admission.permit(request, chat.model));
    const state = requestState(request);
    state.model = plan.group.name;
    await this.admission.admitTokenCount(request, reply, protocol);
    const d = plan.deployments[0];
    if (d?.provider.countTokens) {
      const signal = clientSignal(reply);
      state.genAiProvider = genAiProviderName(d.provider);
      // Counted (metrics, access line) under the deployment asked, as any request that tried an upstream is.
      attemptStarted(state, d);
      // Timed as a router attempt is, so the upstream call has its span and its traceparent names it.
      const timing = state.timeline && startAttempt(state.timeline, d, Date.now());
      const ctx = {
        upstreamModel: d.upstreamModel,
        signal,
        requestId: request.id,
        deployment: d.config,
        native,
        upstreamHeaders: upstreamHeaders(request, timing),
      };
      const counted = await d.provider.countTokens(chat, ctx).then(
        (tokens) => {
          if (timing) endAttempt(timing, Date.now());
          return tokens;
        },
        (err: unknown) => {
          if (timing) endAttempt(timing, Date.now(), asGatewayError(err, signal));
          return undefined;
        },
      );
      if (counted !== undefined) {
        reply.header('x-gateway-token-count', `upstream; deployment=${d.id}`);
        return counted;
      }
      // The estimate answers: the gateway's count, under `none` as README says (the failed try is in `attempts`).
      state.attempting = undefined;
    }
    reply.header('x-gateway-token-count', 'estimate');
    return plan.profile.promptTokens;
  }
}
