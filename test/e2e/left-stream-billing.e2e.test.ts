import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import Anthropic from '@anthropic-ai/sdk';
import { ANTHROPIC_USAGE } from '../support/fake-anthropic';
import { FakeVendors } from '../support/fake-vendors';
import { configWith, GatewayProcess } from '../support/gateway';

const CLAUDE_PRICE = { input: 3, output: 15 };
const GEMINI_PRICE = { input: 1.25, output: 10 };
/** Long enough that the gateway's own estimate of it (~1,000 tokens) is far from what the fakes report. */
const PROMPT = 'count me '.repeat(450);

// Found by an independent check: a client that left mid-stream was billed for a prompt estimated
// from its characters at the plain input price, though the upstream had already reported the
// prompt's usage (a Claude Code-like prompt, mostly cache reads, was charged 6.9x).
describe('a stream its client leaves is billed for the usage the upstream had reported', () => {
  const vendors = new FakeVendors();
  let gateway: GatewayProcess;
  before(async () => {
    const [, ant, gem] = await vendors.start();
    gateway = await GatewayProcess.start(
      configWith({
        providers: [ant, gem],
        models: [
          { name: 'claude', deployments: [{ provider: 'ant', model: 'claude-drip-200', price: CLAUDE_PRICE }] },
          { name: 'gemini', deployments: [{ provider: 'gem', model: 'gemini-drip-200', price: GEMINI_PRICE }] },
        ],
      }),
      { env: vendors.env },
    );
  });
  after(async () => {
    await gateway.stop();
    await vendors.stop();
  });

  /** Reads `chunks` until the first text arrives, then leaves; returns the request's access-log line. */
  async function leave(id: string, chunks: (signal: AbortSignal) => Promise<AsyncIterable<unknown>>, text: (chunk: any) => string) {
    const ac = new AbortController();
    let said = '';
    try {
      for await (const chunk of await chunks(ac.signal)) {
        said += text(chunk);
        if (said) ac.abort();
      }
    } catch {
      // The SDK may end the loop of an aborted stream with an error or without one.
    }
    assert.ok(said.length > 0);
    const [line] = await gateway.logged('request', { where: (l) => l.reqId === id, timeoutMs: 10_000 });
    assert.equal(line.status, 499);
    // The output was not reported yet: it is estimated from the upstream's chunks so far, and the bill says so.
    assert.equal(line.usageEstimated, true);
    assert.ok((line.completionTokens as number) > 0);
    return line as { promptTokens: number; completionTokens: number; costUsd: number };
  }

  /** message_start's prompt: input, cache reads and cache writes, each at its own rate. */
  const claudeCost = (completion: number) =>
    (ANTHROPIC_USAGE.input_tokens * 3 +
      ANTHROPIC_USAGE.cache_read_input_tokens * 0.3 +
      ANTHROPIC_USAGE.cache_creation_input_tokens * 3.75 +
      completion * 15) /
    1e6;
  const claudePrompt = ANTHROPIC_USAGE.input_tokens + ANTHROPIC_USAGE.cache_read_input_tokens + ANTHROPIC_USAGE.cache_creation_input_tokens;

  it('on the Messages API, from message_start (the native stream)', async () => {
    const claude = new Anthropic({ baseURL: gateway.url, apiKey: 'unused', maxRetries: 0 });
    const line = await leave(
      'left-native',
      (signal) =>
        claude.messages.create(
          { model: 'claude', max_tokens: 500, stream: true, messages: [{ role: 'user', content: PROMPT }] },
          { signal, headers: { 'x-request-id': 'left-native' } },
        ),
      (event) => (event.type === 'content_block_delta' && event.delta.type === 'text_delta' ? event.delta.text : ''),
    );
    assert.equal(line.promptTokens, claudePrompt);
    assert.ok(Math.abs(line.costUsd - claudeCost(line.completionTokens)) < 1e-12, `costUsd ${line.costUsd}`);
  });

  /** A Chat Completions stream of `model`, left once its first text arrived. */
  const leaveChat = (id: string, model: string) =>
    leave(
      id,
      (signal) =>
        gateway
          .client()
          .chat.completions.create(
            { model, stream: true, messages: [{ role: 'user', content: PROMPT }] },
            { signal, headers: { 'x-request-id': id } },
          ),
      (chunk) => chunk.choices[0]?.delta.content ?? '',
    );

  it('on Chat Completions from Anthropic, from message_start (the translated stream)', async () => {
    const line = await leaveChat('left-translated', 'claude');
    assert.equal(line.promptTokens, claudePrompt);
    assert.ok(Math.abs(line.costUsd - claudeCost(line.completionTokens)) < 1e-12, `costUsd ${line.costUsd}`);
  });

  it("on Chat Completions from Gemini, from its chunks' running usage", async () => {
    const line = await leaveChat('left-gemini', 'gemini');
    // The fake's chunks before the last report the prompt alone (promptTokenCount 12).
    assert.equal(line.promptTokens, 12);
    assert.ok(Math.abs(line.costUsd - (12 * 1.25 + line.completionTokens * 10) / 1e6) < 1e-12, `costUsd ${line.costUsd}`);
  });
});
