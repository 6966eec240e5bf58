import type { ResponseInputItem } from 'openai/resources/responses/responses';
import { notFound } from './errors';
import { responseIdOfItem } from './ids';
import { itemType, type ResponsesRequest } from './request';
import type { StoredResponse } from './store';

/**
 * `item_reference` items replaced by the stored items they name: a response's output items, or the
 * input items it lists (input-items.ts) under an id the gateway gave. Other ids name no stored
 * response: the gateway keeps no index of items. Each response is loaded and indexed once: a stored
 * response may hold tens of thousands of items (a previous_response_id chain), and a request as many
 * references, so a search of its items per reference held the event loop for seconds.
 */
export async function resolveReferences(
  input: ResponsesRequest['input'],
  load: (responseId: string) => Promise<StoredResponse | undefined>,
): Promise<ResponsesRequest['input']> {
  if (!Array.isArray(input) || !input.some(isReference)) return input;
  const indexed = new Map<string, Map<string, object> | undefined>();
  const resolved: ResponseInputItem[] = [];
  for (const [i, item] of input.entries()) {
    if (!isReference(item)) {
      resolved.push(item);
      continue;
    }
    const responseId = responseIdOfItem(item.id);
    if (responseId && !indexed.has(responseId)) indexed.set(responseId, itemsById(await load(responseId)));
    const found = responseId ? indexed.get(responseId)?.get(item.id) : undefined;
    if (!found) throw notFound(`Item with id '${item.id}' not found.`, `input[${i}].id`);
    resolved.push(found as ResponseInputItem);
  }
  return resolved;
}

/** A stored response's items by id, its output first: the first item of an id is the one named. */
function itemsById(stored: StoredResponse | undefined): Map<string, object> | undefined {
  if (!stored) return undefined;
  const byId = new Map<string, object>();
  for (const list of [stored.response.output, stored.items ?? []] as { id?: string | null }[][])
    for (const item of list) if (typeof item.id === 'string' && !byId.has(item.id)) byId.set(item.id, item);
  return byId;
}

function isReference(item: ResponseInputItem): item is ResponseInputItem.ItemReference & { id: string } {
  return itemType(item) === 'item_reference';
}
