import { Injectable } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { CACHE_HEADERS, CacheService, parseControls, replayAsStream, withFreshId } from '@gateway/cache';
import {
  answeredModel,
  type CallContext,
  type ChatCompletionCreateParams,
  GatewayError,
  type ChatStream,
  type CompletionUsage,
  type JsonResult,
  type NativeRequest,
} from '@gateway/providers';
import { type AttemptCall, type Deployment, Executor, primeStream, RouterService } from '@gateway/router';
import { type AttemptTiming, MetricsService } from '@gateway/metrics';
import { AdmissionService } from '@gateway/security';
import { ShutdownState } from '../health/shutdown-state';
import { deploymentFor, limitedByGateway } from './budget-output';
import { chargedIfAbandoned } from '../http/abandoned-charge';
import { billedUsage } from '../http/accounting';
import { clientSignal } from '../http/client-signal';
import { describedRun, describeGroup } from '../http/describe-run';
import { chargeEmbedding } from '../http/embedding-charge';
import { attemptStarted, requestState, tenantOf, upstreamHeaders } from '../http/request-state';
import { ReasoningStateStore } from '../reasoning-state/reasoning-state.store';

/**
 * A complete OpenAI `chat.completion`, or a stream of OpenAI SSE frames, for a codec to send;
 * `provider`: the name of the provider whose stream it is (none for a cache's replay), for the
 * codecs to name when its events are not what they should be.
 */
export type ChatOutcome = { stream: false; result: JsonResult } | { stream: true; frames: ChatStream; provider?: string };

/**
 * The one path every chat-shaped request takes, whatever protocol it arrived in:
 * plan the route, admit the key (limits, budget), answer from the cache or the
 * upstream through the executor (retries, fallbacks), and record what happened.
 * Each ingress protocol is a codec around it: it turns its request into OpenAI chat
 * params and the outcome back into its own wire format.
 */
@Injectable()
export class ChatPipeline {
  constructor(
    private readonly router: RouterService,
    private readonly executor: Executor,
    private readonly admission: AdmissionService,
    private readonly cache: CacheService,
    private readonly reasoningState: ReasoningStateStore,
    private readonly metrics: MetricsService,
    private readonly shutdown: ShutdownState,
  ) {}

  /** `native`: the request in a vendor's own protocol, for that vendor's adapter to send as it is (CallContext). */
  async run(request: FastifyRequest, reply: FastifyReply, body: ChatCompletionCreateParams, native?: NativeRequest): Promise<ChatOutcome> {
    const task = request.headers['x-gateway-task'];
    const plan = this.router.planChat(
      body,
      typeof task === 'string' ? task : undefined,
      native,
      this.admission.permit(request, body.model),
    );
    const state = requestState(request);
    state.model = plan.group.name;
    state.stream = body.stream === true;
    const admitted = this.admission.admit(request, reply, plan, native?.protocol);
    // Decided in process (a lease's share) most of the time: no tick spent waiting for it then.
    state.reservation = admitted instanceof Promise ? await admitted : admitted;

    const signal = clientSignal(reply);
    // A request only its vendor's API can serve (NativeRequest.only) neither reads nor writes the cache:
    // its chat params are a stand-in (server tools as plain functions) that another request could share.
    const cached =
      this.cache.enabled && !native?.only
        ? await this.cache.lookup(
            body,
            this.cache.scope(tenantOf(request), plan.group.name, native?.keyExtras),
            parseControls(request.headers),
            // The first deployment answering in the request's own protocol gives a vendor's answer, never stored.
            {
              signal,
              lead: native?.protocol !== plan.deployments[0]?.provider.type,
              embedded: (call) => chargeEmbedding(request, call, this.metrics, this.admission),
              charging: (charged) => (state.charging = charged),
            },
          )
        : undefined;
    if (signal.aborted) throw GatewayError.clientClosed();
    if (cached) {
      state.cache = cached.status;
      plan.waitedMs = cached.waitedMs;
      reply.header(CACHE_HEADERS.result, cached.header);
    }
    if (cached?.body !== undefined) {
      describeGroup(reply, state, { group: plan.group.name, route: plan.route });
      state.replayed = cached.usage;
      const answer = withFreshId(cached.body);
      return body.stream
        ? { stream: true, frames: replayAsStream(answer, body.stream_options?.include_usage === true) }
        : { stream: false, result: { body: answer } };
    }
    // Whatever becomes of this request, identical ones waiting for its answer must not wait longer.
    if (cached?.pending) reply.raw.once('close', () => this.cache.release(cached));
    // A stored answer keeps the usage it was billed with: not counts the bill did not believe.
    const billed = (reported: CompletionUsage | undefined) => billedUsage(state, reported);

    const reasoning = this.reasoningState.forTenant(tenantOf(request));
    const ctx = (d: Deployment, attemptSignal: AbortSignal, timing?: AttemptTiming, sent?: () => void) => {
      attemptStarted(state, d);
      return {
        upstreamModel: d.upstreamModel,
        signal: attemptSignal,
        requestId: request.id,
        upstreamId: (id: string) => void (state.upstreamRequestId = id),
        deployment: deploymentFor(d, state.reservation, plan.profile.promptTokens),
        native,
        upstreamHeaders: upstreamHeaders(request, timing),
        reasoning,
        sent,
      };
    };
    // An attempt, charged when the gateway hangs up on it once it went upstream (chargedIfAbandoned).
    const attempt =
      <T>(call: (d: Deployment, ctx: CallContext) => Promise<T>): AttemptCall<T> =>
      (d, s, t, sent) => {
        const charge = { request, deployment: d, promptTokens: plan.profile.promptTokens, admission: this.admission };
        return chargedIfAbandoned((noted) => call(d, ctx(d, s, t, noted)), s, sent, charge);
      };
    if (body.stream) {
      const run = await describedRun(
        reply,
        state,
        plan,
        this.executor.runStream(
          plan,
          signal,
          // Primed here, inside the charge: the attempt lasts until the first chunk (runStream).
          attempt((d, c) => primeStream(d.provider.chatStream(body, c))),
          state.timeline,
        ),
      );
      if (state.trace) state.responseModel = answeredModel(run.result.opening);
      state.streamed = run.result.produced;
      state.served = run.result;
      // A vendor's own answer (ChatStream.native) is not what the cache replays: not stored.
      const record = cached && !run.result.native;
      if (cached && !record) this.cache.release(cached, 'unshareable');
      const frames = record
        ? this.cache.recordStream(
            cached,
            run.result,
            billed,
            !limitedByGateway(run.deployment, state.reservation, plan.profile.promptTokens),
          )
        : run.result;
      return { stream: true, frames, provider: run.deployment.provider.name };
    }
    // A client that leaves once its request was sent upstream is charged for what it asked: the upstream answers in full (runWhole).
    const running = describedRun(
      reply,
      state,
      plan,
      this.executor.runWhole(
        plan,
        signal,
        attempt((d, c) => d.provider.chat(body, c)),
        this.shutdown.graceOverSignal,
        state.timeline,
      ),
    );
    state.finishing = running;
    const run = await running;
    if (state.trace) state.responseModel = answeredModel(run.result.body);
    state.answer = state.served = run.result;
    if (cached && !run.result.native)
      void this.cache.store(
        cached,
        run.result.body,
        run.result.usage,
        billed,
        !limitedByGateway(run.deployment, state.reservation, plan.profile.promptTokens),
      );
    else if (cached) this.cache.release(cached, 'unshareable');
    return { stream: false, result: run.result };
  }
}
