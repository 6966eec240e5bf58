import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { itemType, type ResponsesRequest, toChatParams } from '../../apps/gateway/src/responses/request';
import { thrown } from '../support/chat';

type Validate = ((data: unknown) => boolean) & { errors?: { instancePath: string; message?: string }[] | null };
const { createResponse } = require('../../apps/gateway/src/http/request-validators') as { createResponse: Validate };

const PNG = 'data:image/png;base64,AAAA';
const PDF = 'data:application/pdf;base64,AAAA';
const user = { role: 'user', content: 'go' };
const call = { type: 'function_call', call_id: 'c1', name: 'f', arguments: '{}' };

/**
 * Input item fields OpenAI documents as nullable (its OpenAPI spec and the openai npm types,
 * which openai-python and Codex follow), each sent as null in an input where the codec needs
 * it: [what, input]. Found by an independent check: Codex sends `content: null` on every
 * reasoning item, which the schema refused with a 400 (Codex's loop died after one tool call).
 */
const NULLS: [string, object[]][] = [
  ['reasoning.content (Codex; the spec says an array, OpenAI takes null)', [{ type: 'reasoning', summary: [], content: null }]],
  ['reasoning.encrypted_content', [{ type: 'reasoning', summary: [], encrypted_content: null }]],
  ['message.phase', [user, { type: 'message', role: 'assistant', content: [{ type: 'output_text', text: 'a' }], phase: null }]],
  ['easy input message phase', [user, { role: 'assistant', content: 'a', phase: null }]],
  ['input_image.file_id and .detail', [{ role: 'user', content: [{ type: 'input_image', image_url: PNG, file_id: null, detail: null }] }]],
  ['input_file.file_id', [{ role: 'user', content: [{ type: 'input_file', file_data: PDF, file_id: null }] }]],
  ['function_call.caller', [user, { ...call, caller: null }]],
  [
    'function_call_output.id, .name, .namespace, .status, .caller',
    [
      user,
      call,
      { type: 'function_call_output', call_id: 'c1', output: 'ok', id: null, name: null, namespace: null, status: null, caller: null },
    ],
  ],
  [
    'function_call_output parts: input_text.prompt_cache_breakpoint, input_image.detail and .file_id',
    [
      user,
      call,
      {
        type: 'function_call_output',
        call_id: 'c1',
        output: [
          { type: 'input_text', text: 'ok', prompt_cache_breakpoint: null },
          { type: 'input_image', image_url: PNG, detail: null, file_id: null, prompt_cache_breakpoint: null },
        ],
      },
    ],
  ],
  [
    'function_call_output input_file.file_id, .file_url, .filename',
    [
      user,
      call,
      {
        type: 'function_call_output',
        call_id: 'c1',
        output: [{ type: 'input_file', file_data: PDF, file_id: null, file_url: null, filename: null }],
      },
    ],
  ],
  ['custom_tool_call.caller', [user, { type: 'custom_tool_call', call_id: 'c1', name: 'p', input: 'x', caller: null }]],
  [
    'custom_tool_call_output.caller',
    [
      user,
      { type: 'custom_tool_call', call_id: 'c1', name: 'p', input: 'x' },
      { type: 'custom_tool_call_output', call_id: 'c1', output: 'ok', caller: null },
    ],
  ],
];

describe('input item fields OpenAI documents as nullable', () => {
  for (const [what, input] of NULLS) {
    it(`${what}: null is accepted and translated`, () => {
      const body = { model: 'm', input };
      assert.ok(createResponse(body), JSON.stringify(createResponse.errors));
      assert.ok(toChatParams(body as ResponsesRequest).messages.length > 0);
    });
  }

  it('an item_reference`s type: null names a reference, as `item_reference` does', () => {
    const reference = { type: null, id: 'msg_1' };
    assert.ok(createResponse({ model: 'm', input: [reference] }), JSON.stringify(createResponse.errors));
    assert.equal(itemType(reference), 'item_reference');
    assert.equal(createResponse({ model: 'm', input: [{ type: null }] }), false, 'a reference names its item');
  });

  it('a file whose file_data is null (file_url instead) passes the schema, and is refused for what it lacks, naming the part', () => {
    const input = [
      user,
      call,
      { type: 'function_call_output', call_id: 'c1', output: [{ type: 'input_file', file_data: null, file_url: 'https://x/a.pdf' }] },
    ];
    assert.ok(createResponse({ model: 'm', input }), JSON.stringify(createResponse.errors));
    const err = thrown(() => toChatParams({ model: 'm', input } as ResponsesRequest));
    assert.deepEqual([err.status, err.param], [400, 'input[2].output[0]']);
    assert.match(err.message, /file_data/);
  });

  it('fields OpenAI does not make nullable still refuse null, naming the field', () => {
    for (const [input, path] of [
      [[{ type: 'reasoning', summary: null }], '/input/0/summary'],
      [[{ type: 'function_call', call_id: 'c', name: 'f', arguments: null }], '/input/0/arguments'],
      [[{ type: 'custom_tool_call', call_id: 'c', name: 'f', input: null }], '/input/0/input'],
    ] as const) {
      assert.equal(createResponse({ model: 'm', input }), false);
      assert.equal(createResponse.errors?.[0].instancePath, path);
    }
  });
});
