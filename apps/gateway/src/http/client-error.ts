import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyInstance, FastifyReply, FastifyRequest, RequestPayload } from 'fastify';
import { GatewayError } from '@gateway/providers';
import { errorShape } from './error-shapes';
import { unknownRoute } from './errors';
import { answeredOnSocket, answering, echoRequestId, requestId, requestIdHeaders, requestIdOf } from './request-hooks';
import { requestState } from './request-state';
import { sendError } from './send-error';

/**
 * The answers Node's HTTP server and Fastify would otherwise give on their own,
 * before any route runs (an empty 400, 417 or 431, a closed socket, Fastify's JSON
 * echoing the path), as the gateway's JSON errors in the caller's protocol. None
 * repeats what the client sent.
 */

/** Node's parser errors that have their own status; anything else is a 400. */
const PARSER_ERRORS: Record<string, () => GatewayError> = {
  ERR_HTTP_REQUEST_TIMEOUT: () =>
    new GatewayError(408, 'The request was not received in time.', 'invalid_request_error', 'request_timeout'),
  HPE_HEADER_OVERFLOW: () =>
    new GatewayError(431, 'The request line or headers are too large.', 'invalid_request_error', 'request_header_fields_too_large'),
};

/**
 * A request Node's HTTP parser rejected (malformed request line, oversized headers, slow client,
 * a client that ended the connection mid-request). Its protocol (errorShape) is read from what
 * is known of it (knownRequest). Bound to the Fastify instance whose listener it serves (Fastify
 * binds it so; the ops plane too), which logs and counts it.
 */
export function clientErrorHandler(this: FastifyInstance, err: NodeJS.ErrnoException, socket: Socket): void {
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  const error =
    PARSER_ERRORS[err.code ?? '']?.() ?? GatewayError.badRequest('The HTTP request is malformed.', null, 'malformed_http_request');
  const received = knownRequest(err, socket as ParsedSocket);
  const status = writeToSocket(socket, error, received);
  // A request whose route had begun (its body broke, or timed out) has a line and a count of its own.
  if (status !== undefined && !answering(socket)) this.recordRefusal({ method: received?.method, status, error: error.code! });
}

/** A socket as Node's HTTP server keeps it: its parser, and the request it is parsing (null between requests). */
type ParsedSocket = Socket & { parser?: { incoming?: IncomingMessage | null } | null };

/**
 * What is known of the request an error cut short: the request in progress (its headers parsed,
 * its body broken off, cut by the client's end or too slow: such errors carry no packet, or only
 * the body's last), else the packet the parser refused (its request line and headers). Nothing of
 * a request cut before its headers ended: Node's parser hands over none of them until they end.
 */
function knownRequest(
  err: Error,
  socket: ParsedSocket,
): { method?: string; url?: string; headers: IncomingMessage['headers'] } | undefined {
  const incoming = socket.parser?.incoming;
  if (incoming && !incoming.complete) return incoming;
  const packet = (err as { rawPacket?: Buffer }).rawPacket;
  return packet && receivedRequest(packet);
}

/** What the parser had received of the request: enough to tell its protocol (errorShape), never echoed; and its method, for the access log. */
function receivedRequest(packet: Buffer): { method?: string; url?: string; headers: { 'anthropic-version'?: string } } {
  const head = packet.toString('latin1', 0, Math.min(packet.length, 16 * 1024));
  // A method is a token (RFC 9110): only a plain one is logged, never whatever the client sent.
  const [, method, url] = /^([A-Z]{1,16}) (\S+)/.exec(head) ?? [];
  return { method, url, headers: /\r?\nanthropic-version:/i.test(head) ? { 'anthropic-version': '' } : {} };
}

/** Fastify's router errors (a path that is not valid percent-encoding, a path parameter too long): no hook runs for them. */
export function frameworkErrors(err: Error & { code?: string }, request: FastifyRequest, reply: FastifyReply): void {
  echoRequestId(request, reply);
  sendError(reply, err);
  const { errorCode } = requestState(request);
  request.server.recordRefusal({
    reqId: request.id,
    method: request.method,
    status: reply.statusCode,
    error: errorCode!,
    ms: reply.elapsedTime,
  });
}

/** Responses to `Expect: 100-continue` whose `100 Continue` waits for the request's onRequest hooks (inviteBody). */
const CONTINUE_OWED = new WeakSet<ServerResponse>();

/**
 * What Node answers on its own otherwise, on `server` (each listener): a CONNECT
 * (socket closed without a word), an `Expect` other than 100-continue (an empty
 * 417), `100 Continue` at once to every `Expect: 100-continue` (inviting a body
 * the request's key, or its size, is about to have refused: left to inviteBody)
 * and an HTTP/1.1 request without `Host` (an empty 400; let through here and
 * refused by the hook in installHttpGuards, so it is logged like any request).
 */
export function guardServer(server: Server, fastify: FastifyInstance): void {
  // Read by Node on each request (http.createServer's option of the same name); untyped on the instance.
  (server as Server & { requireHostHeader: boolean }).requireHostHeader = false;
  server.on('checkExpectation', (req: IncomingMessage, res: ServerResponse) => {
    const error = new GatewayError(417, "Only 'Expect: 100-continue' is supported.", 'invalid_request_error', 'expectation_failed');
    // Its headers were read: it has an id (the client's, if it sent one), as every answer says.
    const id = requestId(req);
    const body = JSON.stringify(errorShape(req).body(error, id));
    const status = errorShape(req).status(error);
    for (const name of requestIdHeaders(req)) res.setHeader(name, id);
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), connection: 'close' });
    res.end(body);
    fastify.recordRefusal({ reqId: id, method: req.method, status, error: error.code! });
  });
  // With this listener Node writes no `100 Continue` itself (the Node docs: the listener must call writeContinue).
  server.on('checkContinue', (req: IncomingMessage, res: ServerResponse) => {
    CONTINUE_OWED.add(res);
    server.emit('request', req, res);
  });
  server.on('connect', (req: IncomingMessage, socket: Socket) => {
    const error = new GatewayError(405, 'CONNECT is not supported: this is not a proxy.', 'invalid_request_error', 'method_not_allowed');
    const reqId = requestId(req);
    const status = writeToSocket(socket, error, req);
    if (status !== undefined) fastify.recordRefusal({ reqId, method: req.method, status, error: error.code! });
  });
}

/** guardServer on the public listener, and the Host and single-header checks for every listener (before a /v1 route's key check). */
export function installHttpGuards(fastify: FastifyInstance): void {
  guardServer(fastify.server, fastify);
  fastify.addHook('onRequest', (request, reply, done) => {
    if (request.raw.httpVersion === '1.1' && request.headers.host === undefined) {
      return sendError(reply, GatewayError.badRequest('HTTP/1.1 requests must carry a Host header.', null, 'missing_host_header'));
    }
    const repeated = repeatedHeader(request.raw.rawHeaders);
    if (repeated) return sendError(reply, GatewayError.badRequest(repeated.message, null, repeated.code));
    // Answered before its body, which is neither invited (inviteBody) nor waited for: a client that waits for
    // `100 Continue` would otherwise wait for the 404 as long as the gateway waited for the body.
    if (request.is404 && CONTINUE_OWED.has(reply.raw)) return sendError(reply, unknownRoute());
    done();
  });
  fastify.addHook('preParsing', inviteBody);
}

/**
 * `100 Continue` once the request's onRequest hooks all passed (the key checked, a pipelined
 * request's turn come), just before its body is read: a request they refused (a /v1 key's 401,
 * the per-IP 429, too many pipelined, an unknown route's 404) gets its answer uninvited. Nor is a
 * declared size over the route's limit invited (its 413 leaves at once), nor a body of a type other
 * than JSON (its 415). Node closes the connection after a final answer
 * to a body it did not invite.
 */
function inviteBody(
  request: FastifyRequest,
  reply: FastifyReply,
  payload: RequestPayload,
  done: (err: null, body: RequestPayload) => void,
): void {
  if (
    CONTINUE_OWED.has(reply.raw) &&
    isJson(request.headers['content-type']) &&
    !(Number(request.headers['content-length']) > request.routeOptions.bodyLimit)
  )
    reply.raw.writeContinue();
  done(null, payload);
}

/** Whether a Content-Type is the one body type the gateway parses (fastify-setup.ts): another is refused 415 before any body. */
function isJson(contentType: string | undefined): boolean {
  return contentType?.split(';', 1)[0]!.trim().toLowerCase() === 'application/json';
}

/** A header a request may carry once: its bit among those seen, and the 400 for more. */
interface OnceHeader {
  bit: number;
  message: string;
  code: string;
}
/**
 * Headers a request may carry once, by lower-case name. Node keeps the first of several Host or
 * Authorization lines (and joins `x-api-key`s), and a proxy in front may have routed (RFC 9112
 * 3.2), or authorised, by another.
 */
const ONCE = new Map<string, OnceHeader>([
  ['host', { bit: 1, message: 'A request must carry one Host header.', code: 'duplicate_host_header' }],
  ['authorization', { bit: 2, message: 'A request must carry at most one Authorization header.', code: 'duplicate_authorization_header' }],
  ['x-api-key', { bit: 4, message: 'A request must carry at most one x-api-key header.', code: 'duplicate_api_key_header' }],
]);
/** Their names' lengths: any other header is passed over without lower-casing its name. */
const ONCE_LENGTHS = new Set([...ONCE.keys()].map((name) => name.length));

/** The first header of ONCE that `rawHeaders` carries more than once, if any (nothing allocated but the names looked up). */
function repeatedHeader(rawHeaders: string[]): OnceHeader | undefined {
  let seen = 0;
  for (let i = 0; i < rawHeaders.length; i += 2) {
    if (!ONCE_LENGTHS.has(rawHeaders[i].length)) continue;
    const once = ONCE.get(rawHeaders[i].toLowerCase());
    if (!once) continue;
    if (seen & once.bit) return once;
    seen |= once.bit;
  }
  return undefined;
}

type HttpSocket = Socket & { _httpMessage?: ServerResponse | null };

/** Sockets whose closing answer is written or waiting: the parser reports its error again on each later read. */
const CLOSING = new WeakSet<Socket>();

/**
 * Writes a whole response on a socket no HTTP response object owns, then closes it. The answers
 * owed to the complete requests before it on the connection (pipelined: running, waiting or
 * streaming) go out first, whole: this one follows them, never in their place or inside their
 * framing. A request cut short by the error (a bad chunk in its body) gets it as its answer,
 * unless its answer has begun: then the connection is only closed. Returns the answer's status,
 * or undefined when the socket already has its closing answer (the parser reports again on each read).
 */
function writeToSocket(
  socket: Socket,
  error: GatewayError,
  req?: { url?: string; headers: IncomingMessage['headers'] },
): number | undefined {
  if (CLOSING.has(socket)) return undefined;
  CLOSING.add(socket);
  const shape = errorShape(req);
  // A request whose route had begun (its body broke), or whose headers Node read (CONNECT), has an id, which its
  // access line gives: the answer says it too, where its protocol's answers do (an Anthropic error's body too).
  const id = requestIdOf(req);
  const body = JSON.stringify(shape.body(error, id));
  const status = shape.status(error);
  const idHeader =
    id === undefined
      ? ''
      : requestIdHeaders(req!)
          .map((name) => `${name}: ${id}\r\n`)
          .join('');
  afterAnswersOwed(socket as HttpSocket, () => {
    if (!socket.writable || (socket as HttpSocket)._httpMessage?.headersSent) return void socket.destroy();
    answeredOnSocket(socket, { status, error: error.code! });
    socket.end(
      `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n${idHeader}Connection: close\r\n\r\n${body}`,
      () => socket.destroy(),
    );
    // end() only half-closes: a client that never reads nor closes kept the socket, and its descriptor, for good (a
    // slow-loris client's 408). Destroyed once the answer is out (Node's own clientError handling destroys at once),
    // or after CLOSING_FLUSH_MS for a client whose unread data keeps the answer from leaving.
    const flushed = setTimeout(() => socket.destroy(), CLOSING_FLUSH_MS).unref();
    socket.once('close', () => clearTimeout(flushed));
  });
  return status;
}

/** How long a closing answer may wait to leave for a client that does not read before its socket is destroyed. */
const CLOSING_FLUSH_MS = 5_000;

/**
 * Runs `then` once no response to a complete request owns the socket. Node hands the socket to the
 * next pipelined response when one finishes, before listeners added later run; one that never
 * finishes closed the socket.
 */
function afterAnswersOwed(socket: HttpSocket, then: () => void): void {
  const response = socket._httpMessage;
  if (!response?.req.complete) return then();
  response.once('finish', () => afterAnswersOwed(socket, then));
}
