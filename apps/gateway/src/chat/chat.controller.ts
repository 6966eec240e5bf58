import { Controller, HttpCode, Post, Req, Res } from '@nestjs/common';
import { RouteSchema } from '@nestjs/platform-fastify';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { MetricsService } from '@gateway/metrics';
import { type ChatCompletionCreateParams, refuseDuplicateToolNames } from '@gateway/providers';
import { sendJson } from '../http/describe-run';
import { requestState } from '../http/request-state';
import { writeSse } from '../http/sse';
import { ChatPipeline } from '../pipeline/chat-pipeline';
import { chatCompletionSchema } from './chat.schema';

/** POST /v1/chat/completions: the OpenAI protocol, the pipeline's own format, sent as it comes. */
@Controller('v1')
export class ChatController {
  constructor(
    private readonly pipeline: ChatPipeline,
    private readonly metrics: MetricsService,
  ) {}

  @Post('chat/completions')
  @HttpCode(200)
  @RouteSchema({ body: chatCompletionSchema })
  async create(@Req() request: FastifyRequest, @Res() reply: FastifyReply): Promise<void> {
    const body = request.body as ChatCompletionCreateParams;
    // Up front, whatever the deployment: a model group may fail over to a vendor that refuses them.
    refuseDuplicateToolNames(
      (body.tools ?? []).map((tool) => (tool.type === 'function' ? tool.function.name : undefined)),
      (i) => `tools[${i}].function.name`,
    );
    const outcome = await this.pipeline.run(request, reply, body);
    if (outcome.stream) return writeSse(reply, outcome.frames, this.metrics);
    sendJson(reply, requestState(request), outcome.result);
  }
}
