import type { IncomingMessage, ServerResponse } from 'node:http';
import { FakeOpenAI } from '../../test/support/fake-openai';
import { sleep } from '../../test/support/fake-upstream';

/** Faults the upstream can be switched to while the soak runs. */
export type FaultKind = '5xx' | '429' | '400' | 'latency' | 'reset' | 'cut';

export interface Fault {
  kind: FaultKind;
  /** Share of requests that get the fault (the others are answered normally). */
  probability: number;
  /** 429: the Retry-After to send (default: the fake's own, 7 s). */
  retryAfterS?: number;
  /** latency: this delay rather than a random spike. */
  delayMs?: number;
  /** Only the next N requests get it; then the fault clears itself. */
  remaining?: number;
}

/** Latency spikes: most stay under the router's attempt timeout, some pass it (and fall back). */
const SPIKES_MS = [800, 1_500, 4_000];

/**
 * The fake OpenAI upstream with a runtime fault switch, for the soak. A fault is
 * applied by handing FakeOpenAI the model id that produces it (`status-503`, `cut`,
 * ...), so the error bodies are the fake's documented wire format. It counts what
 * a leak check needs: requests still being answered, and answers the gateway
 * abandoned (closed before the end) other than the ones the fault itself cut.
 */
export class ChaosOpenAI extends FakeOpenAI {
  fault: Fault | undefined;
  requests = 0;
  inflight = 0;
  /** Answers closed by the gateway before they were complete (client aborts, timeouts). */
  abandoned = 0;
  /** Answers closed before their end whose client disconnected on purpose (`abort-<id>` of the prompt). */
  readonly closedAborts = new Set<string>();
  readonly injected: Record<FaultKind, number> = { '5xx': 0, '429': 0, '400': 0, latency: 0, reset: 0, cut: 0 };
  /** When each normal (2xx) answer started, on the soak's clock: shows when a deployment is in use. */
  readonly answeredAt: number[] = [];
  /** The soak's clock (ms since its start). */
  clock: () => number = () => performance.now();
  protected override keepReceived = false;

  protected override async handle(req: IncomingMessage, res: ServerResponse, body: Record<string, unknown>): Promise<void> {
    if (req.url !== '/v1/chat/completions') return super.handle(req, res, body);
    this.requests++;
    this.inflight++;
    let selfInflicted = false;
    res.once('close', () => {
      this.inflight--;
      if (res.writableFinished) return;
      if (!selfInflicted) this.abandoned++;
      const prompt = lastPrompt(body);
      if (prompt.startsWith('abort-')) this.closedAborts.add(prompt.slice(0, prompt.indexOf(':')));
    });
    const current = this.fault;
    const fault = current && Math.random() < current.probability ? current.kind : undefined;
    if (fault === 'cut' && !body.stream) return this.answer(req, res, body);
    if (fault) {
      this.injected[fault]++;
      if (current?.remaining !== undefined && --current.remaining <= 0 && this.fault === current) this.fault = undefined;
    }
    switch (fault) {
      case '5xx':
        return super.handle(req, res, { ...body, model: Math.random() < 0.5 ? 'status-500' : 'status-503' });
      case '429':
        if (current?.retryAfterS === undefined) return super.handle(req, res, { ...body, model: 'status-429' });
        res.writeHead(429, { 'content-type': 'application/json', 'retry-after': String(current.retryAfterS) });
        res.end(JSON.stringify({ error: { message: 'Rate limit reached.', type: 'requests', param: null, code: 'rate_limit_exceeded' } }));
        return;
      case '400':
        return super.handle(req, res, { ...body, model: 'status-400' });
      case 'latency':
        await sleep(current?.delayMs ?? SPIKES_MS[Math.floor(Math.random() * SPIKES_MS.length)]);
        if (res.destroyed) return;
        return this.answer(req, res, body);
      case 'reset':
      case 'cut':
        selfInflicted = true;
        return super.handle(req, res, { ...body, model: fault });
      default:
        return this.answer(req, res, body);
    }
  }

  private answer(req: IncomingMessage, res: ServerResponse, body: Record<string, unknown>): Promise<void> {
    this.answeredAt.push(this.clock());
    return super.handle(req, res, body);
  }
}

function lastPrompt(body: Record<string, unknown>): string {
  const messages = (body.messages ?? []) as { content?: unknown }[];
  const content = messages[messages.length - 1]?.content;
  return typeof content === 'string' ? content : '';
}
