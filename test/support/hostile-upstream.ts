import type { IncomingMessage, ServerResponse } from 'node:http';
import { FakeUpstream } from './fake-upstream';

/** What a hostile upstream (or a proxy in front of one) does with a request, picked by the model's name: `{vendor}-{behaviour}`. */
export type Hostility =
  /** A 301 with a page and a Location (not followed). */
  | 'redirect'
  /** A 200 and the start of an answer (a stream's first events), then nothing, the connection open. */
  | 'stall'
  /** A 200 and the start of an answer, then the connection closed. */
  | 'cut'
  /** A 200 and more bytes than any answer may be (a body without end of 2 MiB of text, then a stall). */
  | 'huge'
  /** No answer at all: the connection open, nothing sent. */
  | 'silent'
  /** A stream whose events never end: one every 20 ms, for as long as the connection is open. */
  | 'endless';

const oaChunk = (text: string) =>
  `data: ${JSON.stringify({ id: 'c1', object: 'chat.completion.chunk', created: 1, model: 'x', choices: [{ index: 0, delta: { content: text }, finish_reason: null }] })}\n\n`;
const claudeEvent = (type: string, data: object) => `event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`;
const claudeStart =
  claudeEvent('message_start', {
    message: {
      id: 'msg_1',
      type: 'message',
      role: 'assistant',
      model: 'claude-x',
      content: [],
      stop_reason: null,
      stop_sequence: null,
      usage: { input_tokens: 5, output_tokens: 1 },
    },
  }) + claudeEvent('content_block_start', { index: 0, content_block: { type: 'text', text: '' } });
const claudeDelta = (text: string) => claudeEvent('content_block_delta', { index: 0, delta: { type: 'text_delta', text } });
const geminiChunk = (text: string) =>
  `data: ${JSON.stringify({ candidates: [{ content: { role: 'model', parts: [{ text }] }, index: 0 }] })}\r\n\r\n`;

/** A vendor's first stream bytes and its next event, by the model's vendor prefix. */
const STREAMS: Record<string, { first: string; next: (n: number) => string }> = {
  oa: { first: oaChunk('hi'), next: (n) => oaChunk(` ${n}`) },
  ant: { first: claudeStart + claudeDelta('hi'), next: (n) => claudeDelta(` ${n}`) },
  gem: { first: geminiChunk('hi'), next: (n) => geminiChunk(` ${n}`) },
};

/**
 * One upstream for the three vendors' paths (OpenAI-format, Anthropic, Gemini) that misbehaves as the model's name
 * says (`oa-stall`, `gem-redirect`, `ant-endless`): what the gateway must survive whatever the client does meanwhile.
 */
export class HostileUpstream extends FakeUpstream {
  private readonly timers = new Set<NodeJS.Timeout>();

  override async stop(): Promise<void> {
    for (const timer of this.timers) clearInterval(timer);
    await super.stop();
  }

  protected async handle(req: IncomingMessage, res: ServerResponse, body: Record<string, unknown>): Promise<void> {
    const model = /\/models\/([^:/]+):/.exec(req.url ?? '')?.[1] ?? String(body.model);
    const [vendor, behaviour] = model.split('-') as [string, Hostility];
    const streamed = body.stream === true || (req.url ?? '').includes(':streamGenerateContent');
    const stream = STREAMS[vendor];
    const start = streamed ? stream.first : '{"id":"x","choices":[{"index":0,';
    const contentType = streamed ? 'text/event-stream' : 'application/json';
    switch (behaviour) {
      case 'redirect':
        res.writeHead(301, { 'content-type': 'text/html', location: 'http://127.0.0.1:9/elsewhere' });
        return void res.end(`<html>${'moved '.repeat(2_000)}</html>`);
      case 'stall':
        res.writeHead(200, { 'content-type': contentType });
        return void res.write(start);
      case 'cut':
        res.writeHead(200, { 'content-type': contentType });
        res.write(start);
        return void setTimeout(() => res.socket?.destroy(), 20);
      case 'huge':
        res.writeHead(200, { 'content-type': contentType });
        for (let i = 0; i < 32; i++) res.write('x'.repeat(64 * 1024));
        return;
      case 'silent':
        return;
      case 'endless': {
        res.writeHead(200, { 'content-type': contentType });
        res.write(start);
        let n = 0;
        return void this.every(20, () => res.write(stream.next(++n)), res);
      }
      default:
        res.writeHead(404, { 'content-type': 'text/plain' });
        res.end(`no behaviour ${behaviour}`);
    }
  }

  /** Runs `act` every `ms` until the connection closes. */
  private every(ms: number, act: () => void, res: ServerResponse): void {
    const timer = setInterval(act, ms);
    this.timers.add(timer);
    res.on('close', () => {
      clearInterval(timer);
      this.timers.delete(timer);
    });
  }
}
