import { STATUS_CODES } from 'node:http';
import { HttpException } from '@nestjs/common';
import { GatewayError, textStart } from '@gateway/providers';
import { redisRefusal } from '@gateway/redis';

interface FastifyLikeError {
  code?: string;
  statusCode?: number;
  // `propertyName`: the key whose name broke a `propertyNames` rule (the error's path is its object's).
  validation?: { instancePath: string; keyword: string; message?: string; params: Record<string, unknown>; propertyName?: string }[];
  validationContext?: string;
}

/** Fastify's own errors, by code, as the OpenAI error the client should get. */
const FASTIFY_ERRORS: Record<string, (e: FastifyLikeError) => GatewayError> = {
  FST_ERR_CTP_BODY_TOO_LARGE: () =>
    new GatewayError(413, 'Request body is larger than the gateway accepts.', 'invalid_request_error', 'request_too_large'),
  FST_ERR_CTP_INVALID_MEDIA_TYPE: () =>
    new GatewayError(
      415,
      "Unsupported content type: send 'Content-Type: application/json'.",
      'invalid_request_error',
      'unsupported_media_type',
    ),
  FST_ERR_CTP_INVALID_JSON_BODY: () => GatewayError.badRequest('We could not parse the JSON body of your request.', null, 'invalid_json'),
  FST_ERR_CTP_EMPTY_JSON_BODY: () => GatewayError.badRequest('Request body is empty; expected a JSON object.', null, 'invalid_json'),
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: () => GatewayError.badRequest('Content-Length does not match the body.', null, 'invalid_body'),
  // Fastify's own answers to these repeat the path; ours do not.
  FST_ERR_BAD_URL: () => GatewayError.badRequest('The request path is not a valid URL (bad percent-encoding).', null, 'invalid_url'),
  FST_ERR_MAX_PARAM_LENGTH: () =>
    new GatewayError(414, 'A path segment of the request is too long.', 'invalid_request_error', 'uri_too_long'),
};

/**
 * ioredis' own failures when Redis is away or slow (RedisService fails commands fast
 * instead of queueing them): a path that does not handle them itself (the admin API)
 * answers a retryable 503, as the key lookup does, not a bare 500. On a Redis Cluster
 * also the client's (no node reachable yet, slots unknown, redirections or retries of
 * TRYAGAIN / CLUSTERDOWN used up) and those replies themselves: each passes.
 */
const REDIS_UNAVAILABLE = new RegExp(
  '^(' +
    [
      "Command timed out|Stream isn't writeable|Connection is closed|Reached the max retries per request limit",
      "Cluster isn't ready|Too many Cluster redirections|Failed to refresh slots cache|None of startup nodes is available",
      'CLUSTERDOWN|TRYAGAIN',
    ].join('|') +
    ')',
);

/** The answer to a request for a route the gateway does not have. */
export function unknownRoute(): GatewayError {
  return new GatewayError(404, 'Unknown route.', 'not_found_error', 'not_found');
}

/**
 * Whatever was thrown, as the gateway error to send. Unknown errors become a bare
 * 500 and unknown client errors a message from their status alone: no stack, no
 * message that could leak internals or repeat the request. A bare SyntaxError is one of
 * those: the client's body that is not JSON comes with Fastify's code (FST_ERR_CTP_INVALID_JSON_BODY),
 * and one thrown elsewhere parsed text the gateway got from an upstream or its stores, no
 * fault of the client's (read as the body's, an upstream's bad event was a 400 to the client).
 */
export function toGatewayError(err: unknown): GatewayError {
  if (err instanceof GatewayError) return err;
  const e = (err ?? {}) as FastifyLikeError;
  if (e.validation?.length) return fromValidation(e.validation[0], e.validationContext);
  const known = e.code && FASTIFY_ERRORS[e.code];
  if (known) return known(e);
  if (err instanceof HttpException) {
    // Nest wraps Fastify's own errors (parse, size, schema); the original says more.
    if (err.cause) return toGatewayError(err.cause);
    const status = err.getStatus();
    if (status === 404) return unknownRoute();
    return new GatewayError(status, err.message, status < 500 ? 'invalid_request_error' : 'server_error', null);
  }
  if (err instanceof Error && REDIS_UNAVAILABLE.test(err.message)) return redisUnavailable('Redis is not answering');
  // Redis answered, refusing the command: made nothing, and passes later (full, a replica now...) or once the operator
  // fixes the gateway's Redis user (the filter logs it for them).
  const refusal = redisRefusal(err);
  if (refusal?.kind === 'transient') return redisUnavailable(refusal.reason);
  if (refusal) return new GatewayError(500, `Redis refused the gateway: ${refusal.reason}.`, 'server_error', 'redis_misconfigured');
  if (typeof e.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500) {
    return new GatewayError(e.statusCode, `${STATUS_CODES[e.statusCode] ?? 'Bad Request'}.`, 'invalid_request_error', e.code ?? null);
  }
  return new GatewayError(500, 'Internal gateway error.', 'server_error', 'internal_error');
}

/** A retryable 503: Redis cannot serve the request now, for `reason`. */
function redisUnavailable(reason: string): GatewayError {
  return new GatewayError(503, `${reason}; try again shortly.`, 'server_error', 'redis_unavailable', null, { 'retry-after': '1' });
}

/** Errors the operator must see in the log, as the client's answer says nothing useful to them (a bare 500) or to fix. */
export function operatorMustSee(error: GatewayError): boolean {
  return error.code === 'internal_error' || error.code === 'redis_misconfigured';
}

type AjvError = NonNullable<FastifyLikeError['validation']>[number];

/** One JSON-schema failure as OpenAI phrases it, with `param` in OpenAI's dotted form. */
function fromValidation(v: AjvError, context = 'body'): GatewayError {
  const segments = v.instancePath
    .split('/')
    .slice(1)
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
  if (v.keyword === 'required') segments.push(String(v.params.missingProperty));
  if (v.keyword === 'additionalProperties') segments.push(String(v.params.additionalProperty));
  const param = segments.reduce((path, s) => (/^\d+$/.test(s) ? `${path}[${s}]` : path ? `${path}.${s}` : s), '') || null;
  const name = param ?? context;
  const message =
    v.keyword === 'required'
      ? `Missing required parameter: '${name}'.`
      : v.keyword === 'type'
        ? `Invalid type for '${name}': expected ${oneOf(String(v.params.type).split(','))}.`
        : v.keyword === 'additionalProperties'
          ? `Unrecognized request argument supplied: '${name}'.`
          : v.propertyName !== undefined
            ? `Invalid key '${shortened(v.propertyName)}' in '${name}': ${v.message}.`
            : `Invalid value for '${name}': ${v.message}.`;
  return GatewayError.badRequest(message, param, v.keyword === 'required' ? 'missing_required_parameter' : 'invalid_value');
}

/** A client's key as an error message quotes it: the start of it, as the key may be as long as the body. */
function shortened(key: string): string {
  return key.length > 64 ? `${textStart(key, 64)}…` : key;
}

/** ['string', 'null', 'array'] -> "string, null or array". */
function oneOf(types: string[]): string {
  return types.length > 1 ? `${types.slice(0, -1).join(', ')} or ${types.at(-1)}` : types[0];
}
