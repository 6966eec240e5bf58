import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import Fastify, { type FastifyInstance } from 'fastify';
import { GatewayError } from '@gateway/providers';
import { sendError } from '../../apps/gateway/src/http/send-error';

describe('sendError when Node refuses the response', () => {
  let app: FastifyInstance;
  let url: string;
  /** What the last sendError call threw (undefined: it returned). */
  let thrown: unknown;

  before(async () => {
    app = Fastify();
    app.get('/', async (_request, reply) => {
      // A header set before the error that Node will not write (a character beyond Latin-1).
      reply.header('x-set-earlier', 'usage-模型');
      thrown = 'not called';
      try {
        sendError(reply, GatewayError.badRequest('refused'));
        thrown = undefined;
      } catch (err) {
        thrown = err;
        reply.raw.destroy(); // so that the client does not wait for an answer that will not come
      }
      return reply;
    });
    url = await app.listen({ port: 0, host: '127.0.0.1' });
  });
  after(() => app.close());

  it('does not throw (a throw from the error filter ends the process) and closes the connection', async () => {
    const outcome = await fetch(url).then(
      (res) => `answered ${res.status}`,
      (err: Error) => err,
    );
    assert.equal(thrown, undefined);
    assert.ok(outcome instanceof TypeError, String(outcome));
  });
});
