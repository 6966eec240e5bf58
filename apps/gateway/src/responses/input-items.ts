import type { ResponseInputItem, ResponseItem } from 'openai/resources/responses/responses';
import { inputItemId, responseIdOfItem } from './ids';
import { itemType, type ResponsesRequest } from './request';

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

/** A request's `input` as item objects (a string is one user message), with the ids the client gave: what its record keeps. */
export function inputItems(input: ResponsesRequest['input']): ResponseItem[] {
  const own = (typeof input === 'string' ? [{ role: 'user', content: input }] : (input ?? [])) as InputItem[];
  return own.map((item) => (itemType(item) === 'message' ? messageItem(item as MessageInput) : item)) as ResponseItem[];
}

/**
 * The items a response was generated from, as GET /v1/responses/{id}/input_items lists them
 * ("items used to generate this response"): `items` are the context of the response it continues
 * (its items, then its output), then this request's `input` as item objects (inputItems), each
 * given an id here. `input` must have had its `item_reference`s resolved (they are listed as the
 * items they name). An item keeps a client's id; one the gateway gave (which names the response
 * holding the item, ids.ts) is given anew, naming this response: a reference to any id the list
 * shows loads this response's chain, which holds the item.
 */
export function listedItems(responseId: string, items: ResponseItem[]): ResponseItem[] {
  const taken = new Set<string>();
  return (items as Listed[]).map((item, i) => {
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
