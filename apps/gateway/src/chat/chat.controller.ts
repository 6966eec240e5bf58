import { Injectable, type OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { MetricsService } from '@gateway/metrics';
import {
  type ChatCompletionCreateParams,
  GatewayError,
  refuseAbsentChosenTools,
  refuseDuplicateToolNames,
  refuseToolChoiceWithoutTools,
} from '@gateway/providers';
import { ShutdownState } from '../health/shutdown-state';
import { sendJson } from '../http/describe-run';
import { requestState } from '../http/request-state';
import { writeSse } from '../http/sse';
import { type ChatOutcome, ChatPipeline } from '../pipeline/chat-pipeline';
import { chatCompletionSchema } from './chat.schema';

/**
 * POST /v1/chat/completions: the OpenAI protocol, the pipeline's own format, sent as it comes.
 * The busiest route is a Fastify route of its own, not a Nest controller's: Nest's per-request
 * execution context (its router proxy, guards, pipes, interceptors and parameter factories, each
 * an async step) was ~11 µs a request of CPU profile for nothing this route uses. Registered as the
 * module starts, on the same Fastify instance as Nest's routes, so it gets every hook they get (the
 * /v1 authentication, the access line), its body is checked against the same schema, and what it
 * throws reaches the same exception filter (error.filter.ts) through Fastify's error handler, which
 * Nest sets.
 */
@Injectable()
export class ChatController implements OnModuleInit {
  constructor(
    private readonly pipeline: ChatPipeline,
    private readonly metrics: MetricsService,
    private readonly http: HttpAdapterHost,
    private readonly shutdown: ShutdownState,
  ) {}

  onModuleInit(): void {
    const fastify = this.http.httpAdapter.getInstance<FastifyInstance>();
    fastify.post('/v1/chat/completions', { schema: { body: chatCompletionSchema } }, (request, reply) => this.create(request, reply));
  }

  async create(request: FastifyRequest, reply: FastifyReply): Promise<void> {
    const body = request.body as ChatCompletionCreateParams;
    // Up front, whatever the deployment: a model group may fail over to a vendor that refuses them.
    // A request without tools has no names to compare (no array, set or closures on most requests' path).
    if (body.tools?.length)
      refuseDuplicateToolNames(
        body.tools.map((tool) => (tool.type === 'function' ? tool.function.name : undefined)),
        (i) => `tools[${i}].function.name`,
      );
    refuseAbsentChosenTools(body.tool_choice, body.tools);
    refuseToolChoiceWithoutTools(body.tool_choice, body.tools);
    refuseStreamOptionsWithoutStream(body);
    // A try, not a `.catch`: no second promise and tick on every request for an error few have.
    let outcome: ChatOutcome;
    try {
      outcome = await this.pipeline.run(request, reply, body);
    } catch (err) {
      throw namingBudget(err, body);
    }
    if (outcome.stream) return writeSse(reply, outcome.frames, this.metrics, this.shutdown);
    sendJson(reply, requestState(request), outcome.result);
  }
}

/**
 * `err` naming, where it is a completion budget over the model's output cap, the parameter the client set it by, as
 * OpenAI does: `max_completion_tokens` (which wins when both are sent, maxTokensOf), else `max_tokens`. The router's
 * refusal assumed `max_tokens`, and an upstream names what the gateway sent it.
 */
function namingBudget(err: unknown, body: ChatCompletionCreateParams): unknown {
  if (err instanceof GatewayError && err.outputCap)
    err.outputCap = { ...err.outputCap, param: body.max_completion_tokens != null ? 'max_completion_tokens' : 'max_tokens' };
  return err;
}

/**
 * OpenAI refuses stream_options on a request that does not stream, in these words; the gateway
 * did so only when the request reached an OpenAI-format deployment that sends it on (other vendors
 * ignored it), so one client got a 400 or a 200 depending on where the request went.
 */
function refuseStreamOptionsWithoutStream(body: ChatCompletionCreateParams): void {
  if (body.stream_options == null || body.stream === true) return;
  throw GatewayError.badRequest("The 'stream_options' parameter is only allowed when 'stream' is enabled.", 'stream_options');
}
