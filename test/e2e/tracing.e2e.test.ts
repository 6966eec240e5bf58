import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { configWith, GatewayProcess } from '../support/gateway';

interface OtlpSpan {
  name: string;
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  attributes: { key: string; value: Record<string, unknown> }[];
}

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
      for (let i = 0; i < 100 && receiver.spans.length < 3; i++) await new Promise((r) => setTimeout(r, 20));
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
      'upstream_error',
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
});
