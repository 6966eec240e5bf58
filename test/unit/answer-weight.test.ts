import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { answerWeight, textWeight } from '@gateway/providers';

const sse = (events: object[]) => events.map((e) => `data: ${JSON.stringify(e)}\n\n`);
const sum = (chunks: string[], protocol?: 'anthropic') => chunks.reduce((n, c) => n + answerWeight(Buffer.from(c), protocol), 0);

describe('answerWeight', () => {
  const text = 'Héllo, "world"\nline two: {"content":"not a key"} 😀';
  const args = '{"city":"Paris","unit":"celsius"}';

  it('measures a chat completion`s output alike as JSON and as its stream`s chunks, whatever the envelope', () => {
    const completion = {
      id: 'chatcmpl-0123456789abcdefghijklmnopqrstuvwxyz',
      object: 'chat.completion',
      model: 'some-long-model-name-2026-01-01',
      choices: [
        {
          index: 0,
          message: {
            role: 'assistant',
            content: text,
            refusal: null,
            tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: args } }],
          },
          logprobs: { content: [{ token: 'x', logprob: -1 }] },
          finish_reason: 'tool_calls',
        },
      ],
      usage: { prompt_tokens: 11, completion_tokens: 7, total_tokens: 18 },
    };
    // Weighed as textWeight weighs the decoded text (the emoji is one character, a token), as a string or as bytes.
    const expected = textWeight(text) + args.length;
    const json = JSON.stringify(completion);
    assert.equal(answerWeight(json, undefined), expected);
    assert.equal(answerWeight(Buffer.from(json), 'openai'), expected);
    const chunk = (delta: object) => ({
      id: completion.id,
      object: 'chat.completion.chunk',
      model: completion.model,
      choices: [{ index: 0, delta }],
    });
    const pieces = ['Hé', 'llo, "wor', 'ld"\nline two: {"content":"not a key"} 😀'];
    const stream = sse([
      chunk({ role: 'assistant', content: '' }),
      ...pieces.map((content) => chunk({ content })),
      chunk({ tool_calls: [{ index: 0, id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '' } }] }),
      ...['{"ci', 'ty":"Paris","unit', '":"celsius"}'].map((a) => chunk({ tool_calls: [{ index: 0, function: { arguments: a } }] })),
      { ...chunk({}), usage: { prompt_tokens: 11, completion_tokens: 7 } },
    ]);
    assert.equal(sum([...stream, 'data: [DONE]\n\n']), expected);
  });

  it('reads values after a space (Python`s json.dumps), and a refusal; not a null', () => {
    assert.equal(answerWeight('{"message": {"content": "abc", "refusal": "no"}}', undefined), 5);
    assert.equal(answerWeight('{"message": {"content": "abc", "refusal": null, "reasoning": null}}', undefined), 3);
  });

  it('measures an Anthropic answer alike as JSON and as its events: text, thinking and a tool call`s input', () => {
    const message = {
      id: 'msg_0123456789',
      type: 'message',
      role: 'assistant',
      model: 'claude-x',
      content: [
        { type: 'thinking', thinking: 'Let me think.', signature: 'c2lnbmF0dXJlLXNpZ25hdHVyZS1zaWduYXR1cmU=' },
        { type: 'text', text },
        { type: 'tool_use', id: 'toolu_1', name: 'get_weather', input: JSON.parse(args) },
      ],
      usage: { input_tokens: 10, output_tokens: 20 },
    };
    const expected = 'Let me think.'.length + textWeight(text) + args.length;
    assert.equal(answerWeight(Buffer.from(JSON.stringify(message)), 'anthropic'), expected);
    const delta = (index: number, d: object) => ({ type: 'content_block_delta', index, delta: d });
    const events = sse([
      { type: 'message_start', message: { ...message, content: [], usage: { input_tokens: 10, output_tokens: 1 } } },
      { type: 'content_block_start', index: 0, content_block: { type: 'thinking', thinking: '', signature: '' } },
      delta(0, { type: 'thinking_delta', thinking: 'Let me think.' }),
      delta(0, { type: 'signature_delta', signature: 'c2lnbmF0dXJl' }),
      { type: 'content_block_start', index: 1, content_block: { type: 'text', text: '' } },
      delta(1, { type: 'text_delta', text: text.slice(0, 9) }),
      delta(1, { type: 'text_delta', text: text.slice(9) }),
      { type: 'content_block_start', index: 2, content_block: { type: 'tool_use', id: 'toolu_1', name: 'get_weather', input: {} } },
      delta(2, { type: 'input_json_delta', partial_json: args.slice(0, 10) }),
      delta(2, { type: 'input_json_delta', partial_json: args.slice(10) }),
      { type: 'message_delta', delta: { stop_reason: 'tool_use' }, usage: { output_tokens: 20 } },
    ]);
    // The tool_use block's opening `input: {}` is two characters more.
    assert.equal(sum(events, 'anthropic'), expected + 2);
  });

  it('equals a model that parses the JSON, on random answers written compact or indented', () => {
    const names = {
      chat: ['content', 'refusal', 'arguments', 'reasoning_content', 'reasoning'],
      anthropic: ['text', 'thinking', 'partial_json', 'input'],
    };
    // What answerWeight promises, read from the parsed value: an output key's string weighs as textWeight weighs it,
    // its object the characters it is written with (compact, its strings decoded), and neither is searched
    // further; any other value is searched for output keys.
    const model = (value: unknown, wanted: string[]): number => {
      if (Array.isArray(value)) return value.reduce((n: number, v) => n + model(v, wanted), 0);
      if (value === null || typeof value !== 'object') return 0;
      let n = 0;
      for (const [k, v] of Object.entries(value)) {
        if (wanted.includes(k) && typeof v === 'string') n += textWeight(v);
        else if (wanted.includes(k) && v !== null && typeof v === 'object' && !Array.isArray(v)) n += written(v);
        else n += model(v, wanted);
      }
      return n;
    };
    const written = (v: unknown): number =>
      typeof v === 'string'
        ? textWeight(v) + 2
        : Array.isArray(v)
          ? 2 + Math.max(0, v.length - 1) + v.reduce((n: number, x) => n + written(x), 0)
          : v !== null && typeof v === 'object'
            ? 2 + Math.max(0, Object.keys(v).length - 1) + Object.entries(v).reduce((n, [k, x]) => n + textWeight(k) + 3 + written(x), 0)
            : JSON.stringify(v).length;
    // Keys from both protocols' lists and others; text with quotes, escapes, keys written inside it, and non-ASCII.
    const key = fc.constantFrom(...names.chat, ...names.anthropic, 'id', 'role', 'delta', 'content_block', 'x');
    const text = fc.oneof(
      fc.string({ unit: 'binary' }),
      fc.constantFrom('"content":"x"', '\\"text\\":', 'é😀\n\t\u0000', '合同条款 ok', 'Привет', '한국어', '\u00a0\u3000'),
    );
    const value = fc.letrec((tie) => ({
      node: fc.oneof({ depthSize: 'small' }, text, fc.integer(), fc.boolean(), fc.constant(null), tie('array'), tie('object')),
      array: fc.array(tie('node'), { maxLength: 4 }),
      object: fc.dictionary(key, tie('node'), { maxKeys: 5 }),
    })).object;
    fc.assert(
      fc.property(
        value,
        fc.constantFrom<'anthropic' | undefined>(undefined, 'anthropic'),
        fc.constantFrom(0, 2),
        (answer, protocol, indent) => {
          const expected = model(answer, names[protocol ?? 'chat']);
          assert.equal(answerWeight(Buffer.from(JSON.stringify(answer, null, indent)), protocol), expected);
          assert.equal(answerWeight(JSON.stringify(answer), protocol), expected);
        },
      ),
      { numRuns: 2000 },
    );
  });
});
