import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { eventually } from '../support/eventually';
import { FakeOpenAI } from '../support/fake-openai';
import { sleep } from '../support/fake-upstream';
import { FakeVendors } from '../support/fake-vendors';
import { configWith, GatewayProcess } from '../support/gateway';

interface OtlpSpan {
  name: string;
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  startTimeUnixNano: string;
  endTimeUnixNano: string;
  /** 2: ERROR. */
  status?: { code?: number };
  attributes: { key: string; value: Record<string, unknown> }[];
}

const endMs = (span: OtlpSpan) => Number(BigInt(span.endTimeUnixNano) / 1_000_000n);

/** An OTLP/HTTP (JSON) receiver on 127.0.0.1 that keeps every span it is sent. */
class OtlpReceiver {
  readonly spans: OtlpSpan[] = [];
  private server: Server | undefined;

  async start(): Promise<string> {
    this.server = createServer(async (req, res) => {
      let body = '';
      for await (const chunk of req) body += chunk;
      const payload = JSON.parse(body) as { resourceSpans: { scopeSpans: { spans: OtlpSpan[] }[] }[] };
      for (const rs of payload.resourceSpans) for (const ss of rs.scopeSpans) this.spans.push(...ss.spans);
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server!.address() as AddressInfo).port}`;
  }

  stop(): Promise<void> {
    return new Promise((resolve) => this.server!.close(() => resolve()));
  }
}

const attr = (span: OtlpSpan, key: string) => {
  const value = span.attributes.find((a) => a.key === key)?.value;
  return value && (value.stringValue ?? Number(value.intValue ?? value.doubleValue));
};

const config = configWith({
  providers: [{ name: 'broken', type: 'mock', mock: { failRate: 1, failStatus: 503 } }],
  models: [
    {
      name: 'traced',
      deployments: [
        { provider: 'broken', model: 'down' },
        { provider: 'mock', model: 'up' },
      ],
    },
  ],
  router: { retry: { attemptsPerDeployment: 1 } },
});

describe('OpenTelemetry traces', () => {
  const receiver = new OtlpReceiver();
  let endpoint = '';
  before(async () => (endpoint = await receiver.start()));
  after(() => receiver.stop());

  it('exports one span per request and one child span per upstream attempt, with gen_ai attributes', async () => {
    const gateway = await GatewayProcess.start(config, { env: { OTEL_EXPORTER_OTLP_ENDPOINT: endpoint, OTEL_BSP_SCHEDULE_DELAY: '50' } });
    try {
      assert.equal((await gateway.logged('OpenTelemetry traces on (OTLP/HTTP)')).length, 1);
      await gateway.client().chat.completions.create({ model: 'traced', messages: [{ role: 'user', content: 'trace me' }] });
      await eventually(async () => receiver.spans.length >= 3);
    } finally {
      await gateway.stop();
    }
    const server = receiver.spans.find((s) => s.name === 'chat traced');
    assert.ok(server, `spans: ${receiver.spans.map((s) => s.name).join(', ')}`);
    assert.equal(attr(server, 'gen_ai.request.model'), 'traced');
    assert.equal(attr(server, 'gen_ai.response.model'), 'up');
    assert.equal(attr(server, 'gen_ai.provider.name'), 'mock');
    assert.ok(Number(attr(server, 'gen_ai.usage.input_tokens')) > 0);
    assert.equal(attr(server, 'gateway.attempts'), 2);
    const children = receiver.spans.filter((s) => s.parentSpanId === server.spanId);
    assert.deepEqual(children.map((c) => c.name).sort(), ['chat down', 'chat up']);
    assert.ok(children.every((c) => c.traceId === server.traceId));
    assert.equal(
      attr(
        children.find((c) => c.name === 'chat down')!,
        'error.type',
      ),
      'upstream_overloaded',
    );
  });

  it("continues the caller's trace: the request's span under the caller's, each upstream request naming its attempt's span", async () => {
    const upstream = new FakeOpenAI();
    const url = await upstream.start();
    const gateway = await GatewayProcess.start(
      configWith({
        providers: [{ name: 'oa', type: 'openai-compatible', baseUrl: url }],
        models: [
          {
            name: 'propagated',
            deployments: [
              { provider: 'oa', model: 'status-503' },
              { provider: 'oa', model: 'ok' },
            ],
          },
        ],
        router: { retry: { attemptsPerDeployment: 1 } },
      }),
      { env: { OTEL_EXPORTER_OTLP_ENDPOINT: endpoint, OTEL_BSP_SCHEDULE_DELAY: '50' } },
    );
    const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
    const callerSpan = '00f067aa0ba902b7';
    try {
      await gateway
        .client({ defaultHeaders: { traceparent: `00-${traceId}-${callerSpan}-01`, tracestate: 'vendor=opaque' } })
        .chat.completions.create({ model: 'propagated', messages: [{ role: 'user', content: 'trace me too' }] });
      await eventually(async () => receiver.spans.some((s) => s.traceId === traceId && s.name === 'chat ok'));
    } finally {
      await gateway.stop();
      await upstream.stop();
    }
    const spans = receiver.spans.filter((s) => s.traceId === traceId);
    const server = spans.find((s) => s.name === 'chat propagated');
    assert.ok(server, `spans of the caller's trace: ${spans.map((s) => s.name).join(', ')}`);
    assert.equal(server.parentSpanId, callerSpan);
    const attempts = ['chat status-503', 'chat ok'].map((name) => spans.find((s) => s.name === name && s.parentSpanId === server.spanId));
    assert.ok(attempts.every(Boolean), `attempt spans: ${spans.map((s) => `${s.name} < ${s.parentSpanId}`).join(', ')}`);
    assert.deepEqual(
      upstream.received.map((r) => [r.headers.traceparent, r.headers.tracestate]),
      attempts.map((a) => [`00-${traceId}-${a!.spanId}-01`, 'vendor=opaque']),
    );
  });

  it('exports nothing and loads no SDK when tracing is off', async () => {
    const before = receiver.spans.length;
    const gateway = await GatewayProcess.start(config, { env: { OTEL_EXPORTER_OTLP_ENDPOINT: endpoint, OTEL_SDK_DISABLED: 'true' } });
    try {
      await gateway.client().chat.completions.create({ model: 'traced', messages: [{ role: 'user', content: 'do not trace me' }] });
      await new Promise((r) => setTimeout(r, 300));
      assert.equal((await gateway.logged('OpenTelemetry traces on (OTLP/HTTP)', { timeoutMs: 0 })).length, 0);
    } finally {
      await gateway.stop();
    }
    assert.equal(receiver.spans.length, before);
  });

  for (const value of ['TRUE', 'True']) {
    it(`OTEL_SDK_DISABLED=${value} turns tracing off (the OTel spec reads booleans in any case)`, async () => {
      const gateway = await GatewayProcess.start(config, { env: { OTEL_EXPORTER_OTLP_ENDPOINT: endpoint, OTEL_SDK_DISABLED: value } });
      try {
        // Logged while the app is built, before the listening line the start waited for.
        assert.equal((await gateway.logged('OpenTelemetry traces on (OTLP/HTTP)', { timeoutMs: 0 })).length, 0);
        assert.ok(gateway.logs.some((l) => l.msg === 'ai-gateway listening'));
      } finally {
        await gateway.stop();
      }
    });
  }
});

describe('attempt spans last as long as the attempt, however it ends', () => {
  const receiver = new OtlpReceiver();
  const upstream = new FakeOpenAI();
  let gateway: GatewayProcess;
  before(async () => {
    const [endpoint, url] = await Promise.all([receiver.start(), upstream.start()]);
    gateway = await GatewayProcess.start(
      configWith({
        providers: [
          { name: 'oa', type: 'openai-compatible', baseUrl: url },
          // One connection: a request sent on it holds it, the next waits in the pool's queue.
          { name: 'one', type: 'openai-compatible', baseUrl: url, maxConnections: 1 },
        ],
        models: [
          ...['drip-20', 'cut', 'hang', 'slow-1500'].map((model) => ({ name: model, deployments: [{ provider: 'oa', model }] })),
          ...['held', 'queued'].map((name) => ({ name, deployments: [{ provider: 'one', model: 'slow-1500' }] })),
        ],
        router: { retry: { attemptsPerDeployment: 1 } },
      }),
      { env: { OTEL_EXPORTER_OTLP_ENDPOINT: endpoint, OTEL_BSP_SCHEDULE_DELAY: '50' } },
    );
  });
  after(async () => {
    await gateway.stop();
    await Promise.all([upstream.stop(), receiver.stop()]);
  });

  /** The request span named `name` and its one attempt span, once exported. */
  async function spansOf(name: string): Promise<{ server: OtlpSpan; attempt: OtlpSpan }> {
    const find = () => {
      const server = receiver.spans.find((s) => s.name === name && !s.parentSpanId);
      return { server: server!, attempt: receiver.spans.find((s) => server && s.parentSpanId === server.spanId)! };
    };
    await eventually(async () => !!find().attempt);
    assert.ok(find().attempt, `spans: ${receiver.spans.map((s) => s.name).join(', ')}`);
    return find();
  }

  it("a streamed attempt's span ends when its stream does, not at the first chunk", async () => {
    let secondChunkAt = 0;
    let chunks = 0;
    const stream = await gateway
      .client()
      .chat.completions.create({ model: 'drip-20', stream: true, messages: [{ role: 'user', content: 'a b c' }] });
    for await (const _ of stream) if (++chunks === 2) secondChunkAt = Date.now();
    const { attempt } = await spansOf('chat drip-20');
    assert.ok(endMs(attempt) >= secondChunkAt, `attempt ended at ${endMs(attempt)}, the second chunk came at ${secondChunkAt}`);
    assert.equal(attr(attempt, 'error.type'), undefined);
  });

  it('a stream the upstream cuts after its first chunk: its attempt span and the request span are errors', async () => {
    const stream = await gateway
      .client()
      .chat.completions.create({ model: 'cut', stream: true, messages: [{ role: 'user', content: 'a b c d' }] });
    await assert.rejects(async () => {
      for await (const _ of stream);
    });
    const { server, attempt } = await spansOf('chat cut');
    assert.equal(attempt.status?.code, 2);
    assert.ok(attr(attempt, 'error.type'));
    assert.equal(attr(server, 'http.response.status_code'), 200);
    assert.equal(server.status?.code, 2);
  });

  // A JSON answer's attempt is not cancelled when its client leaves (Executor.runWhole): it runs to the answer, which is billed.
  it('a client that leaves while a non-streamed attempt is in flight: the attempt runs to its answer, and is counted', async () => {
    const ac = new AbortController();
    const from = upstream.received.length;
    const call = gateway
      .client()
      .chat.completions.create({ model: 'slow-1500', messages: [{ role: 'user', content: 'x' }] }, { signal: ac.signal });
    assert.ok(await eventually(async () => upstream.received.length > from), 'the attempt reached the upstream');
    const leftAt = Date.now();
    ac.abort();
    await assert.rejects(call);
    const { server, attempt } = await spansOf('chat slow-1500');
    assert.ok(upstream.received[from].answered, 'the upstream answered in full');
    assert.ok(endMs(attempt) >= leftAt, `attempt ended at ${endMs(attempt)}, the client left at ${leftAt}`);
    assert.equal(attr(attempt, 'error.type'), undefined);
    assert.equal(attr(server, 'gateway.attempts'), 1);
    assert.notEqual(server.status?.code, 2);
  });

  // One whose request was not sent yet (it waited for a connection) ends when its client leaves: nothing went upstream,
  // nothing failed there, as a stream's attempt its client left.
  it('a client that leaves while a non-streamed attempt waits for a connection: the attempt ends then, with no error', async () => {
    const messages = [{ role: 'user' as const, content: 'x' }];
    const from = upstream.received.length;
    const held = gateway.client().chat.completions.create({ model: 'held', messages });
    assert.ok(await eventually(async () => upstream.received.length > from), 'the first request holds the connection');
    const ac = new AbortController();
    const queued = gateway.client().chat.completions.create({ model: 'queued', messages }, { signal: ac.signal });
    // Time for it to reach the pool's queue; its span's attempt below says that it did.
    await sleep(300);
    ac.abort();
    await assert.rejects(queued);
    await held;
    const { server, attempt } = await spansOf('chat queued');
    assert.equal(attr(server, 'gateway.attempts'), 1);
    assert.equal(attr(attempt, 'error.type'), undefined);
    assert.notEqual(attempt.status?.code, 2);
    assert.equal(upstream.received.length, from + 1, 'the queued request never went upstream');
  });

  it("requests refused before a model is resolved (400, 404) still get a span in the caller's trace", async () => {
    const traceIds = ['1'.repeat(32), '2'.repeat(32)];
    const refused = [
      { model: 'hang', messages: [] },
      { model: 'no-such-model', messages: [{ role: 'user', content: 'x' }] },
    ];
    for (const [i, body] of refused.entries()) {
      const res = await fetch(`${gateway.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', traceparent: `00-${traceIds[i]}-00f067aa0ba902b7-01` },
        body: JSON.stringify(body),
      });
      assert.equal(res.status, [400, 404][i]);
    }
    const refusedSpans = () => traceIds.map((id) => receiver.spans.find((s) => s.traceId === id));
    await eventually(async () => refusedSpans().every(Boolean));
    assert.deepEqual(
      refusedSpans().map((s) => s && [s.name, attr(s, 'http.response.status_code'), s.status?.code ?? 0]),
      [
        ['chat', 400, 0],
        ['chat', 404, 0],
      ],
    );
  });
});

describe('trace context passed on while the gateway does not trace (W3C Trace Context)', () => {
  const vendors = new FakeVendors();
  const { openai, anthropic, gemini } = vendors;
  let gateway: GatewayProcess;
  before(async () => {
    gateway = await GatewayProcess.start(
      configWith({
        providers: await vendors.start(),
        models: [
          { name: 'via-openai', deployments: [{ provider: 'oa', model: 'ok' }] },
          { name: 'via-anthropic', deployments: [{ provider: 'ant', model: 'claude-echo' }] },
          { name: 'via-gemini', deployments: [{ provider: 'gem', model: 'gemini-echo' }] },
          { name: 'embed-openai', deployments: [{ provider: 'oa', model: 'ok', capabilities: ['embeddings'] }] },
        ],
      }),
      { env: vendors.env },
    );
  });
  after(async () => {
    await gateway.stop();
    await vendors.stop();
  });

  const upstreams = { 'via-openai': openai, 'via-anthropic': anthropic, 'via-gemini': gemini };
  for (const [model, upstream] of Object.entries(upstreams)) {
    it(`${model}: the caller's traceparent and tracestate reach the upstream as they came, streamed or not`, async () => {
      const traceparent = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
      const client = gateway.client({ defaultHeaders: { traceparent, tracestate: 'congo=t61rcWkgMzE' } });
      const from = upstream.received.length;
      await client.chat.completions.create({ model, messages: [{ role: 'user', content: 'hi' }] });
      for await (const _ of await client.chat.completions.create({ model, stream: true, messages: [{ role: 'user', content: 'hi' }] }));
      const sent = upstream.received.slice(from);
      assert.equal(sent.length, 2);
      for (const r of sent) assert.deepEqual([r.headers.traceparent, r.headers.tracestate], [traceparent, 'congo=t61rcWkgMzE']);
    });
  }

  it("a later version's traceparent goes on verbatim, its extra fields and flags too", async () => {
    const from = openai.received.length;
    const later = [
      '01-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-ff',
      'cc-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-03-extra',
    ];
    for (const traceparent of later)
      await gateway
        .client({ defaultHeaders: { traceparent } })
        .chat.completions.create({ model: 'via-openai', messages: [{ role: 'user', content: 'hi' }] });
    assert.deepEqual(
      openai.received.slice(from).map((r) => r.headers.traceparent),
      later,
    );
  });

  it('embeddings pass it on too; no traceparent, or an invalid one, sends none', async () => {
    const traceparent = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00';
    const from = openai.received.length;
    await gateway.client({ defaultHeaders: { traceparent } }).embeddings.create({ model: 'embed-openai', input: 'x' });
    await gateway.client().chat.completions.create({ model: 'via-openai', messages: [{ role: 'user', content: 'hi' }] });
    // Version ff is forbidden; an all-zero trace id is invalid.
    for (const bad of ['ff-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01', `00-${'0'.repeat(32)}-b7ad6b7169203331-01`])
      await gateway
        .client({ defaultHeaders: { traceparent: bad } })
        .chat.completions.create({ model: 'via-openai', messages: [{ role: 'user', content: 'hi' }] });
    assert.deepEqual(
      openai.received.slice(from).map((r) => r.headers.traceparent),
      [traceparent, undefined, undefined, undefined],
    );
  });
});

describe('GenAI span attributes: the model that answered, the conventions’ provider names, count_tokens', () => {
  const receiver = new OtlpReceiver();
  const vendors = new FakeVendors();
  const { anthropic } = vendors;
  let gateway: GatewayProcess;
  before(async () => {
    const [endpoint, providers] = await Promise.all([receiver.start(), vendors.start()]);
    gateway = await GatewayProcess.start(
      configWith({
        providers,
        models: [
          { name: 'via-openai', deployments: [{ provider: 'oa', model: 'dated' }] },
          { name: 'via-anthropic', deployments: [{ provider: 'ant', model: 'claude-dated' }] },
          { name: 'via-gemini', deployments: [{ provider: 'gem', model: 'gemini-echo' }] },
        ],
      }),
      { env: { OTEL_EXPORTER_OTLP_ENDPOINT: endpoint, OTEL_BSP_SCHEDULE_DELAY: '50', ...vendors.env } },
    );
  });
  after(async () => {
    await gateway.stop();
    await Promise.all([receiver.stop(), vendors.stop()]);
  });

  /** The request span of trace `traceId` and its attempt spans, once `count` spans of it were exported. */
  async function trace(traceId: string, count = 2): Promise<{ server: OtlpSpan; attempts: OtlpSpan[] }> {
    const of = () => receiver.spans.filter((s) => s.traceId === traceId);
    await eventually(async () => of().length >= count);
    const server = of().find((s) => s.parentSpanId === '00f067aa0ba902b7');
    assert.ok(
      server,
      `spans of ${traceId}: ${of()
        .map((s) => s.name)
        .join(', ')}`,
    );
    return { server, attempts: of().filter((s) => s.parentSpanId === server.spanId) };
  }

  const cases = [
    ['via-openai', 'dated-2024-07-18', 'oa', ['plain', 'stream']],
    ['via-anthropic', 'claude-dated-20250101', 'anthropic', ['plain']],
    ['via-gemini', 'gemini-fake-001', 'gcp.gemini', ['plain', 'stream']],
  ] as const;
  for (const [model, answered, provider, ways] of cases) {
    it(`${model}: gen_ai.response.model is the model the answer named (${answered}), gen_ai.provider.name ${provider}`, async () => {
      for (const way of ways) {
        const traceId = randomBytes(16).toString('hex');
        const client = gateway.client({ defaultHeaders: { traceparent: `00-${traceId}-00f067aa0ba902b7-01` } });
        const messages = [{ role: 'user' as const, content: 'which model?' }];
        let seen: string | undefined;
        if (way === 'stream')
          for await (const chunk of await client.chat.completions.create({ model, messages, stream: true })) seen ??= chunk.model;
        else seen = (await client.chat.completions.create({ model, messages })).model;
        assert.equal(seen, answered, 'what the client saw');
        const { server, attempts } = await trace(traceId);
        assert.deepEqual(
          [
            way,
            attr(server, 'gen_ai.response.model'),
            attr(server, 'gen_ai.provider.name'),
            attempts.map((a) => attr(a, 'gen_ai.provider.name')),
          ],
          [way, answered, provider, [provider]],
        );
      }
    });
  }

  it("count_tokens: its own operation, an attempt span for the upstream count, and the count's traceparent names it", async () => {
    const from = anthropic.received.length;
    const traceId = 'c'.repeat(32);
    for (const traceparent of [`00-${traceId}-00f067aa0ba902b7-01`, undefined]) {
      const res = await fetch(`${gateway.url}/v1/messages/count_tokens`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(traceparent && { traceparent }) },
        body: JSON.stringify({ model: 'via-anthropic', messages: [{ role: 'user', content: 'count me' }] }),
      });
      assert.equal(res.status, 200);
      assert.match(res.headers.get('x-gateway-token-count') ?? '', /^upstream;/);
    }
    const { server, attempts } = await trace(traceId);
    assert.deepEqual(
      [server.name, attr(server, 'gen_ai.operation.name'), attr(server, 'gen_ai.provider.name')],
      ['count_tokens via-anthropic', 'count_tokens', 'anthropic'],
    );
    assert.deepEqual(
      attempts.map((a) => [a.name, attr(a, 'gen_ai.operation.name'), attr(a, 'gen_ai.provider.name')]),
      [['count_tokens claude-dated', 'count_tokens', 'anthropic']],
    );
    const [traced, untraced] = anthropic.received.slice(from).map((r) => String(r.headers.traceparent));
    assert.equal(traced, `00-${traceId}-${attempts[0].spanId}-01`);
    // A request without a traceparent starts a trace: its count still names its own attempt's span.
    const ownSpan = /^00-([0-9a-f]{32})-([0-9a-f]{16})-01$/.exec(untraced);
    assert.ok(ownSpan, `untraced count's traceparent: ${untraced}`);
    await eventually(async () => receiver.spans.some((s) => s.spanId === ownSpan[2]));
    const attempt = receiver.spans.find((s) => s.spanId === ownSpan[2]);
    assert.equal(attempt?.name, 'count_tokens claude-dated');
    assert.equal(attempt.traceId, ownSpan[1]);
  });

  // Found by an independent ops check: exports to a collector that refused them failed without a word, ever.
  it('a collector refusing exports is logged once while it does (not once per batch), and once when exports work again', async () => {
    let refusing = true;
    let exports = 0;
    const collector = createServer((req, res) => {
      exports++;
      req.resume().on('end', () => res.writeHead(refusing ? 400 : 200, { 'content-type': 'application/json' }).end('{}'));
    });
    await new Promise<void>((resolve) => collector.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(collector.address() as AddressInfo).port}`;
    const gateway = await GatewayProcess.start(config, { env: { OTEL_EXPORTER_OTLP_ENDPOINT: url, OTEL_BSP_SCHEDULE_DELAY: '50' } });
    const failing = (l: Record<string, unknown>) => String(l.msg).startsWith(`trace export to ${url} failing`);
    try {
      const chat = () => gateway.client().chat.completions.create({ model: 'traced', messages: [{ role: 'user', content: 'trace me' }] });
      await chat();
      const [warning] = await gateway.logged(/^trace export to .* failing/, { timeoutMs: 30_000 });
      assert.equal(warning.level, 40);
      // Two more batches refused after the first.
      for (const seen = exports; exports < seen + 2;) {
        await chat();
        await new Promise((r) => setTimeout(r, 100));
      }
      refusing = false;
      await chat();
      assert.equal((await gateway.logged(`trace export to ${url} works again`, { timeoutMs: 30_000 })).length, 1);
      assert.equal(gateway.logs.filter(failing).length, 1, 'one warning for the whole outage');
    } finally {
      await gateway.stop();
      collector.close();
    }
  });
});
