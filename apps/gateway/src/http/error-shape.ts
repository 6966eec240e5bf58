import { ANTHROPIC_ERROR_TYPES_BY_STATUS, type GatewayError } from '@gateway/providers';

/** An error as one protocol's clients parse it. */
type ErrorShape = (error: GatewayError) => object;

/** OpenAI's `{"error":{"message","type","param","code"}}`: the default on every route. */
const openAIShape: ErrorShape = (error) => error.toJSON();

/** Anthropic's error `type` by status; the gateway's 503 (no deployment can answer now) reads as overloaded. */
const ANTHROPIC_TYPES: Record<number, string> = { ...ANTHROPIC_ERROR_TYPES_BY_STATUS, 503: 'overloaded_error' };

/** Anthropic's `{"type":"error","error":{"type","message"}}`. */
const anthropicShape: ErrorShape = (error) => ({
  type: 'error',
  error: {
    // Other 4xx are invalid requests, other 5xx API errors.
    type: ANTHROPIC_TYPES[error.status] ?? (error.status < 500 ? 'invalid_request_error' : 'api_error'),
    message: error.message,
  },
});

/** Each protocol's error shape by path prefix; the first match wins, OpenAI's shape is the default. */
const SHAPES: [prefix: string, shape: ErrorShape][] = [['/v1/messages', anthropicShape]];

/** The JSON body of `error` in the protocol of the route at `url` (path and query; undefined when unknown). */
export function errorBody(url: string | undefined, error: GatewayError): string {
  const path = (url ?? '').split('?', 1)[0];
  const shape = SHAPES.find(([prefix]) => path === prefix || path.startsWith(`${prefix}/`))?.[1] ?? openAIShape;
  return JSON.stringify(shape(error));
}
