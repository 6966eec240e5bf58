import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Logger, type LoggerService } from '@nestjs/common';
import Fastify, { type FastifyInstance } from 'fastify';
import { MetricsService } from '@gateway/metrics';
import type { ChatStream } from '@gateway/providers';
import { ShutdownState } from '../../apps/gateway/src/health/shutdown-state';
import { writeSse } from '../../apps/gateway/src/http/sse';

/**
 * An error the gateway did not expect, thrown after a stream began (a bug in a codec: a TypeError), is logged once at
 * error level with what was thrown (its stack) and the request's id: the client only gets "Internal gateway error" and
 * the access line says 200. The stream here is the gateway's own writer (writeSse) on a real Fastify server; what
 * throws is a stream whose second read throws a TypeError, as a codec's bug would. (The e2e test this replaces provoked
 * the TypeError with a tool call id that was a number, which is now the upstream's invalid answer.)
 */
describe('an unexpected error after a stream began', () => {
  let app: FastifyInstance;
  let url: string;
  const errors: unknown[][] = [];
  /** The id Fastify gave the request (the access line's reqId). */
  let requestId: string | undefined;
  const silent = () => {};
  const capture: LoggerService = { log: silent, warn: silent, debug: silent, verbose: silent, error: (...args) => errors.push(args) };

  before(async () => {
    Logger.overrideLogger(capture);
    app = Fastify();
    app.post('/v1/chat/completions', async (request, reply) => {
      requestId = request.id;
      const stream: ChatStream = {
        async *[Symbol.asyncIterator]() {
          yield Buffer.from('data: {"choices":[{"index":0,"delta":{"content":"Hi"}}]}\n\n');
          (undefined as unknown as { id: string }).id.startsWith('x'); // the bug: reading a field of undefined
        },
      };
      await writeSse(reply, stream, new MetricsService(), new ShutdownState());
    });
    url = await app.listen({ port: 0, host: '127.0.0.1' });
  });
  after(async () => {
    await app.close();
    Logger.overrideLogger(false);
  });

  it('is logged once at error level with its stack and the request`s id; the client gets the internal error event', async () => {
    const res = await fetch(`${url}/v1/chat/completions`, { method: 'POST' });
    const text = await res.text();
    assert.equal(res.status, 200);
    assert.match(text, /^data: \{"choices".*\n\ndata: \{"error":\{"message":"Internal gateway error\./s);
    const logged = errors.filter(([, message]) => message === 'unexpected error in a stream');
    assert.equal(logged.length, 1, JSON.stringify(errors));
    const [fields] = logged[0]! as [{ err: Error; reqId: string; route: string }];
    assert.ok(fields.err instanceof TypeError, String(fields.err));
    assert.match(fields.err.stack ?? '', /TypeError[^\n]*\n\s+at /);
    assert.equal(fields.reqId, requestId);
    assert.equal(fields.route, '/v1/chat/completions');
  });
});
