import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type GatewayProcess, threeVendorGateway } from '../support/gateway';
import { type Scripted, ScriptedAnswers } from '../support/scripted-answers';

const usage = { prompt_tokens: 5, completion_tokens: 5, total_tokens: 10 };
const chatAnswer = (choices: unknown) => ({ id: 'chatcmpl-1', object: 'chat.completion', created: 1, model: 'x', choices, usage });
const stopChoice = (message: object) => ({ index: 0, message: { role: 'assistant', ...message }, finish_reason: 'stop' });
const claudeAnswer = (content: unknown) => ({
  id: 'msg_1',
  type: 'message',
  role: 'assistant',
  model: 'claude-x',
  content,
  stop_reason: 'end_turn',
  stop_sequence: null,
  usage: { input_tokens: 5, output_tokens: 5 },
});
const geminiAnswer = (parts: unknown) => ({
  candidates: [{ content: { role: 'model', parts }, finishReason: 'STOP', index: 0 }],
  usageMetadata: { promptTokenCount: 5, candidatesTokenCount: 5, totalTokenCount: 10 },
});
const ok = (status: number, body: unknown): Scripted => ({ status, body });

/** Non-streamed answers no chat answer can be read from, by the provider that sends them (`oa`, `ant`, `gem`). */
const MALFORMED: Record<string, [provider: string, answer: Scripted]> = {
  // Found by an independent check (defect 6): each went out as a 200, then the cache's store threw and the process died.
  'oa-choice-null': ['oa', ok(200, chatAnswer([null]))],
  'oa-choice-number': ['oa', ok(200, chatAnswer([7]))],
  'oa-no-choices': ['oa', ok(200, { ...chatAnswer([]), choices: undefined })],
  'oa-message-string': ['oa', ok(200, chatAnswer([{ index: 0, message: 'hi', finish_reason: 'stop' }]))],
  'oa-content-number': ['oa', ok(200, chatAnswer([stopChoice({ content: 12345 })]))],
  'oa-call-id-number': [
    'oa',
    ok(
      200,
      chatAnswer([stopChoice({ content: null, tool_calls: [{ id: 7, type: 'function', function: { name: 'f', arguments: '{}' } }] })]),
    ),
  ],
  // Found by the same check (defect 7): a 500 internal_error, not failed over.
  'ant-content-null': ['ant', ok(200, claudeAnswer(null))],
  'ant-content-null-block': ['ant', ok(200, claudeAnswer([null]))],
  'ant-content-number': ['ant', ok(200, claudeAnswer(7))],
  'ant-content-object': ['ant', ok(200, claudeAnswer({}))],
  'ant-tool-use-types': ['ant', ok(200, claudeAnswer([{ type: 'tool_use', id: 7, name: null, input: 'str' }]))],
  'ant-text-number': ['ant', ok(200, claudeAnswer([{ type: 'text', text: 7 }]))],
  // Found by a second check (defect 3): chat and Responses clients got the text "null" / "undefined", a Messages client `text: null`.
  'ant-text-null': ['ant', ok(200, claudeAnswer([{ type: 'text', text: null }]))],
  'ant-text-missing': ['ant', ok(200, claudeAnswer([{ type: 'text' }]))],
  'ant-thinking-null': [
    'ant',
    ok(
      200,
      claudeAnswer([
        { type: 'thinking', thinking: null, signature: null },
        { type: 'text', text: 'a' },
      ]),
    ),
  ],
  'ant-tool-use-no-input': ['ant', ok(200, claudeAnswer([{ type: 'tool_use', id: 'toolu_1', name: 'f' }]))],
  'gem-parts-null-part': ['gem', ok(200, geminiAnswer([null]))],
  'gem-parts-number': ['gem', ok(200, geminiAnswer(7))],
  'gem-parts-object': ['gem', ok(200, geminiAnswer({}))],
  'gem-call-name-number': ['gem', ok(200, geminiAnswer([{ functionCall: { name: 7, args: 'x' } }]))],
  // Found by the same check (defect 5): the SDK's own failure reading the answer was "the SDK refused the request".
  'gem-body-null': ['gem', { status: 200, text: 'null' }],
  'gem-301': ['gem', { status: 301, text: '<html>moved</html>', headers: { location: 'http://127.0.0.1:9/elsewhere' } }],
  'gem-307': ['gem', { status: 307, text: '', headers: { location: 'http://127.0.0.1:9/elsewhere' } }],
  // To a stream: Gemini's SDK threw building a Response with status 204, and read the 201's HTML as events.
  'gem-stream-204': ['gem', { status: 204 }],
  'gem-stream-201': ['gem', { status: 201, text: '<html>created</html>' }],
  // Doubtful point G: a 2xx other than 200 or a 3xx (a proxy's) cooled the deployment down for 30 s.
  'oa-201': ['oa', ok(201, chatAnswer([stopChoice({ content: 'hi' })]))],
  'oa-204': ['oa', { status: 204 }],
  'oa-302': ['oa', { status: 302, text: '<html>found</html>', headers: { location: 'http://127.0.0.1:9/elsewhere' } }],
  'ant-204': ['ant', { status: 204 }],
  // Found by a second check (defect 1): a non-streamed Gemini answer with such a status and a valid body was served as a 200.
  'gem-201': ['gem', ok(201, geminiAnswer([{ text: 'hi' }]))],
  'gem-203': ['gem', ok(203, geminiAnswer([{ text: 'hi' }]))],
  'gem-206': ['gem', ok(206, geminiAnswer([{ text: 'hi' }]))],
  'ant-301': ['ant', { status: 301, text: '<html>moved</html>', headers: { location: 'http://127.0.0.1:9/elsewhere' } }],
};

/** A Gemini embeddings answer with a valid body and each of these statuses was served as a 200 (the second check's defect 1). */
const ODD_EMBEDDING_STATUSES = [201, 203, 206];

/**
 * Answers from upstreams (or proxies in front of them) that are no chat answer: the client gets a 502
 * `upstream_invalid_response` naming the provider before anything is sent, another deployment answers when
 * the group has one, the deployment is not cooled down, and the gateway keeps serving. The cache is on
 * (the shipped config has it on): its store read the answers after the reply.
 */
describe('malformed upstream answers', () => {
  const upstream = new ScriptedAnswers();
  let gateway: GatewayProcess;

  before(async () => {
    const url = await upstream.start();
    for (const [model, [, answer]] of Object.entries(MALFORMED)) upstream.script(model, answer);
    for (const status of ODD_EMBEDDING_STATUSES)
      upstream.script(`gem-embed-${status}`, ok(status, { embeddings: [{ values: [0.6, 0.8] }] }));
    const models = Object.entries(MALFORMED).flatMap(([name, [provider]]) => {
      const deployment = { provider, model: name, capabilities: ['tools'] };
      return [
        { name, deployments: [deployment] },
        { name: `${name}-then-mock`, deployments: [deployment, { provider: 'mock', model: 'mock-1', capabilities: ['tools'] }] },
      ];
    });
    for (const status of ODD_EMBEDDING_STATUSES)
      models.push({
        name: `gem-embed-${status}`,
        deployments: [{ provider: 'gem', model: `gem-embed-${status}`, capabilities: ['embeddings'] }],
      });
    gateway = await threeVendorGateway(url, models, { timeoutMs: 3_000 });
  });
  after(async () => {
    await gateway?.stop();
    await upstream.stop();
  });

  const post = (path: string, body: object) =>
    fetch(`${gateway.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const REQUESTS: Record<string, (model: string) => Promise<Response>> = {
    chat: (model) => post('/v1/chat/completions', { model, messages: [{ role: 'user', content: 'hi' }] }),
    messages: (model) => post('/v1/messages', { model, max_tokens: 50, messages: [{ role: 'user', content: 'hi' }] }),
    responses: (model) => post('/v1/responses', { model, input: 'hi' }),
  };
  /** The error code in the route's own shape (Anthropic's has no code: its type and message). */
  const errorOf = async (res: Response) => ((await res.json()) as { error: { code?: string; type: string; message: string } }).error;

  for (const [model, [provider]] of Object.entries(MALFORMED))
    for (const [route, send] of Object.entries(REQUESTS))
      it(`${model} on ${route}: a 502 naming ${provider}, twice (no cool-down), and the next deployment answers`, async () => {
        for (let i = 0; i < 2; i++) {
          const res = await send(model);
          const error = await errorOf(res);
          if (route === 'messages') {
            // Anthropic's shape for the gateway's 502s: api_error, 500 (docs/providers.md).
            assert.equal(res.status, 500, `${route} ${model}: ${JSON.stringify(error)}`);
            assert.equal(error.type, 'api_error', error.message);
          } else {
            assert.equal(res.status, 502, `${route} ${model}: ${JSON.stringify(error)}`);
            assert.equal(error.code, 'upstream_invalid_response', error.message);
          }
          assert.match(error.message, new RegExp(`Provider ${provider}\\b`), error.message);
        }
        const fallback = await send(`${model}-then-mock`);
        assert.equal(fallback.status, 200, await fallback.clone().text());
      });

  const ODD_STATUSES = ['gem-stream-204', 'gem-stream-201', 'gem-301', 'oa-201', 'oa-204', 'oa-302', 'ant-204', 'ant-301'];
  for (const model of ODD_STATUSES)
    it(`${model} to a stream: a 502 before the stream, and the next deployment streams`, async () => {
      const stream = (name: string) =>
        post('/v1/chat/completions', { model: name, stream: true, messages: [{ role: 'user', content: 'hi' }] });
      const res = await stream(model);
      const error = await errorOf(res);
      assert.equal(res.status, 502, JSON.stringify(error));
      assert.equal(error.code, 'upstream_invalid_response', error.message);
      const fallback = await stream(`${model}-then-mock`);
      assert.equal(fallback.status, 200);
      assert.match(await fallback.text(), /data: \[DONE\]/);
    });

  for (const status of ODD_EMBEDDING_STATUSES)
    it(`a Gemini embeddings answer with HTTP ${status}: a 502, as for chat`, async () => {
      const res = await post('/v1/embeddings', { model: `gem-embed-${status}`, input: 'hi' });
      const error = await errorOf(res);
      assert.equal(res.status, 502, JSON.stringify(error));
      assert.equal(error.code, 'upstream_invalid_response', error.message);
      assert.match(error.message, /Provider gem\b/);
    });

  it('kept the process serving, with nothing left unhandled', async () => {
    assert.equal(gateway.exitCode, null);
    assert.equal((await fetch(`${gateway.url}/health`)).status, 200);
    const metrics = await (await fetch(`${gateway.opsUrl}/metrics`)).text();
    assert.match(metrics, /^gateway_unhandled_rejections_total 0$/m);
  });
});
