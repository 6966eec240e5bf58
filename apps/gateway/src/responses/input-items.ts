import type { ResponseInputItem, ResponseItem } from 'openai/resources/responses/responses';
import { inputItemId, responseIdOfItem } from './ids';
import { itemType, type ResponsesRequest } from './request';
import type { StoredResponse } from './store';

/** Id prefixes of the input item types the codec takes (request.ts), as OpenAI names such items. */
const ID_PREFIX: Record<string, string> = {
  message: 'msg',
  function_call: 'fc',
  function_call_output: 'fco',
  custom_tool_call: 'ctc',
  custom_tool_call_output: 'ctco',
  tool_search_call: 'tsc',
  tool_search_output: 'tso',
  reasoning: 'rs',
};

type InputItem = Exclude<ResponseInputItem, ResponseInputItem.ItemReference> & { id?: string | null; type?: string };

/**
 * The items a response was generated from, as GET /v1/responses/{id}/input_items lists them
 * ("items used to generate this response"): the context of the response it continues (its
 * items, then its output), then this request's `input` as item objects, each with an id.
 * `input` must have its `item_reference`s resolved (they are listed as the items they name).
 * An item keeps a client's id; one the gateway gave (which names the response holding the item,
 * ids.ts) is given anew, naming this response: its record holds the item, so a reference to any id
 * the list shows resolves for as long as the list does, after the earlier response is deleted or
 * expired too.
 */
export function contextItems(responseId: string, input: ResponsesRequest['input'], previous?: StoredResponse): ResponseItem[] {
  const carried = previous ? [...(previous.items ?? []), ...(previous.response.output as ResponseItem[])] : [];
  const own = (typeof input === 'string' ? [{ role: 'user', content: input }] : (input ?? [])) as InputItem[];
  const listed = [...carried, ...own.map((item) => (itemType(item) === 'message' ? messageItem(item as MessageInput) : item))];
  const taken = new Set<string>();
  return (listed as Listed[]).map((item, i) => {
    // Ids are the list's cursors (`after`): a repeated one would send a client paging in circles.
    const id = item.id && !responseIdOfItem(item.id) && !taken.has(item.id) ? item.id : inputItemId(responseId, ID_PREFIX[item.type], i);
    taken.add(id);
    return { ...item, id } as ResponseItem;
  });
}

type Listed = { id?: string | null; type: string };
type MessageInput = { role: string; content: string | object[]; status?: string };

/** A message as the API lists it: typed, with a status, string content as one text part. */
function messageItem(item: MessageInput): ResponseItem {
  const text = item.role === 'assistant' ? { type: 'output_text', annotations: [] } : { type: 'input_text' };
  const content = typeof item.content === 'string' ? [{ ...text, text: item.content }] : item.content;
  return { ...item, type: 'message', status: item.status ?? 'completed', content } as ResponseItem;
}
