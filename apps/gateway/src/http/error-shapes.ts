import type { IncomingHttpHeaders } from 'node:http';
import { type GatewayError, inOpenAiOutputWords, inOpenAiWords } from '@gateway/providers';
import { ANTHROPIC_ERRORS, isAnthropicRequest } from '../messages/errors';
import { inResponsesNames, isResponsesRequest } from '../responses/errors';

/** How one ingress protocol writes an error: as a response, and as the frame that ends a broken stream. */
export interface ErrorShape {
  status(error: GatewayError): number;
  /** `requestId` is absent for requests Node's parser refused before they had one. */
  body(error: GatewayError, requestId?: string): object;
  streamFrame(error: GatewayError, requestId: string): string;
}

/**
 * OpenAI's error JSON and statuses; `param`, and the message where it quotes it, name the parameter as
 * the caller's API does (the Responses API's own names), except in an unknown-parameter error, which
 * names what the caller sent.
 * OpenAI has no `not_found_error` type (Anthropic's, which the gateway's own 404s carry): an
 * unknown route or object is its `invalid_request_error`. A prompt over the context window, and a
 * max_tokens over the model's output cap, are worded as OpenAI words them, whichever vendor (or the
 * gateway's estimate, or its config) found them; the cap's `param` is the one the chat client sent
 * (namingBudget), else the vendor's, else max_tokens, as the caller's API names it.
 */
function openAiErrors(names?: typeof inResponsesNames): ErrorShape {
  const body = (error: GatewayError) => {
    const json = error.toJSON();
    if (error.overflow) json.error.message = inOpenAiWords(error.message, error.overflow);
    if (error.outputCap) json.error.param = error.outputCap.param ?? json.error.param ?? 'max_tokens';
    if (names && error.code !== 'unknown_parameter') Object.assign(json.error, names(json.error.message, json.error.param));
    if (error.outputCap) json.error.message = inOpenAiOutputWords(error.message, error.outputCap, json.error.param!);
    if (json.error.type === 'not_found_error') json.error.type = 'invalid_request_error';
    return json;
  };
  return { status: (error) => error.status, body, streamFrame: (error) => `data: ${JSON.stringify(body(error))}\n\n` };
}

const OPENAI_ERRORS = openAiErrors();

/** What a request is recognised by: a Fastify request, or Node's own before any route runs. */
type RequestLike = { url?: string; headers: IncomingHttpHeaders };

/** Protocols whose clients expect their own error shape, by how their requests are recognised; OpenAI's otherwise. */
const PROTOCOLS: [(request: RequestLike) => boolean, ErrorShape][] = [
  [isAnthropicRequest, ANTHROPIC_ERRORS],
  [isResponsesRequest, openAiErrors(inResponsesNames)],
];

/** The error shape of the protocol the caller speaks (OpenAI's when nothing is known of the request). */
export function errorShape(request?: RequestLike): ErrorShape {
  return (request && PROTOCOLS.find(([matches]) => matches(request))?.[1]) || OPENAI_ERRORS;
}
