import { Controller, HttpCode, Post, Req, Res } from '@nestjs/common';
import { RouteSchema } from '@nestjs/platform-fastify';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { ChatCompletionCreateParams } from '@gateway/providers';
import { type Deployment, Executor, ModelCatalog } from '@gateway/router';
import { clientSignal } from '../http/client-signal';
import { requestState } from '../http/request-state';
import { writeSse } from '../http/sse';
import { chatCompletionSchema } from './chat.schema';

/** POST /v1/chat/completions: resolve the model, run the plan, answer as OpenAI does. */
@Controller('v1')
export class ChatController {
  constructor(
    private readonly catalog: ModelCatalog,
    private readonly executor: Executor,
  ) {}

  @Post('chat/completions')
  @HttpCode(200)
  @RouteSchema({ body: chatCompletionSchema })
  async create(@Req() request: FastifyRequest, @Res() reply: FastifyReply): Promise<void> {
    const body = request.body as ChatCompletionCreateParams;
    const group = this.catalog.resolve(body.model);
    const state = requestState(request);
    state.model = group.name;
    const signal = clientSignal(reply);
    const ctx = (d: Deployment) => ({ upstreamModel: d.upstreamModel, signal, requestId: request.id, deployment: d.config });

    if (body.stream) {
      state.stream = true;
      const run = await this.executor.run(group, signal, (d) => d.provider.chatStream(body, ctx(d)));
      describe(reply, state, run.deployment, run.attempts);
      await writeSse(reply, run.result);
      this.recordUsage(state, run.result.usage);
      return;
    }
    const run = await this.executor.run(group, signal, (d) => d.provider.chat(body, ctx(d)));
    describe(reply, state, run.deployment, run.attempts);
    this.recordUsage(state, run.result.usage);
    reply.code(200).type('application/json').send(run.result.body);
  }

  private recordUsage(state: ReturnType<typeof requestState>, usage: { prompt_tokens: number; completion_tokens: number } | undefined): void {
    state.promptTokens = usage?.prompt_tokens;
    state.completionTokens = usage?.completion_tokens;
  }
}

/** Response headers naming who served the request; also kept for the access log. */
export function describe(reply: FastifyReply, state: ReturnType<typeof requestState>, d: Deployment, attempts: number): void {
  state.provider = d.provider.name;
  state.deployment = d.id;
  state.upstreamModel = d.upstreamModel;
  state.attempts = attempts;
  reply.header('x-gateway-provider', d.provider.name);
  reply.header('x-gateway-upstream-model', d.upstreamModel);
  reply.header('x-gateway-deployment', d.id);
  reply.header('x-gateway-attempts', String(attempts));
}
