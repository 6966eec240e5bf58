import type { ResponseInputItem, ResponseOutputItem } from 'openai/resources/responses/responses';

/** An output item as Codex (0.171) sends it back: no id or status, a reasoning item's `content` null. */
export function asCodexSendsIt(item: ResponseOutputItem): ResponseInputItem {
  switch (item.type) {
    case 'reasoning':
      return { type: 'reasoning', summary: item.summary, content: null, encrypted_content: item.encrypted_content ?? null } as never;
    case 'custom_tool_call':
      return { type: 'custom_tool_call', call_id: item.call_id, name: item.name, input: item.input };
    case 'tool_search_call':
      return { type: 'tool_search_call', call_id: item.call_id, execution: item.execution, arguments: item.arguments };
  }
  throw new Error(`unexpected ${item.type}`);
}
