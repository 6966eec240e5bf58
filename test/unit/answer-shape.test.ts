import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type Anthropic from '@anthropic-ai/sdk';
import { choiceFrom } from '../../libs/providers/src/anthropic/response';
import { misTypedMessageField } from '../../libs/providers/src/translation/answer-shape';

const message = (...content: unknown[]) => ({ id: 'msg_1', type: 'message', role: 'assistant', content });

/**
 * An Anthropic answer's blocks against the fields Anthropic's types say each block always has: what the
 * translation reads of them. A text block with `text: null` or none went out to chat and Responses clients
 * as the words "null" / "undefined" (an independent check's defect 3), a thinking block with nulls as nulls.
 */
describe('Anthropic answer shape: the fields each block must have', () => {
  const refused: [string, unknown, string][] = [
    ['text null', { type: 'text', text: null }, 'content[0].text'],
    ['text missing', { type: 'text' }, 'content[0].text'],
    ['text a number', { type: 'text', text: 7 }, 'content[0].text'],
    ['thinking null', { type: 'thinking', thinking: null, signature: 'sig' }, 'content[0].thinking'],
    ['thinking missing', { type: 'thinking', signature: 'sig' }, 'content[0].thinking'],
    ['signature a number', { type: 'thinking', thinking: 'hm', signature: 7 }, 'content[0].signature'],
    ['redacted thinking without data', { type: 'redacted_thinking' }, 'content[0].data'],
    ['tool_use without id', { type: 'tool_use', name: 'f', input: {} }, 'content[0].id'],
    ['tool_use name null', { type: 'tool_use', id: 'toolu_1', name: null, input: {} }, 'content[0].name'],
    ['tool_use without input', { type: 'tool_use', id: 'toolu_1', name: 'f' }, 'content[0].input'],
    ['tool_use input null', { type: 'tool_use', id: 'toolu_1', name: 'f', input: null }, 'content[0].input'],
    ['tool_use input a string', { type: 'tool_use', id: 'toolu_1', name: 'f', input: '{}' }, 'content[0].input'],
  ];
  for (const [name, block, field] of refused)
    it(`refuses ${name}, naming ${field}`, () => {
      assert.equal(misTypedMessageField(message({ type: 'text', text: 'ok' }, block)), field.replace('[0]', '[1]'));
    });

  const accepted: [string, unknown][] = [
    ['text with citations null', { type: 'text', text: '', citations: null }],
    ['text with citations', { type: 'text', text: 'a', citations: [{ type: 'char_location', cited_text: 'a' }] }],
    ['thinking and signature', { type: 'thinking', thinking: 'hm', signature: 'sig' }],
    // Anthropic-compatible servers (DeepSeek's, Kimi's /anthropic) send thinking without a signature.
    ['thinking without a signature', { type: 'thinking', thinking: 'hm' }],
    ['thinking with signature null', { type: 'thinking', thinking: 'hm', signature: null }],
    ['redacted thinking', { type: 'redacted_thinking', data: 'opaque' }],
    ['tool_use with empty input', { type: 'tool_use', id: 'toolu_1', name: 'f', input: {} }],
    ['server_tool_use', { type: 'server_tool_use', id: 'srvtoolu_1', name: 'web_search', input: { query: 'q' } }],
    ['web_search_tool_result', { type: 'web_search_tool_result', tool_use_id: 'srvtoolu_1', content: [] }],
    ['a block type yet unknown', { type: 'future_block', anything: null }],
  ];
  for (const [name, block] of accepted)
    it(`accepts ${name}`, () => {
      assert.equal(misTypedMessageField(message(block)), undefined);
    });

  it('gives chat no null signature: an unsigned thinking block goes out without one', () => {
    const choice = choiceFrom(message({ type: 'thinking', thinking: 'hm', signature: null }) as unknown as Anthropic.Message, true);
    assert.deepEqual(JSON.parse(JSON.stringify(choice.thinkingBlocks)), [{ type: 'thinking', thinking: 'hm' }]);
  });
});
