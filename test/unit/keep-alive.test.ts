import assert from 'node:assert/strict';
import { after, before, describe, it, mock } from 'node:test';
import Fastify, { type FastifyInstance } from 'fastify';
import { MetricsService } from '@gateway/metrics';
import type { ChatStream } from '@gateway/providers';
import { toMessageStream } from '../../apps/gateway/src/messages/codec';
import { ShutdownState } from '../../apps/gateway/src/health/shutdown-state';
import { KEEP_ALIVE_MS } from '../../apps/gateway/src/http/keep-alive';
import { writeSse } from '../../apps/gateway/src/http/sse';

const PING = 'event: ping\ndata: {"type":"ping"}\n\n';
const chunk = (content: string, finish: string | null = null) =>
  `data: ${JSON.stringify({ id: 'c', model: 'm', choices: [{ index: 0, delta: { content }, finish_reason: finish }] })}\n\n`;

/**
 * Found by a check of Claude Code: a translated Messages stream sent one ping after message_start, then
 * nothing for 32 s while a reasoning model thought in silence (proxies with a 30-60 s idle timeout cut it).
 * The gateway's own writer on a real Fastify server; the upstream is chat frames the test releases by hand,
 * and the keep-alive's interval runs on mocked time, so nothing depends on how fast the machine is.
 */
describe('keep-alive pings during upstream silence (Messages streams)', () => {
  let app: FastifyInstance;
  let url: string;
  /** Releases the upstream's rest of the answer. */
  let release!: () => void;

  before(async () => {
    app = Fastify();
    app.post('/v1/messages', async (_request, reply) => {
      const gate = new Promise<void>((resolve) => (release = resolve));
      const frames: ChatStream = {
        async *[Symbol.asyncIterator]() {
          yield chunk('Thinking');
          await gate;
          yield chunk(' done', 'stop');
        },
      };
      await writeSse(reply, toMessageStream({ frames }, { thinking: false }, 'm'), new MetricsService(), new ShutdownState());
    });
    url = await app.listen({ port: 0, host: '127.0.0.1' });
  });
  after(() => app.close());

  it('a ping after a whole silent period, then each period; none while events flow, none after the end', async () => {
    mock.timers.enable({ apis: ['setInterval'] });
    try {
      const res = await fetch(`${url}/v1/messages`, { method: 'POST' });
      const reader = res.body!.getReader();
      const decoder = new TextDecoder();
      let text = '';
      const readUntil = async (what: RegExp) => {
        while (!what.test(text)) {
          const { value, done } = await reader.read();
          if (done) break;
          text += decoder.decode(value, { stream: true });
        }
      };
      await readUntil(/"text":"Thinking"[^\n]*\n\n/);
      const opening = text;
      // The check after output only clears the flag; each one after it finds silence.
      mock.timers.tick(KEEP_ALIVE_MS);
      mock.timers.tick(KEEP_ALIVE_MS);
      mock.timers.tick(KEEP_ALIVE_MS);
      await readUntil(new RegExp(`(${PING}){2}`));
      assert.equal(text.slice(opening.length), PING + PING);
      release();
      await readUntil(/event: message_stop/);
      mock.timers.tick(3 * KEEP_ALIVE_MS);
      const rest = await reader.read();
      assert.ok(rest.done || !decoder.decode(rest.value).includes('ping'));
      const events = text.match(/^event: \w+/gm)!.map((line) => line.slice(7));
      assert.deepEqual(events, [
        'message_start',
        'ping',
        'content_block_start',
        'content_block_delta',
        'ping',
        'ping',
        'content_block_delta',
        'content_block_stop',
        'message_delta',
        'message_stop',
      ]);
    } finally {
      mock.timers.reset();
    }
  });
});
