import { Controller, HttpCode, Post, Req, Res } from '@nestjs/common';
import { RouteSchema } from '@nestjs/platform-fastify';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { MetricsService } from '@gateway/metrics';
import { bodyText, type CompletionUsage, parseExactIntegers, wholeUsage } from '@gateway/providers';
import { ShutdownState } from '../health/shutdown-state';
import { billedUsage } from '../http/accounting';
import { sendJson } from '../http/describe-run';
import { type RequestState, requestState, tenantOf } from '../http/request-state';
import { writeSse } from '../http/sse';
import { ChatPipeline } from '../pipeline/chat-pipeline';
import { TokenCounter } from '../pipeline/token-count';
import { toMessageResult, toMessageStream } from './codec';
import { inMessagesTerms } from './errors';
import { countTokensSchema, messagesSchema } from './messages.schema';
import { toChatRequest } from './request';
import { keepingReply, THREAD_KEPT_HEADER, type ThreadReply } from './threads/assemble';
import { MessageThreads, type ThreadedRequest, type ThreadRequest } from './threads/threads';
import { type MessagesRequest, newMessageId } from './wire';

/**
 * The Anthropic Messages API: a codec around the one chat pipeline. The request is
 * translated to chat params (routing, limits, cache and accounting see what they see
 * for OpenAI clients); an Anthropic deployment gets the original body as well and
 * sends that upstream, so cache_control and other Anthropic-only fields survive. A
 * request with what only Anthropic runs (server tools) is routed to Anthropic deployments only.
 * A request on a message thread (`thread`) is made whole first (threads/threads.ts) and its
 * answer kept for the next turn, whichever vendor served it.
 */
@Controller('v1/messages')
export class MessagesController {
  constructor(
    private readonly pipeline: ChatPipeline,
    private readonly tokens: TokenCounter,
    private readonly metrics: MetricsService,
    private readonly threads: MessageThreads,
    private readonly shutdown: ShutdownState,
  ) {}

  @Post()
  @HttpCode(200)
  @RouteSchema({ body: messagesSchema })
  async create(@Req() request: FastifyRequest, @Res() reply: FastifyReply): Promise<void> {
    const thread = await this.threads.open(tenantOf(request), request.body as ThreadedRequest, betaHeader(request));
    try {
      await this.answer(request, reply, thread);
    } finally {
      await thread?.settle();
    }
  }

  private async answer(request: FastifyRequest, reply: FastifyReply, thread: ThreadRequest | undefined): Promise<void> {
    const body = thread?.body ?? (request.body as MessagesRequest);
    const { chat, native, toolNames } = toChatRequest(body, thread ? thread.beta : betaHeader(request));
    const thinking = chat.reasoning_effort !== undefined;
    const outcome = await this.pipeline.run(request, reply, chat, native).catch((err: unknown) => {
      throw inMessagesTerms(err, body.model);
    });
    // A thread keeps answers by id: each gets a fresh one (a cached answer's would repeat, and not every upstream's is unique).
    const id = thread && newMessageId();
    const state = requestState(request);
    const writing = { thinking, toolNames, billed: (reported: CompletionUsage | undefined) => shownUsage(state, reported) };
    if (outcome.stream) {
      const frames = toMessageStream(outcome, writing, body.model, state.promptEstimate);
      return writeSse(reply, thread ? keepingReply(frames, id!, thread.keep) : frames, this.metrics, this.shutdown);
    }
    const result = toMessageResult(outcome.result, writing, id);
    // A client that left while its answer came (it is still billed: Executor.runWhole) never saw it: the thread is not
    // continued by it, and the continue is let go of as a failed one is, for the client to send again.
    if (thread && !reply.raw.destroyed)
      reply.header(THREAD_KEPT_HEADER, String(await thread.keep(parseExactIntegers(bodyText(result.body)) as ThreadReply)));
    sendJson(reply, state, result);
  }

  /**
   * The prompt's tokens as TokenCounter counts them (Anthropic's own count on an Anthropic
   * deployment, else the gateway's estimate). An Anthropic-only request (server tools) is planned
   * like a message, so its first deployment is an Anthropic one. A count on a message thread
   * (`thread`) counts the request it stands for: a continue's whole conversation.
   */
  @Post('count_tokens')
  @HttpCode(200)
  @RouteSchema({ body: countTokensSchema })
  async countTokens(@Req() request: FastifyRequest, @Res({ passthrough: true }) reply: FastifyReply): Promise<{ input_tokens: number }> {
    const thread = await this.threads.counted(tenantOf(request), request.body as ThreadedRequest, betaHeader(request));
    const body = thread?.body ?? (request.body as MessagesRequest);
    const { chat, native } = toChatRequest(body, thread ? thread.beta : betaHeader(request), true);
    return { input_tokens: await this.tokens.count(request, reply, chat, 'anthropic', native) };
  }
}

/**
 * The usage a message carries for the usage `reported`: as the gateway bills it (the prompt as counted, the output
 * counted or estimated: billedUsage), or on a cache hit the usage stored with the answer, which it was billed with.
 * Counts, never zeros (Claude Code sizes its context by them), and the bill's: not the gateway's estimate of a prompt
 * the upstream counted. `reported` itself when the bill (or a hit, whole) took it (output-count.ts compares so).
 */
function shownUsage(state: RequestState, reported: CompletionUsage | undefined): CompletionUsage {
  const hit = state.replayed;
  if (!hit) return billedUsage(state, reported).usage;
  const completion = hit.completion_tokens ?? 0;
  return (
    wholeUsage(reported) ?? {
      prompt_tokens: hit.prompt_tokens,
      completion_tokens: completion,
      total_tokens: hit.prompt_tokens + completion,
    }
  );
}

/** The client's anthropic-beta header (Node joins a repeated one into one list, with ', '). */
function betaHeader(request: FastifyRequest): string | undefined {
  return request.headers['anthropic-beta'] as string | undefined;
}
