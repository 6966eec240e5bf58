import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import Anthropic from '@anthropic-ai/sdk';
import type OpenAI from 'openai';
import { type GatewayProcess, threeVendorGateway } from '../support/gateway';
import { ScriptedAnswers } from '../support/scripted-answers';

/** A Discord/Twitter snowflake-sized id: beyond 2^53, so a JS number rounds it to 1234567890123456800. */
const ID = '1234567890123456789';
const ARGS = `{"user_id":${ID},"ids":[-${ID},2.5]}`;
const json = (text: string) => ({ status: 200, text, headers: { 'content-type': 'application/json' } });
const usage = '"usage":{"prompt_tokens":1,"completion_tokens":1,"total_tokens":2}';
const chatCall = `{"id":"c1","object":"chat.completion","created":1,"model":"m","choices":[{"index":0,"message":{"role":"assistant","content":null,"tool_calls":[{"id":"call_1","type":"function","function":{"name":"ban","arguments":${JSON.stringify(ARGS)}}}]},"finish_reason":"tool_calls"}],${usage}}`;
const claudeCall = `{"id":"msg_1","type":"message","role":"assistant","model":"m","content":[{"type":"tool_use","id":"toolu_1","name":"ban","input":${ARGS}}],"stop_reason":"tool_use","stop_sequence":null,"usage":{"input_tokens":1,"output_tokens":1}}`;
const geminiCall = `{"candidates":[{"content":{"role":"model","parts":[{"functionCall":{"name":"ban","args":${ARGS}}}]},"finishReason":"STOP","index":0}],"usageMetadata":{"promptTokenCount":1,"candidatesTokenCount":1,"totalTokenCount":2}}`;
const claudeText = `{"id":"msg_2","type":"message","role":"assistant","model":"m","content":[{"type":"text","text":"done"}],"stop_reason":"end_turn","stop_sequence":null,"usage":{"input_tokens":1,"output_tokens":1}}`;
const chatText = `{"id":"c2","object":"chat.completion","created":1,"model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"done"},"finish_reason":"stop"}],${usage}}`;
const geminiText = `{"candidates":[{"content":{"role":"model","parts":[{"text":"done"}]},"finishReason":"STOP","index":0}],"usageMetadata":{"promptTokenCount":1,"candidatesTokenCount":1,"totalTokenCount":2}}`;

const SCRIPTS: Record<string, [provider: string, answer: string]> = {
  'oa-call': ['oa', chatCall],
  'ant-call': ['ant', claudeCall],
  'gem-call': ['gem', geminiCall],
  'oa-text': ['oa', chatText],
  'ant-text': ['ant', claudeText],
  'gem-text': ['gem', geminiText],
};

/**
 * Integers beyond 2^53 in tool arguments and inputs keep their digits through the gateway wherever it parses
 * and writes them again: in a translated whole answer (a streamed one relays the text) and in history sent to
 * another vendor, or to Anthropic as the Messages body came. Found by an independent check: they came out as
 * 1234567890123456800.
 */
describe('tool arguments: integers beyond 2^53 keep their digits', () => {
  const upstream = new ScriptedAnswers();
  let gateway: GatewayProcess;
  let openai: OpenAI;
  let claude: Anthropic;
  const kept = (text: string, what: string) => {
    assert.ok(text.includes(`:${ID},`) && text.includes(`[-${ID},2.5]`), `${what}: ${text.slice(0, 600)}`);
  };

  before(async () => {
    const url = await upstream.start();
    const models = Object.entries(SCRIPTS).map(([name, [provider, answer]]) => {
      upstream.script(name, json(answer));
      return { name, deployments: [{ provider, model: name, capabilities: ['tools'] }] };
    });
    gateway = await threeVendorGateway(url, models, { timeoutMs: 5_000 });
    openai = gateway.client({ maxRetries: 0 });
    claude = new Anthropic({ baseURL: gateway.url, apiKey: 'x', maxRetries: 0 });
  });
  after(async () => {
    await gateway?.stop();
    await upstream.stop();
  });

  const tool = { name: 'ban', input_schema: { type: 'object' as const, properties: {} } };
  const chatTool = { type: 'function' as const, function: { name: 'ban', parameters: { type: 'object' } } };

  it('a translated answer`s tool call, to a chat client (OpenAI SDK): Anthropic`s and Gemini`s input as arguments', async () => {
    for (const model of ['ant-call', 'gem-call']) {
      const answer = await openai.chat.completions.create({
        model,
        messages: [{ role: 'user', content: `ban ${model}` }],
        tools: [chatTool],
      });
      kept(
        answer.choices[0].message.tool_calls?.[0]?.type === 'function' ? answer.choices[0].message.tool_calls[0].function.arguments : '',
        model,
      );
    }
  });

  it('a translated answer`s tool call, to a Messages client (Anthropic SDK, its raw body): OpenAI`s and Gemini`s as input', async () => {
    for (const model of ['oa-call', 'gem-call']) {
      const res = await claude.messages
        .create({ model, max_tokens: 50, messages: [{ role: 'user', content: `ban ${model}` }], tools: [tool] })
        .asResponse();
      assert.equal(res.status, 200, model);
      kept(await res.text(), model);
    }
  });

  it('a translated answer`s tool call, to a Responses client (OpenAI SDK): Anthropic`s input as arguments', async () => {
    const answer = await openai.responses.create({
      model: 'ant-call',
      input: 'ban',
      tools: [{ type: 'function', name: 'ban', parameters: { type: 'object' }, strict: false }],
    });
    const call = answer.output.find((item) => item.type === 'function_call');
    kept(call?.type === 'function_call' ? call.arguments : '', 'ant-call');
  });

  // utf34 D2: a body starting with a BOM (accepted everywhere) was refused as unparsable JSON by the exact re-parse.
  it('Messages history`s tool_use input reaches every vendor exact, Anthropic`s pass-through body too, a body after a BOM too', async () => {
    for (const [model, bom] of ['ant-text', 'oa-text', 'gem-text'].flatMap((model) => [
      [model, ''],
      [model, '\ufeff'],
    ])) {
      const res = await fetch(`${gateway.url}/v1/messages`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'anthropic-version': '2023-06-01' },
        body: `${bom}{"model":"${model}","max_tokens":50,"tools":[{"name":"ban","input_schema":{"type":"object"}}],"messages":[{"role":"user","content":"ban"},{"role":"assistant","content":[{"type":"tool_use","id":"toolu_1","name":"ban","input":${ARGS}}]},{"role":"user","content":[{"type":"tool_result","tool_use_id":"toolu_1","content":"done"}]}]}`,
      });
      assert.equal(res.status, 200, `${model}${bom && ' after a BOM'}: ${await res.text()}`);
      kept(upstream.last().text, model);
    }
  });

  it('chat history`s tool call arguments reach Anthropic and Gemini (parsed into their objects) exact', async () => {
    for (const model of ['ant-text', 'gem-text']) {
      await openai.chat.completions.create({
        model,
        tools: [chatTool],
        messages: [
          { role: 'user', content: 'ban' },
          {
            role: 'assistant',
            content: null,
            tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'ban', arguments: ARGS } }],
          },
          { role: 'tool', tool_call_id: 'call_1', content: 'done' },
        ],
      });
      kept(upstream.last().text, model);
    }
  });
});
