import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import type { ChatCompletion } from 'openai/resources/chat/completions';
import { CustomInputStream, customInput } from '../../apps/gateway/src/responses/custom-tools';
import { newResponseId } from '../../apps/gateway/src/responses/ids';
import { callNames, type ResponsesRequest, toChatParams } from '../../apps/gateway/src/responses/request';
import { toResponse } from '../../apps/gateway/src/responses/response';

type Validate = ((data: unknown) => boolean) & { errors?: { instancePath: string }[] | null };
const { createResponse } = require('../../apps/gateway/src/http/request-validators') as { createResponse: Validate };

/**
 * Found by an independent check: Codex declares `apply_patch` as a custom tool for a model name it
 * knows, and the gateway refused every such request. A custom tool now travels as a function of one
 * string, `input`; its calls come back as custom_tool_call items.
 */
const PATCH_TOOL = {
  type: 'custom' as const,
  name: 'apply_patch',
  description: 'Edits files.',
  format: { type: 'grammar' as const, syntax: 'lark' as const, definition: 'start: "*** Begin Patch"' },
};
const INPUT_SCHEMA = {
  type: 'object',
  properties: { input: { type: 'string', description: 'The whole input of the tool, as free text (not JSON).' } },
  required: ['input'],
  additionalProperties: false,
};
const req = (extra: Partial<ResponsesRequest>): ResponsesRequest => ({ model: 'm', input: 'hi', ...extra });

describe('custom tools -> chat functions', () => {
  it('a custom tool is a function of `input`, its format told in the description; in a namespace too', () => {
    const tools = [
      PATCH_TOOL,
      { type: 'custom', name: 'note', format: { type: 'text' } },
      { type: 'namespace', name: 'fs', description: 'files', tools: [{ type: 'custom', name: 'write' }] },
    ] as ResponsesRequest['tools'];
    assert.deepEqual(toChatParams(req({ tools })).tools, [
      {
        type: 'function',
        function: {
          name: 'apply_patch',
          description:
            'Edits files.\n\nCall this tool with its input as plain text in `input`; the text must match this lark grammar:\nstart: "*** Begin Patch"',
          parameters: INPUT_SCHEMA,
        },
      },
      {
        type: 'function',
        function: { name: 'note', description: 'Call this tool with its input as plain text in `input`.', parameters: INPUT_SCHEMA },
      },
      {
        type: 'function',
        function: { name: 'fs__write', description: 'Call this tool with its input as plain text in `input`.', parameters: INPUT_SCHEMA },
      },
    ]);
  });

  it('tool_choice custom forces its function; allowed_tools may name custom tools', () => {
    const tools = [PATCH_TOOL];
    assert.deepEqual(toChatParams(req({ tools, tool_choice: { type: 'custom', name: 'apply_patch' } })).tool_choice, {
      type: 'function',
      function: { name: 'apply_patch' },
    });
    const allowed = toChatParams(
      req({ tools, tool_choice: { type: 'allowed_tools', mode: 'auto', tools: [{ type: 'custom', name: 'apply_patch' }] } }),
    );
    assert.deepEqual(allowed.tool_choice, {
      type: 'allowed_tools',
      allowed_tools: { mode: 'auto', tools: [{ type: 'function', function: { name: 'apply_patch' } }] },
    });
  });

  it('custom_tool_call history is a call of the function with {"input"}, its output the tool message', () => {
    const params = toChatParams(
      req({
        tools: [PATCH_TOOL],
        input: [
          { role: 'user', content: 'edit' },
          { type: 'custom_tool_call', call_id: 'c1', name: 'apply_patch', input: 'line "1"\nline 2' },
          { type: 'custom_tool_call_output', call_id: 'c1', output: 'Done' },
        ],
      }),
    );
    assert.deepEqual(params.messages.slice(1), [
      {
        role: 'assistant',
        content: null,
        tool_calls: [{ id: 'c1', type: 'function', function: { name: 'apply_patch', arguments: '{"input":"line \\"1\\"\\nline 2"}' } }],
      },
      { role: 'tool', tool_call_id: 'c1', content: 'Done' },
    ]);
  });

  it('the schema checks a custom tool`s name and format, and the items, naming the field', () => {
    const refused: [object, string][] = [
      [{ tools: [{ type: 'custom', name: 'has space' }] }, '/tools/0/name'],
      [{ tools: [{ type: 'custom', name: 'p', format: { type: 'json' } }] }, '/tools/0/format/type'],
      [{ tools: [{ type: 'custom', name: 'p', format: { type: 'grammar', syntax: 'lark' } }] }, '/tools/0/format'],
      [{ tools: [{ type: 'custom', name: 'p', format: { type: 'grammar', syntax: 'ebnf', definition: 'x' } }] }, '/tools/0/format/syntax'],
      [{ tool_choice: { type: 'custom' } }, '/tool_choice'],
      [{ input: [{ type: 'custom_tool_call', call_id: 'c', name: 'p' }] }, '/input/0'],
      [{ input: [{ type: 'custom_tool_call_output', call_id: 'c' }] }, '/input/0'],
    ];
    for (const [extra, path] of refused) {
      assert.equal(createResponse({ model: 'm', ...extra }), false, JSON.stringify(extra));
      assert.equal(createResponse.errors?.[0].instancePath, path, JSON.stringify(extra));
    }
    assert.ok(createResponse({ model: 'm', tools: [PATCH_TOOL], tool_choice: { type: 'custom', name: 'apply_patch' } }));
  });
});

describe('calls of a custom tool`s function -> custom_tool_call items', () => {
  const respond = (name: string, args: string, tools: ResponsesRequest['tools'] = [PATCH_TOOL]) => {
    const message = { role: 'assistant', content: null, tool_calls: [{ id: 'c1', type: 'function', function: { name, arguments: args } }] };
    const completion = {
      id: 'x',
      object: 'chat.completion',
      created: 1,
      model: 'up',
      choices: [{ index: 0, message, finish_reason: 'tool_calls' }],
    };
    const id = newResponseId();
    return toResponse(completion as ChatCompletion, {
      id,
      createdAt: 1,
      request: req({ tools }),
      store: false,
      callNames: callNames(tools),
    });
  };

  it('its input is the text of `input`; the item id is ctc_; in a namespace, the call names it', () => {
    const [item] = respond('apply_patch', '{"input":"*** Begin Patch\\n"}').output;
    assert.deepEqual(
      { ...item, id: item.id?.slice(0, 4) },
      {
        id: 'ctc_',
        type: 'custom_tool_call',
        status: 'completed',
        call_id: 'c1',
        name: 'apply_patch',
        input: '*** Begin Patch\n',
      },
    );
    const tools = [
      { type: 'namespace', name: 'fs', description: 'files', tools: [{ type: 'custom', name: 'write' }] },
    ] as ResponsesRequest['tools'];
    const [inner] = respond('fs__write', '{"input":"x"}', tools).output;
    assert.deepEqual(
      [inner.type, (inner as { name: string }).name, (inner as { namespace?: string }).namespace],
      ['custom_tool_call', 'write', 'fs'],
    );
  });

  it('arguments a model wrote outside the schema reach the tool as they are; none is an empty input', () => {
    assert.equal(customInput('{"patch":"x"}'), '{"patch":"x"}');
    assert.equal(customInput('not json'), 'not json');
    assert.equal(customInput('{"input":3}'), '{"input":3}');
    assert.equal(customInput('{}'), '');
    assert.equal(customInput(''), '');
  });

  it('a function tool of the same request still gives function_call items', () => {
    const tools = [PATCH_TOOL, { type: 'function', name: 'exec', parameters: {}, strict: false }] as ResponsesRequest['tools'];
    assert.equal(respond('exec', '{}', tools).output[0].type, 'function_call');
  });
});

describe('a custom tool`s input decoded as its arguments stream in', () => {
  /** JSON with every non-ASCII UTF-16 unit escaped, as Python's json.dumps writes it (vLLM). */
  const asciiJson = (value: unknown) =>
    JSON.stringify(value).replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);

  it('any split of the arguments, escaped or not, gives the input in pieces that add up to it', () => {
    fc.assert(
      fc.property(
        fc.string({ unit: fc.constantFrom('a', ' ', '\n', '"', '\\', '\u0001', 'é', '👋', '\ud800', '/') }),
        fc.boolean(),
        fc.array(fc.nat(200), { maxLength: 10 }),
        (input, ascii, cuts) => {
          const args = ascii ? asciiJson({ input }) : JSON.stringify({ input });
          const points = [...new Set(cuts.map((c) => c % (args.length + 1)))].sort((a, b) => a - b);
          const stream = new CustomInputStream();
          let decoded = '';
          let at = 0;
          for (const p of [...points, args.length]) {
            decoded += stream.push(args.slice(at, p));
            at = Math.max(at, p);
          }
          assert.equal(decoded, input);
          assert.equal(customInput(args), input);
        },
      ),
      { seed: 7, numRuns: 500 },
    );
  });

  it('text that is not a JSON string stops the stream: the input comes whole at the end', () => {
    const stream = new CustomInputStream();
    assert.equal(stream.push('{"input":"ab'), 'ab');
    assert.equal(stream.push('\\q"}'), '');
    assert.equal(stream.push('more'), '');
  });
});
