import { Controller, Delete, Get, HttpCode, Param, Post, Query, Req, Res } from '@nestjs/common';
import { RouteSchema } from '@nestjs/platform-fastify';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { MetricsService } from '@gateway/metrics';
import { bodyText, type ChatCompletion, GatewayError } from '@gateway/providers';
import type { ResponseItemList } from 'openai/resources/responses/input-items';
import type { Response } from 'openai/resources/responses/responses';
import { ShutdownState } from '../health/shutdown-state';
import { sendJson } from '../http/describe-run';
import { requestState, tenantOf } from '../http/request-state';
import { writeSse } from '../http/sse';
import { ChatPipeline } from '../pipeline/chat-pipeline';
import { TokenCounter } from '../pipeline/token-count';
import { isResponseId, newResponseId } from './ids';
import { notFound } from './errors';
import { type IncludeQuery, checkIncludeQuery } from './include-query';
import { resolveReferences } from './item-references';
import { type InputItemsQuery, inputItemsPage } from './input-items-page';
import { callNames, itemType, type ResponsesRequest, toChatParams } from './request';
import { type ResponseContext, toResponse } from './response';
import { createResponseSchema } from './responses.schema';
import { ResponseStore, STORED_HEADER, type StoredResponse } from './store';
import { ResponseEventEncoder } from './stream';
import { searchedTools } from './tool-search';

/**
 * The OpenAI Responses API: a codec over the chat pipeline. Requests become chat
 * params (request.ts), answers become a Response (response.ts) or its event stream
 * (stream.ts). Stored responses (store.ts) back previous_response_id, item_reference,
 * GET / DELETE and the input items list, per tenant (the gateway key).
 */
@Controller('v1/responses')
export class ResponsesController {
  constructor(
    private readonly pipeline: ChatPipeline,
    private readonly tokens: TokenCounter,
    private readonly store: ResponseStore,
    private readonly metrics: MetricsService,
    private readonly shutdown: ShutdownState,
  ) {}

  @Post()
  @HttpCode(200)
  @RouteSchema({ body: createResponseSchema })
  async create(@Req() request: FastifyRequest, @Res() reply: FastifyReply): Promise<void> {
    const body = request.body as ResponsesRequest;
    const tenant = tenantOf(request);
    const { previous, input, searched, chat } = await this.translate(tenant, body);
    const ctx: ResponseContext = {
      id: newResponseId(),
      createdAt: Math.floor(Date.now() / 1000),
      request: body,
      store: body.store ?? this.store.settings.storeByDefault,
      callNames: callNames([...(body.tools ?? []), ...searched, ...searchedTools(input)]),
    };
    // Its record keeps only what it adds to the conversation it continues, linked to that response.
    const save = (response: Response) =>
      ctx.store ? this.store.put(tenant, { response, input }, previous?.response.id) : Promise.resolve(undefined);

    const outcome = await this.pipeline.run(request, reply, chat);
    if (!outcome.stream) {
      const completion = JSON.parse(bodyText(outcome.result.body)) as ChatCompletion;
      const response = toResponse(completion, ctx);
      const stored = await save(response);
      if (stored !== undefined) reply.header(STORED_HEADER, String(stored));
      return sendJson(reply, requestState(request), { body: JSON.stringify(response), usage: outcome.result.usage });
    }
    const encoder = new ResponseEventEncoder(ctx);
    return writeSse(reply, encoder.encode(outcome, save), this.metrics, this.shutdown, (error) => encoder.failure(error));
  }

  /**
   * OpenAI's input token count (`client.responses.inputTokens.count()`): the prompt a create with
   * this body would send (previous_response_id and item_reference resolved), counted as the
   * Messages API's count_tokens counts (TokenCounter).
   */
  @Post('input_tokens')
  @HttpCode(200)
  @RouteSchema({ body: createResponseSchema })
  async inputTokens(
    @Req() request: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<{ object: 'response.input_tokens'; input_tokens: number }> {
    const { chat } = await this.translate(tenantOf(request), request.body as ResponsesRequest);
    return { object: 'response.input_tokens', input_tokens: await this.tokens.count(request, reply, chat, 'openai') };
  }

  /**
   * OpenAI's conversation compaction is a model call whose output (an encrypted `compaction` item)
   * only OpenAI reads back: not served here. Without this route the path read as a response id,
   * and the 405 told the client to use GET or DELETE.
   */
  @Post('compact')
  compact(): never {
    throw new GatewayError(
      404,
      'POST /v1/responses/compact (compacting a conversation) is not supported by this gateway.',
      'invalid_request_error',
      'unsupported_endpoint',
      null,
    );
  }

  @Get(':id')
  async retrieve(
    @Req() request: FastifyRequest,
    @Param('id') id: string,
    @Query() { stream, ...include }: IncludeQuery & { stream?: string },
  ): Promise<Response> {
    checkIncludeQuery(include);
    if (stream === 'true')
      throw GatewayError.badRequest('Streaming a stored response again is not supported.', 'stream', 'unsupported_parameter');
    const found = isResponseId(id) ? await this.store.response(tenantOf(request), id) : undefined;
    if (!found) throw notFound(`Response with id '${id}' not found.`, null);
    return found;
  }

  @Get(':id/input_items')
  async inputItems(@Req() request: FastifyRequest, @Param('id') id: string, @Query() query: InputItemsQuery): Promise<ResponseItemList> {
    checkIncludeQuery(query);
    return inputItemsPage((await this.stored(tenantOf(request), id)).items ?? [], query);
  }

  @Delete(':id')
  async remove(@Req() request: FastifyRequest, @Param('id') id: string): Promise<{ id: string; object: 'response'; deleted: true }> {
    if (!isResponseId(id) || !(await this.store.delete(tenantOf(request), id))) throw notFound(`Response with id '${id}' not found.`, null);
    return { id, object: 'response', deleted: true };
  }

  /** The request as chat params, with the stored response it continues and the items it references resolved. */
  private async translate(tenant: string, body: ResponsesRequest) {
    const previous = body.previous_response_id ? await this.previous(tenant, body.previous_response_id) : undefined;
    const input = await resolveReferences(body.input, (responseId) => this.store.get(tenant, responseId));
    // Tools the conversation's tool searches loaded stay callable (tool-search.ts).
    const searched = searchedTools(previous?.items);
    return { previous, input, searched, chat: toChatParams({ ...body, input }, previous?.messages, searched) };
  }

  private async stored(tenant: string, id: string): Promise<StoredResponse> {
    const found = isResponseId(id) ? await this.store.get(tenant, id) : undefined;
    if (!found) throw notFound(`Response with id '${id}' not found.`, null);
    return found;
  }

  /**
   * A continuation of a response the gateway cannot find (unknown, `store: false`, deleted, expired,
   * another key's) is OpenAI's 400 `previous_response_not_found`, not the 404 of GET: clients such as
   * Codex recover on that code by sending the whole conversation again.
   */
  private async previous(tenant: string, id: string): Promise<StoredResponse> {
    const found = await this.stored(tenant, id).catch((err: GatewayError) => {
      if (err.status !== 404) throw err;
      throw GatewayError.badRequest(`Previous response with id '${id}' not found.`, 'previous_response_id', 'previous_response_not_found');
    });
    // A failed response is kept to be read (GET), not continued: its output stopped anywhere, a call
    // without its arguments' end or a message cut mid-word. Continue from the one before it instead.
    if (found.response.status === 'failed') {
      throw GatewayError.badRequest(
        `Previous response with id '${id}' failed and cannot be continued; continue from the response before it, or send the conversation again.`,
        'previous_response_id',
        'invalid_value',
      );
    }
    return found;
  }
}
