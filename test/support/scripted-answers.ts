import type { IncomingMessage, ServerResponse } from 'node:http';
import { FakeUpstream } from './fake-upstream';

/** An answer as a broken or hostile upstream (or a proxy in front of it) may send it: any status, any body. */
export interface Scripted {
  status: number;
  body?: unknown;
  /** Sent as it is instead of `body` as JSON (HTML, nothing, `null`). */
  text?: string;
  headers?: Record<string, string>;
}

/**
 * One upstream speaking the three vendors' paths (OpenAI-format `/chat/completions`, Anthropic `/v1/messages`,
 * Gemini `/v1beta/models/{model}:generateContent`), answering each model with what the test scripted for it,
 * whatever it is: answers no vendor's fake would give (`"choices":[null]`, `content: 7`, a 301, a 204).
 */
export class ScriptedAnswers extends FakeUpstream {
  private readonly answers = new Map<string, Scripted>();

  script(model: string, answer: Scripted): string {
    this.answers.set(model, answer);
    return model;
  }

  protected async handle(req: IncomingMessage, res: ServerResponse, body: Record<string, unknown>): Promise<void> {
    const gemini = /\/models\/([^:/]+):/.exec(req.url ?? '')?.[1];
    const answer = this.answers.get(gemini ?? String(body.model));
    if (!answer) {
      res.writeHead(404, { 'content-type': 'text/plain' });
      return void res.end('no answer scripted');
    }
    const text = answer.text ?? (answer.body === undefined ? '' : JSON.stringify(answer.body));
    res.writeHead(answer.status, { 'content-type': answer.text === undefined ? 'application/json' : 'text/html', ...answer.headers });
    res.end(answer.status === 204 || answer.status === 304 ? undefined : text);
  }
}
