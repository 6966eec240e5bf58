import { Controller, HttpCode, Post, Req, Res } from '@nestjs/common';
import { RouteSchema } from '@nestjs/platform-fastify';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { CACHE_HEADERS, CacheService, parseControls, replayAsStream } from '@gateway/cache';
import { MetricsService } from '@gateway/metrics';
import type { ChatCompletionCreateParams } from '@gateway/providers';
import { type Deployment, Executor, primeStream, RouterService } from '@gateway/router';
import { AdmissionService } from '@gateway/security';
import { clientSignal } from '../http/client-signal';
import { describeRun, sendJson } from '../http/describe-run';
import { requestState } from '../http/request-state';
import { writeSse } from '../http/sse';
import { chatCompletionSchema } from './chat.schema';

/** POST /v1/chat/completions: plan the route, admit the key, answer from cache or upstream. */
@Controller('v1')
export class ChatController {
  constructor(
    private readonly router: RouterService,
    private readonly executor: Executor,
    private readonly admission: AdmissionService,
    private readonly cache: CacheService,
    private readonly metrics: MetricsService,
  ) {}

  @Post('chat/completions')
  @HttpCode(200)
  @RouteSchema({ body: chatCompletionSchema })
  async create(@Req() request: FastifyRequest, @Res() reply: FastifyReply): Promise<void> {
    const body = request.body as ChatCompletionCreateParams;
    const task = request.headers['x-gateway-task'];
    const plan = this.router.planChat(body, typeof task === 'string' ? task : undefined);
    const state = requestState(request);
    state.model = plan.group.name;
    state.stream = body.stream === true;
    state.reservation = await this.admission.admit(request, reply, body.model, plan);

    const cached = this.cache.enabled
      ? await this.cache.lookup(
          body,
          this.cache.scope(request.gatewayKey?.id ?? 'anonymous', plan.group.name),
          parseControls(request.headers),
        )
      : undefined;
    if (cached) {
      state.cache = cached.status;
      reply.header(CACHE_HEADERS.result, cached.header);
    }
    if (cached?.body !== undefined) {
      if (body.stream) return writeSse(reply, replayAsStream(cached.body, body.stream_options?.include_usage === true), this.metrics);
      return void reply.code(200).type('application/json').send(cached.body);
    }

    const signal = clientSignal(reply);
    const ctx = (d: Deployment, attemptSignal: AbortSignal) => ({
      upstreamModel: d.upstreamModel,
      signal: attemptSignal,
      requestId: request.id,
      deployment: d.config,
    });
    if (body.stream) {
      const run = await this.executor.run(
        plan,
        signal,
        'ttft',
        (d, s) => primeStream(d.provider.chatStream(body, ctx(d, s))),
        state.timeline,
      );
      describeRun(reply, state, plan, run);
      return writeSse(reply, cached ? this.cache.recordStream(cached, run.result) : run.result, this.metrics);
    }
    const run = await this.executor.run(plan, signal, 'total', (d, s) => d.provider.chat(body, ctx(d, s)), state.timeline);
    describeRun(reply, state, plan, run);
    sendJson(reply, state, run.result);
    if (cached) void this.cache.store(cached, run.result.body);
  }
}
