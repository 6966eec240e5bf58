import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import Anthropic from '@anthropic-ai/sdk';
import { apiError } from '../support/chat';
import { eventually } from '../support/eventually';
import { configWith, GatewayProcess } from '../support/gateway';

/** The providers' maxResponseBytes here. */
const CAP = 1024 * 1024;
/**
 * What the upstream may have written past the cap before the gateway's abort reached it: what
 * loopback's socket buffers may hold (net.ipv4.tcp_rmem's ceiling: 32 MiB on the development host;
 * 3-4 MB past the cap was measured there) and a read in flight. Without the cap the upstream
 * writes until the attempt's timeout: gigabytes.
 */
const SLACK = 48 * 1024 * 1024;
const PIECE = Buffer.alloc(256 * 1024, 'B');

/**
 * An upstream that answers every request 200 `application/json`, then a JSON string that never
 * ends, written as fast as it is read; the bytes each request was sent are recorded once its
 * connection closes. Found by an independent check: such a body was read into memory with no
 * bound, past 1 GB of RSS in 7 s, on the OpenAI-format and the Anthropic providers alike.
 */
class EndlessBody {
  /** Bytes written to each request, by path, once the gateway closed it. */
  readonly sent: { path: string; bytes: number }[] = [];
  private server: Server | undefined;

  async start(): Promise<string> {
    this.server = createServer((req, res) => {
      req.resume();
      res.writeHead(200, { 'content-type': 'application/json' });
      let bytes = 0;
      const write = () => {
        while (!res.destroyed) {
          bytes += PIECE.length;
          if (!res.write(PIECE)) return void res.once('drain', write);
        }
      };
      res.on('close', () => this.sent.push({ path: req.url ?? '', bytes }));
      res.write('{"id":"x","object":"chat.completion","choices":[{"index":0,"message":{"role":"assistant","content":"');
      write();
    }).listen(0, '127.0.0.1');
    await once(this.server, 'listening');
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise((resolve) => this.server?.close(resolve));
  }
}

describe('a non-streamed upstream answer is read up to the provider`s maxResponseBytes', () => {
  const upstream = new EndlessBody();
  let gateway: GatewayProcess;

  before(async () => {
    const baseUrl = await upstream.start();
    const provider = (name: string, type: string) => ({ name, type, baseUrl, apiKeyEnv: 'FAKE_KEY', maxResponseBytes: CAP });
    const model = (name: string, providerName: string, capabilities?: string[]) => ({
      name,
      deployments: [{ provider: providerName, model: 'endless', maxOutputTokens: 100, capabilities }],
    });
    gateway = await GatewayProcess.start(
      configWith({
        providers: [provider('oa', 'openai-compatible'), provider('ant', 'anthropic'), provider('gem', 'gemini')],
        models: [model('oa-x', 'oa'), model('oa-emb', 'oa', ['embeddings']), model('ant-x', 'ant'), model('gem-x', 'gem')],
        // Long enough that a gateway without the cap fails by outcome (a 504), not by the test's timeout.
        router: { timeouts: { attemptMs: 10_000, deadlineMs: 10_000 }, retry: { attemptsPerDeployment: 1 } },
      }),
      { env: { FAKE_KEY: 'fake-upstream-key' } },
    );
  });
  after(async () => {
    await gateway?.stop();
    await upstream.stop();
  });

  /** The answer is the 502 saying why, and the upstream was cut off near the cap. */
  async function assertCut(call: Promise<unknown>, provider: string, path: RegExp): Promise<void> {
    const err = await apiError(call);
    assert.equal(err.status, 502, `${provider}: ${err.status} ${err.message}`);
    assert.equal(err.code, 'upstream_invalid_response');
    assert.match(err.message, new RegExp(`Provider ${provider} sent an answer larger than ${CAP} bytes`));
    const sent = () => upstream.sent.filter((s) => path.test(s.path));
    // The upstream sees its connection close a moment after the gateway answered.
    assert.ok(await eventually(async () => sent().length > 0), `the request to ${path} closed: ${JSON.stringify(upstream.sent)}`);
    assert.equal(sent().length, 1);
    assert.ok(sent()[0]!.bytes <= CAP + SLACK, `${provider}: the upstream wrote ${sent()[0]!.bytes} bytes before it was cut off`);
  }

  it('OpenAI-format chat and embeddings, Anthropic (the gateway`s own Messages request) and Gemini (its SDK): a 502, the upstream cut off', async () => {
    const client = gateway.client();
    const messages = [{ role: 'user' as const, content: 'hi' }];
    await assertCut(client.chat.completions.create({ model: 'oa-x', messages }), 'oa', /\/chat\/completions$/);
    await assertCut(client.embeddings.create({ model: 'oa-emb', input: 'hi' }), 'oa', /\/embeddings$/);
    await assertCut(client.chat.completions.create({ model: 'ant-x', messages }), 'ant', /\/v1\/messages$/);
    await assertCut(client.chat.completions.create({ model: 'gem-x', messages }), 'gem', /:generateContent$/);
    // A Messages API client gets it in Anthropic's shape.
    const anthropic = new Anthropic({ baseURL: gateway.url, apiKey: 'unused', maxRetries: 0 });
    const err = await anthropic.messages.create({ model: 'ant-x', max_tokens: 10, messages }).then(
      () => assert.fail('expected an error'),
      (e: unknown) => e,
    );
    assert.ok(err instanceof Anthropic.APIError, String(err));
    assert.equal(err.status, 500);
    assert.equal((err.error as { error?: { type?: string } }).error?.type, 'api_error');
    assert.match(err.message, /Provider ant sent an answer larger than/);
    assert.equal(gateway.exitCode, null, 'the process is still running');
  });
});
