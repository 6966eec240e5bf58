import { Controller, HttpCode, Post, Req, Res } from '@nestjs/common';
import { RouteSchema } from '@nestjs/platform-fastify';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { answeredModel, checkEmbeddingSize, type EmbeddingCreateParams, embeddingInputs, KeptAnswers } from '@gateway/providers';
import { MetricsService } from '@gateway/metrics';
import { AdmissionService } from '@gateway/security';
import { Executor, RouterService } from '@gateway/router';
import { ShutdownState } from '../health/shutdown-state';
import { chargeAnsweredPart } from '../http/answered-part-charge';
import { clientSignal } from '../http/client-signal';
import { describedRun, sendJson } from '../http/describe-run';
import { attemptStarted, requestState, upstreamHeaders } from '../http/request-state';
import { embeddingsSchema } from './embeddings.schema';

@Controller('v1')
export class EmbeddingsController {
  constructor(
    private readonly router: RouterService,
    private readonly executor: Executor,
    private readonly admission: AdmissionService,
    private readonly metrics: MetricsService,
    private readonly shutdown: ShutdownState,
  ) {}

  @Post('embeddings')
  @HttpCode(200)
  @RouteSchema({ body: embeddingsSchema })
  async create(@Req() request: FastifyRequest, @Res() reply: FastifyReply): Promise<void> {
    const body = request.body as EmbeddingCreateParams;
    checkEmbeddingSize(embeddingInputs(body.input));
    const plan = this.router.planEmbeddings(body.model, body.input, this.admission.permit(request, body.model));
    const state = requestState(request);
    state.model = plan.group.name;
    state.reservation = await this.admission.admit(request, reply, plan);
    const signal = clientSignal(reply);
    // What an attempt's upstream answered though it failed, for the request's later attempts (KeptAnswers).
    const kept = new KeptAnswers();
    // A client that leaves once its request was sent upstream is charged for what it asked: the upstream answers in full (runWhole).
    const running = describedRun(
      reply,
      state,
      plan,
      this.executor.runWhole(
        plan,
        signal,
        (d, s, t, sent) => {
          attemptStarted(state, d);
          return d.provider.embeddings(body, {
            upstreamModel: d.upstreamModel,
            signal: s,
            requestId: request.id,
            upstreamId: (id: string) => void (state.upstreamRequestId = id),
            deployment: d.config,
            upstreamHeaders: upstreamHeaders(request, t),
            sent,
            answeredInPart: (part) => chargeAnsweredPart(request, d, part, plan.profile.promptTokensAtMost, this.metrics, this.admission),
            kept,
          });
        },
        this.shutdown.graceOverSignal,
        state.timeline,
      ),
    );
    state.finishing = running;
    const run = await running;
    if (state.trace) state.responseModel = answeredModel(run.result.body);
    sendJson(reply, state, run.result);
  }
}
