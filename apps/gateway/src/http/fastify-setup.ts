import type { FastifyInstance } from 'fastify';
import { GatewayError, jsonShapeError, jsonShapeProblem, limitJsonDepth } from '@gateway/providers';
import { type AdminGuard, type ApiAuth, installAdminAuth, installApiAuth, emptyBodyIsNone } from '@gateway/security';
import { installEmbeddingsCaps } from '../embeddings/embeddings-caps';
import { installHttpGuards } from './client-error';
import { withExactToolInputs } from '../messages/exact-tool-inputs';
import { forbiddenKeyError } from './forbidden-keys';
import { type AccessDeps, installRequestHooks } from './request-hooks';

/** Time a client gets to send its request headers (slow-loris guard). */
export const HEADERS_TIMEOUT_MS = 10_000;
/** Slow-loris guard: the whole request (headers and body) must arrive in time. */
export const REQUEST_TIMEOUT_MS = 60_000;
/** How often Node checks those two: they fire at most this late (Node's default, 30 s, let them drift by 30 s). */
export const TIMEOUT_CHECK_MS = 1_000;

/** Charsets a JSON body may declare: JSON is UTF-8 (RFC 8259), and ASCII is a subset of it. */
const UTF8_CHARSETS = new Set(['utf-8', 'utf8', 'us-ascii']);

/**
 * The `charset` a Content-Type declares, lower-cased, if any. The body is read as UTF-8 whatever it
 * says: another charset's bytes would reach the model as U+FFFD, the prompt changed without an error.
 */
function declaredCharset(contentType: string | undefined): string | undefined {
  const match = /;\s*charset\s*=\s*(?:"([^"]*)"|([^;\s]*))/i.exec(contentType ?? '');
  return match ? (match[1] ?? match[2]).toLowerCase() : undefined;
}

/**
 * Strict UTF-8: bytes that are not UTF-8 are refused rather than read as U+FFFD. A BOM is dropped here (the decoder's
 * default), not left to the JSON parser: the body's other readers (the exact re-parse of tool inputs) do not skip it
 * (utf34 D2: such a body with a big integer was a 400 "could not parse").
 */
const UTF8 = new TextDecoder('utf-8', { fatal: true });

/** The body as text, or undefined when it is not UTF-8 (another charset undeclared, or corrupt). */
function utf8Text(bytes: Buffer): string | undefined {
  try {
    return UTF8.decode(bytes);
  } catch {
    return undefined;
  }
}

/**
 * Fastify-level set-up that Nest does not cover: timeouts, one JSON parser (any
 * other content type is a 415), the per-request hook for logs and metrics, the /v1 and admin
 * authentication before the body is read (api-auth.ts, admin.guard.ts), the embeddings caps applied
 * before validation (embeddings-caps.ts), and JSON answers where Node would answer on
 * its own (client-error.ts).
 */
export function configureFastify(
  fastify: FastifyInstance,
  deps: AccessDeps,
  auth: { api: ApiAuth; admin: AdminGuard },
  maxJsonDepth: number,
): void {
  fastify.server.headersTimeout = HEADERS_TIMEOUT_MS;
  // Read by Node when the server starts listening (http.createServer's option of the same name).
  Object.assign(fastify.server, { connectionsCheckingInterval: TIMEOUT_CHECK_MS });
  fastify.removeAllContentTypeParsers();
  // JSON the gateway parses out of a body's strings (tool call arguments, tool results) is bounded as the body is.
  limitJsonDepth(maxJsonDepth);
  // Fastify's own parser refuses `__proto__` / `constructor.prototype` (prototype poisoning); we
  // add limits on depth and keys per object, and name the field it refused.
  const parse = fastify.getDefaultJsonParser('error', 'error');
  fastify.addContentTypeParser('application/json', { parseAs: 'buffer' }, (request, bytes, done) => {
    // A route that reads no body (a DELETE, a GET) or may be sent none (a key rotation): an empty one under a JSON content type
    // (openai-python sends that header on every call) is no body, not invalid JSON.
    if (bytes.length === 0 && emptyBodyIsNone(request)) return done(null, undefined);
    // Bodies are read as sent: a compressed one would only fail as JSON, a mislabelled one pass.
    const coding = request.headers['content-encoding'];
    if (coding !== undefined && coding.toLowerCase() !== 'identity') {
      const why = 'Request bodies must not be compressed (Content-Encoding).';
      const headers = { 'accept-encoding': 'identity' };
      return done(new GatewayError(415, why, 'invalid_request_error', 'unsupported_content_encoding', null, headers), undefined);
    }
    const charset = declaredCharset(request.headers['content-type']);
    if (charset !== undefined && !UTF8_CHARSETS.has(charset)) {
      const why = `Request bodies must be UTF-8 JSON; charset=${charset.slice(0, 40)} is not accepted.`;
      return done(new GatewayError(415, why, 'invalid_request_error', 'unsupported_charset'), undefined);
    }
    const body = utf8Text(bytes as Buffer);
    if (body === undefined) {
      return done(GatewayError.badRequest('The request body is not valid UTF-8.', null, 'invalid_utf8'), undefined);
    }
    const shape = jsonShapeProblem(body, maxJsonDepth);
    if (shape) return done(jsonShapeError(shape, maxJsonDepth, null), undefined);
    parse(request, body, (err, parsed) =>
      err ? done(forbiddenKeyError(err, body) ?? err, undefined) : done(null, withExactToolInputs(parsed, body)),
    );
  });
  fastify.decorateRequest('gatewayKey', null);
  installRequestHooks(fastify, deps);
  installApiAuth(fastify, auth.api);
  installAdminAuth(fastify, auth.admin);
  installHttpGuards(fastify);
  installEmbeddingsCaps(fastify);
}
