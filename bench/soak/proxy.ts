import { Agent, createServer, type IncomingMessage, request as httpRequest, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

interface Backend {
  name: string;
  url: URL;
  agent: Agent;
  /** Set by the readiness probe: a new backend takes traffic only once /ready answered 200. */
  ready: boolean;
  probeFailures: number;
}

export interface ProxyOptions {
  probeEveryMs: number;
  /** Consecutive failed probes before a backend stops getting requests (Kubernetes' failureThreshold). */
  failureThreshold: number;
}

export interface ProxyStats {
  requests: number;
  /** Requests sent to another backend because no connection to the first could be made. */
  retriedRefused: number;
  /** Requests sent again because the backend closed an idle keep-alive connection they were written to. */
  retriedIdleClose: number;
  /**
   * Answered by the proxy itself: no ready backend; every ready backend refused the
   * connection; or a backend failed after it had been sent the request.
   */
  proxyAnswers: Record<'no_ready_backend' | 'all_refused' | 'backend_failed', number>;
  /** Times a backend went unready / ready again, by name. */
  unready: Record<string, number>;
}

/** Response header naming the backend that served a request (the soak's own bookkeeping). */
export const BACKEND_HEADER = 'x-soak-backend';
/** Set on answers the proxy made itself, with the reason. */
export const PROXY_ERROR_HEADER = 'x-soak-proxy-error';

const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'upgrade', 'proxy-connection', 'te', 'trailer']);

/**
 * A round-robin HTTP load balancer in front of the gateway processes, behaving like
 * a Kubernetes Service plus an L7 proxy with keep-alive to its backends:
 *
 * - only backends whose `GET /ready` passed get requests (probed every `probeEveryMs`,
 *   out after `failureThreshold` failures, in again after one success);
 * - request bodies are streamed to the backend as they arrive (a slow client body
 *   reaches the gateway slowly);
 * - retry policy: a request goes to the next ready backend only when no gateway could
 *   have started on it: the connection could not be made (refused, as when a process
 *   has stopped listening), or the backend closed an idle keep-alive connection the
 *   request had just been written to, before answering a byte (Node's documented
 *   `request.reusedSocket` race; HAProxy's `retry-on conn-failure empty-response`).
 *   Anything after that is not retried: a backend that fails once it has the request
 *   gets the client a proxy error (or a cut response), counted as lost by the driver.
 */
export class RoundRobinProxy {
  readonly stats: ProxyStats = {
    requests: 0,
    retriedRefused: 0,
    retriedIdleClose: 0,
    proxyAnswers: { no_ready_backend: 0, all_refused: 0, backend_failed: 0 },
    unready: {},
  };
  private readonly backends = new Map<string, Backend>();
  private server: Server | undefined;
  private probeTimer: NodeJS.Timeout | undefined;
  private next = 0;

  constructor(private readonly options: ProxyOptions) {}

  async start(): Promise<string> {
    this.server = createServer((req, res) => this.forward(req, res));
    this.server.keepAliveTimeout = 60_000;
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.probeTimer = setInterval(() => void this.probeAll(), this.options.probeEveryMs);
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    clearInterval(this.probeTimer);
    for (const b of this.backends.values()) b.agent.destroy();
    this.server?.closeAllConnections();
    await new Promise((resolve) => this.server?.close(resolve));
  }

  /** Adds a backend, or replaces the one of that name (a restarted process on a new port). */
  setBackend(name: string, url: string): void {
    this.backends.get(name)?.agent.destroy();
    const agent = new Agent({ keepAlive: true, maxSockets: 128 });
    this.backends.set(name, { name, url: new URL(url), agent, ready: false, probeFailures: 0 });
    void this.probe(this.backends.get(name)!);
  }

  readyBackends(): string[] {
    return [...this.backends.values()].filter((b) => b.ready).map((b) => b.name);
  }

  private pick(exclude: Set<string>): Backend | undefined {
    const ready = [...this.backends.values()].filter((b) => b.ready && !exclude.has(b.name));
    if (!ready.length) return undefined;
    return ready[this.next++ % ready.length];
  }

  private forward(req: IncomingMessage, res: ServerResponse): void {
    this.stats.requests++;
    const chunks: Buffer[] = [];
    let ended = false;
    let current: ReturnType<typeof httpRequest> | undefined;
    const tried = new Set<string>();
    req.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      current?.write(chunk);
    });
    req.on('end', () => {
      ended = true;
      current?.end();
    });
    // The client went away: so does the request to the backend (the gateway sees a disconnect).
    res.on('close', () => {
      if (!res.writableFinished) current?.destroy();
    });

    const attempt = () => {
      const backend = this.pick(tried);
      if (!backend) return this.answer(res, tried.size ? 'all_refused' : 'no_ready_backend');
      tried.add(backend.name);
      const headers = { ...req.headers, host: backend.url.host };
      delete headers.connection;
      const upstream = httpRequest({
        host: backend.url.hostname,
        port: backend.url.port,
        method: req.method,
        path: req.url,
        headers,
        agent: backend.agent,
      });
      current = upstream;
      let connected = false;
      let answered = false;
      upstream.on('socket', (socket) => {
        if (upstream.reusedSocket) connected = true;
        else socket.once('connect', () => (connected = true));
      });
      upstream.on('response', (upstreamRes) => {
        answered = true;
        const out: Record<string, string | string[]> = { [BACKEND_HEADER]: backend.name };
        for (const [name, value] of Object.entries(upstreamRes.headers))
          if (value !== undefined && !HOP_BY_HOP.has(name)) out[name] = value;
        res.writeHead(upstreamRes.statusCode ?? 502, out);
        res.flushHeaders();
        upstreamRes.pipe(res);
        // A backend that dies mid-answer: the client sees the cut (never a silent success).
        upstreamRes.on('close', () => {
          if (!upstreamRes.complete) res.destroy();
        });
      });
      upstream.on('error', (err: NodeJS.ErrnoException) => {
        if (res.destroyed || res.writableEnded) return;
        if (answered) return void res.destroy();
        const idleClose = upstream.reusedSocket && (err.code === 'ECONNRESET' || err.code === 'EPIPE');
        if (!connected || idleClose) {
          if (idleClose) this.stats.retriedIdleClose++;
          else this.stats.retriedRefused++;
          return attempt();
        }
        this.answer(res, 'backend_failed');
      });
      for (const chunk of chunks) upstream.write(chunk);
      if (ended) upstream.end();
    };
    attempt();
  }

  private answer(res: ServerResponse, why: 'no_ready_backend' | 'all_refused' | 'backend_failed'): void {
    this.stats.proxyAnswers[why]++;
    if (res.headersSent) return void res.destroy();
    const body = JSON.stringify({ error: { message: `proxy: ${why}`, type: 'proxy_error', param: null, code: why } });
    res.writeHead(why === 'backend_failed' ? 502 : 503, { 'content-type': 'application/json', [PROXY_ERROR_HEADER]: why });
    res.end(body);
  }

  private async probeAll(): Promise<void> {
    await Promise.all([...this.backends.values()].map((b) => this.probe(b)));
  }

  private async probe(backend: Backend): Promise<void> {
    let ok = false;
    try {
      const res = await fetch(new URL('/ready', backend.url), { signal: AbortSignal.timeout(this.options.probeEveryMs) });
      ok = res.status === 200;
      await res.arrayBuffer();
    } catch {
      ok = false;
    }
    if (this.backends.get(backend.name) !== backend) return;
    if (ok) {
      backend.probeFailures = 0;
      backend.ready = true;
    } else if (++backend.probeFailures >= this.options.failureThreshold && backend.ready) {
      backend.ready = false;
      this.stats.unready[backend.name] = (this.stats.unready[backend.name] ?? 0) + 1;
    }
  }
}
