import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { GatewayError } from '../../libs/providers/src/gateway-error';
import { thrown } from '../support/chat';
import type { ChatCompletionCreateParams, ChatCompletionMessageParam } from '../../libs/providers/src/wire';
import { ChunkFrames, DONE_FRAME, openStream } from '../../libs/providers/src/translation/chunks';
import { partsOf, readPart, textsOf } from '../../libs/providers/src/translation/content';
import { checkParams, COMMON_PARAMS, type ParamTable, outputFormat } from '../../libs/providers/src/translation/params';
import { parseArguments, planTools } from '../../libs/providers/src/translation/tools';
import { ANTHROPIC_PARAMS } from '../../libs/providers/src/anthropic/request';
import { GEMINI_PARAMS } from '../../libs/providers/src/gemini/request';

const base = { model: 'm', messages: [{ role: 'user' as const, content: 'x' }] };

describe('parameter tables', () => {
  // [parameter, value, refused by Anthropic, refused by Gemini]
  const table: [keyof ChatCompletionCreateParams, unknown, boolean, boolean][] = [
    ['n', 1, false, false],
    ['n', 3, true, false],
    ['logprobs', false, false, false],
    ['logprobs', true, true, true],
    ['top_logprobs', 0, false, false],
    ['top_logprobs', 5, true, true],
    ['logit_bias', {}, false, false],
    ['logit_bias', { '1': 5 }, true, true],
    ['modalities', ['text'], false, false],
    ['modalities', ['text', 'audio'], true, true],
    ['audio', { voice: 'alloy', format: 'mp3' }, true, true],
    ['functions', [{ name: 'f' }], true, true],
    ['function_call', 'auto', true, true],
    ['web_search_options', {}, true, true],
    ['temperature', 0, false, false],
    ['top_p', 0.5, false, false],
    ['seed', 1, false, false],
    ['seed', -(2 ** 31), false, false],
    ['seed', 2 ** 31 - 1, false, false],
    ['seed', 2 ** 31, false, true],
    ['seed', -(2 ** 31) - 1, false, true],
    ['frequency_penalty', 1, false, false],
    ['presence_penalty', 1, false, false],
    ['store', true, false, false],
    ['metadata', { a: 'b' }, false, false],
    ['service_tier', 'flex', false, false],
    ['prediction', { type: 'content', content: 'x' }, false, false],
    ['prompt_cache_key', 'k', false, false],
    ['verbosity', 'low', false, false],
    ['user', 'u', false, false],
  ];
  for (const [param, value, anthropic, gemini] of table) {
    it(`${param}=${JSON.stringify(value)}: Anthropic ${anthropic ? 'refuses' : 'accepts'}, Gemini ${gemini ? 'refuses' : 'accepts'}`, () => {
      for (const [params, refused, vendor] of [
        [ANTHROPIC_PARAMS, anthropic, 'Anthropic'],
        [GEMINI_PARAMS, gemini, 'Gemini'],
      ] as [ParamTable, boolean, string][]) {
        const check = () => checkParams({ ...base, [param]: value } as ChatCompletionCreateParams, params, vendor);
        if (!refused) {
          check();
          continue;
        }
        const err = thrown(check);
        assert.equal(err.status, 400);
        assert.equal(err.param, param);
        assert.equal(err.code, 'unsupported_parameter');
        assert.match(err.message, new RegExp(`^${vendor} `));
      }
    });
  }

  it('ignores parameters OpenAI does not define, and nulls', () => {
    checkParams(
      { ...base, n: null, logprobs: null, some_vendor_extension: 1 } as unknown as ChatCompletionCreateParams,
      ANTHROPIC_PARAMS,
      'Anthropic',
    );
  });

  it('classifies the sampling hints per vendor: dropped for Anthropic (API 2026-10-21), mapped for Gemini', () => {
    for (const key of ['temperature', 'top_p', 'frequency_penalty', 'presence_penalty'] as const) {
      assert.equal(ANTHROPIC_PARAMS[key], 'dropped');
      assert.equal(GEMINI_PARAMS[key], 'mapped');
    }
    assert.equal(ANTHROPIC_PARAMS.seed, 'dropped');
    assert.equal(COMMON_PARAMS.tools, 'mapped');
  });

  it('reads response_format', () => {
    assert.deepEqual(outputFormat(base), { kind: 'text' });
    assert.deepEqual(outputFormat({ ...base, response_format: { type: 'json_object' } }), { kind: 'json_object' });
    const schema = { type: 'object' };
    assert.deepEqual(outputFormat({ ...base, response_format: { type: 'json_schema', json_schema: { name: 'n', schema } } }), {
      kind: 'json_schema',
      name: 'n',
      schema,
    });
    assert.equal(
      thrown(() => outputFormat({ ...base, response_format: { type: 'json_schema', json_schema: { name: 'n' } } })).param,
      'response_format.json_schema.schema',
    );
  });
});

describe('content parts', () => {
  const table: [string, Record<string, unknown>, unknown][] = [
    ['text', { type: 'text', text: 'hi' }, { kind: 'text', text: 'hi' }],
    ['refusal (assistant history)', { type: 'refusal', refusal: 'no' }, { kind: 'text', text: 'no' }],
    [
      'data URL image',
      { type: 'image_url', image_url: { url: 'data:image/PNG;base64,AAA' } },
      { kind: 'inline', mediaType: 'image/png', data: 'AAA' },
    ],
    [
      'data URL with parameters',
      { type: 'image_url', image_url: { url: 'data:image/jpeg;name=a.jpg;base64,BBB' } },
      { kind: 'inline', mediaType: 'image/jpeg', data: 'BBB' },
    ],
    [
      'data URL image/jpg (an alias OpenAI accepts) as image/jpeg',
      { type: 'image_url', image_url: { url: 'data:image/jpg;base64,CCC' } },
      { kind: 'inline', mediaType: 'image/jpeg', data: 'CCC' },
    ],
    [
      'https image',
      { type: 'image_url', image_url: { url: 'https://x.test/a/b.webp#frag' } },
      { kind: 'url', url: 'https://x.test/a/b.webp#frag', mediaType: 'image/webp' },
    ],
    [
      'https image, unknown type',
      { type: 'image_url', image_url: { url: 'https://x.test/img' } },
      { kind: 'url', url: 'https://x.test/img', mediaType: undefined },
    ],
    [
      'wav audio',
      { type: 'input_audio', input_audio: { data: 'UklG', format: 'wav' } },
      { kind: 'inline', mediaType: 'audio/wav', data: 'UklG' },
    ],
    [
      'mp3 audio',
      { type: 'input_audio', input_audio: { data: 'SUQz', format: 'mp3' } },
      { kind: 'inline', mediaType: 'audio/mpeg', data: 'SUQz' },
    ],
    [
      'file as data URL',
      { type: 'file', file: { file_data: 'data:application/pdf;base64,JVBE' } },
      { kind: 'inline', mediaType: 'application/pdf', data: 'JVBE' },
    ],
    [
      'file as base64 with a name',
      { type: 'file', file: { filename: 'r.PDF', file_data: 'JVBE' } },
      { kind: 'inline', mediaType: 'application/pdf', data: 'JVBE' },
    ],
  ];
  for (const [name, part, expected] of table) {
    it(name, () => assert.deepEqual(readPart(part as { type: string }, 'p'), expected));
  }

  const refused: [string, Record<string, unknown>, RegExp][] = [
    ['http image', { type: 'image_url', image_url: { url: 'http://x.test/a.png' } }, /https:\/\/ or data:/],
    ['non-base64 data URL', { type: 'image_url', image_url: { url: 'data:image/png,AAA' } }, /base64/],
    ['ogg audio', { type: 'input_audio', input_audio: { data: 'x', format: 'ogg' } }, /wav or mp3/],
    ['file id', { type: 'file', file: { file_id: 'file-1' } }, /file ids/],
    ['file without type', { type: 'file', file: { file_data: 'AAAA' } }, /filename/],
    ['unknown part', { type: 'video_url', video_url: {} }, /'video_url' is not supported/],
  ];
  for (const [name, part, message] of refused) {
    it(`refuses ${name}`, () => {
      const err = thrown(() => readPart(part as { type: string }, 'messages[0].content[1]'));
      assert.equal(err.status, 400);
      assert.match(err.message, message);
      assert.match(err.param ?? '', /^messages\[0\]\.content\[1\]/);
    });
  }

  it('checks media types against the vendor, naming the part', () => {
    const message = {
      role: 'user',
      content: [
        { type: 'text', text: 'a' },
        { type: 'image_url', image_url: { url: 'data:image/bmp;base64,Qk0=' } },
      ],
    } as ChatCompletionMessageParam;
    const err = thrown(() => partsOf(message, 'messages[2]', { vendor: 'V', accepted: new Set(['image/png']) }));
    assert.equal(err.param, 'messages[2].content[1]');
    assert.match(err.message, /V does not accept image\/bmp content \(accepted: image\/png\)/);
  });

  it('a system message may only hold text, read one string a part (not run together)', () => {
    assert.deepEqual(
      textsOf(
        {
          role: 'system',
          content: [
            { type: 'text', text: 'Answer in French' },
            { type: 'text', text: 'Never use emoji' },
          ],
        },
        'm',
      ),
      ['Answer in French', 'Never use emoji'],
    );
    const image = {
      role: 'system',
      content: [{ type: 'image_url', image_url: { url: 'data:image/png;base64,A' } }],
    } as unknown as ChatCompletionMessageParam;
    assert.equal(thrown(() => textsOf(image, 'messages[0]')).param, 'messages[0].content');
  });

  it('an assistant refusal echoed as the SDK returned it (content null) is what the assistant said', () => {
    const refusal = { role: 'assistant', content: null, refusal: 'I cannot help with that.' } as ChatCompletionMessageParam;
    assert.deepEqual(partsOf(refusal, 'm'), [{ kind: 'text', text: 'I cannot help with that.' }]);
    assert.deepEqual(partsOf({ role: 'assistant', content: 'said', refusal: 'ignored' } as ChatCompletionMessageParam, 'm'), [
      { kind: 'text', text: 'said' },
    ]);
  });
});

describe('tool plans', () => {
  const tools = [
    { type: 'function' as const, function: { name: 'a' } },
    { type: 'function' as const, function: { name: 'b' } },
  ];
  const table: [string, Partial<ChatCompletionCreateParams>, object][] = [
    ['no tools', {}, { tools: [], mode: undefined, parallel: true }],
    ['tool_choice without tools', { tool_choice: 'required' }, { tools: [], mode: undefined, parallel: true }],
    ['tools, no choice', { tools }, { mode: undefined, parallel: true }],
    ['auto', { tools, tool_choice: 'auto' }, { mode: 'auto' }],
    ['none', { tools, tool_choice: 'none' }, { mode: 'none' }],
    ['required', { tools, tool_choice: 'required' }, { mode: 'required' }],
    ['named', { tools, tool_choice: { type: 'function', function: { name: 'b' } } }, { mode: 'required', forced: 'b' }],
    ['parallel off', { tools, parallel_tool_calls: false }, { parallel: false }],
    [
      'allowed_tools',
      {
        tools,
        tool_choice: { type: 'allowed_tools', allowed_tools: { mode: 'required', tools: [{ type: 'function', function: { name: 'b' } }] } },
      },
      { tools: [{ name: 'b' }], mode: 'required' },
    ],
  ];
  for (const [name, params, expected] of table) {
    it(name, () => {
      const plan = planTools({ ...base, ...params } as ChatCompletionCreateParams);
      for (const [key, value] of Object.entries(expected)) assert.deepEqual(plan[key as keyof typeof plan], value, key);
    });
  }

  it('refuses a named tool that is not offered, and non-function tools', () => {
    assert.equal(
      thrown(() => planTools({ ...base, tools, tool_choice: { type: 'function', function: { name: 'zz' } } })).param,
      'tool_choice.function.name',
    );
    const custom = [{ type: 'custom', custom: { name: 'c' } }] as unknown as ChatCompletionCreateParams['tools'];
    assert.equal(thrown(() => planTools({ ...base, tools: custom })).param, 'tools[0].type');
  });

  // Found by an independent check: arguments cut by the output limit (or a model's bad JSON) were a 400 on
  // every later turn of the conversation, blaming the client's input for the model's words.
  it('parses history arguments into an object; arguments that are no JSON object go as their text under raw_arguments', () => {
    const param = 'messages[1].tool_calls[0].function.arguments';
    assert.deepEqual(parseArguments('{"a":[1]}', param), { a: [1] });
    assert.deepEqual(parseArguments('', param), {});
    for (const bad of ['[1]', '"s"', '{"city":"Paris, Fran', 'null']) assert.deepEqual(parseArguments(bad, param), { raw_arguments: bad });
  });

  // Found by a hostile-input check: 5,000 levels parsed here (JSON.parse reads any depth) and overflowed the stack
  // in the vendor SDK's JSON.stringify, a 500; security.maxJsonDepth (64 by default) bounded only the body.
  it('history arguments nested deeper than the body may be, or with an object of too many keys, are a 400 naming them', () => {
    const param = 'messages[1].tool_calls[0].function.arguments';
    const nested = (levels: number) => '{"a":'.repeat(levels) + '1' + '}'.repeat(levels);
    assert.equal(Object.keys(parseArguments(nested(64), param)).length, 1);
    for (const levels of [65, 5_000]) {
      const err = thrown(() => parseArguments(nested(levels), param));
      assert.deepEqual([err.status, err.code, err.param], [400, 'json_too_deep', param]);
      assert.match(err.message, /^Invalid 'messages\[1\]\.tool_calls\[0\]\.function\.arguments': JSON nesting is deeper than 64 levels\.$/);
    }
    const keys = `{${Array.from({ length: 10_001 }, (_, i) => `"k${i}":0`).join(',')}}`;
    const many = thrown(() => parseArguments(keys, param));
    assert.deepEqual([many.status, many.code, many.param], [400, 'json_too_many_keys', param]);
    // Text that is no JSON is the model's words, braces and all: not scanned, not refused.
    const prose = '{'.repeat(100) + ' not JSON';
    assert.deepEqual(parseArguments(prose, param), { raw_arguments: prose });
  });
});

describe('chunk frames', () => {
  const frames = new ChunkFrames('p', 'id-1', 'model-x', false);
  const parse = (frame: string) => {
    assert.match(frame, /^data: .*\n\n$/s);
    return JSON.parse(frame.slice(6));
  };

  it('writes OpenAI chunk JSON with one id, object and model', () => {
    const chunk = parse(frames.content('hé "quoted"'));
    assert.equal(chunk.id, 'id-1');
    assert.equal(chunk.object, 'chat.completion.chunk');
    assert.equal(chunk.model, 'model-x');
    assert.ok(Number.isInteger(chunk.created));
    assert.deepEqual(chunk.choices, [{ index: 0, delta: { content: 'hé "quoted"' }, logprobs: null, finish_reason: null }]);
  });

  it('opens a tool call with id, type, name and empty arguments, then continues by index', () => {
    assert.deepEqual(parse(frames.toolCall(1, { id: 'c1', name: 'f', extra: { extra_content: { k: 1 } } }, 2)).choices[0], {
      index: 2,
      delta: { tool_calls: [{ index: 1, id: 'c1', type: 'function', function: { name: 'f', arguments: '' }, extra_content: { k: 1 } }] },
      logprobs: null,
      finish_reason: null,
    });
    assert.deepEqual(parse(frames.toolArguments(1, '{"a"')).choices[0].delta, {
      tool_calls: [{ index: 1, function: { arguments: '{"a"' } }],
    });
  });

  it('writes role, reasoning, finish and usage chunks, and the DONE marker', () => {
    assert.deepEqual(parse(frames.role()).choices[0].delta, { role: 'assistant', content: '' });
    assert.deepEqual(parse(frames.reasoning('hm')).choices[0].delta, { reasoning_content: 'hm' });
    assert.deepEqual(parse(frames.finish('length', 1)).choices, [{ index: 1, delta: {}, logprobs: null, finish_reason: 'length' }]);
    const usage = { prompt_tokens: 1, completion_tokens: 2, total_tokens: 3 };
    const asked = new ChunkFrames('p', 'id-1', 'model-x', true);
    const last = parse(asked.usage(usage)[0]!);
    assert.deepEqual(last.choices, []);
    assert.deepEqual(last.usage, usage);
    // Not asked for (no include_usage), or no usage: no chunk.
    assert.deepEqual([frames.usage(usage), asked.usage(undefined)], [[], []]);
    assert.equal(DONE_FRAME, 'data: [DONE]\n\n');
  });

  it('with include_usage, every chunk but the usage chunk says "usage": null, as OpenAI streams; without it, none has the field', () => {
    const asked = new ChunkFrames('p', 'id-1', 'model-x', true);
    for (const frame of [
      asked.role(),
      asked.content('x'),
      asked.toolCall(0, { id: 'c', name: 'f' }),
      asked.delta({}),
      asked.finish('stop'),
    ])
      assert.equal(parse(frame).usage, null, frame);
    for (const frame of [frames.role(), frames.content('x'), frames.finish('stop')]) assert.ok(!('usage' in parse(frame)), frame);
  });
});

describe('openStream', () => {
  async function* events(items: (number | Error)[]) {
    for (const item of items) {
      if (item instanceof Error) throw item;
      yield item;
    }
  }
  const translate = () => ({ step: (n: number) => [`n${n}`] });
  const toError = (err: unknown) =>
    err instanceof GatewayError ? err : new GatewayError(502, String((err as Error).message), 'upstream_error', 'upstream_unreachable');

  it('replays the peeked first event, then the rest', async () => {
    const stream = await openStream('p', events([1, 2, 3]), translate, toError);
    const out: string[] = [];
    for await (const frame of stream) out.push(String(frame));
    assert.deepEqual(out, ['n1', 'n2', 'n3']);
  });

  it('throws an error of the first event before the stream is handed out', async () => {
    await assert.rejects(openStream('p', events([new Error('boom')]), translate, toError), /boom/);
  });

  it('a connection lost after the answer began is a truncated stream', async () => {
    const stream = await openStream('prov', events([1, new Error('socket')]), translate, toError);
    await assert.rejects(
      (async () => {
        for await (const _ of stream);
      })(),
      (err: GatewayError) => err.code === 'upstream_stream_truncated' && /prov ended the stream/.test(err.message),
    );
  });

  it('closes the upstream when the consumer stops early', async () => {
    let closed = false;
    async function* upstream() {
      try {
        yield 1;
        yield 2;
        yield 3;
      } finally {
        closed = true;
      }
    }
    const stream = await openStream('p', upstream(), translate, toError);
    for await (const _ of stream) break;
    assert.equal(closed, true);
  });
});
