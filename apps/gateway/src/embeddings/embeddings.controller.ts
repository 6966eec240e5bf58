import { Controller, HttpCode, Post, Req, Res } from '@nestjs/common';
import { RouteSchema } from '@nestjs/platform-fastify';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { EmbeddingCreateParams } from '@gateway/providers';
import { Executor, ModelCatalog } from '@gateway/router';
import { describe } from '../chat/chat.controller';
import { clientSignal } from '../http/client-signal';
import { requestState } from '../http/request-state';
import { embeddingsSchema } from './embeddings.schema';

@Controller('v1')
export class EmbeddingsController {
  constructor(
    private readonly catalog: ModelCatalog,
    private readonly executor: Executor,
  ) {}

  @Post('embeddings')
  @HttpCode(200)
  @RouteSchema({ body: embeddingsSchema })
  async create(@Req() request: FastifyRequest, @Res() reply: FastifyReply): Promise<void> {
    const body = request.body as EmbeddingCreateParams;
    const group = this.catalog.resolve(body.model);
    const state = requestState(request);
    state.model = group.name;
    const signal = clientSignal(reply);
    const run = await this.executor.run(group, signal, (d) =>
      d.provider.embeddings(body, { upstreamModel: d.upstreamModel, signal, requestId: request.id, deployment: d.config }),
    );
    describe(reply, state, run.deployment, run.attempts);
    state.promptTokens = run.result.usage?.prompt_tokens;
    reply.code(200).type('application/json').send(run.result.body);
  }
}
